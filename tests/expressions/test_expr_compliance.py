"""The official JMESPath compliance suite: compiled evaluator == jmespath == expected, per case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jmespath import exceptions as jexc

from expr_support import compiled_outcome, reference_outcome, same, same_outcome

_HERE = Path(__file__).resolve().parent
_COPY = _HERE / "compliance"
# CI keeps shared/ beside the clone: <root>/../shared/jmespath-compliance
_SHARED = _HERE.parents[2] / "shared" / "jmespath-compliance"
_SUITE = _COPY if any(_COPY.glob("*.json")) else _SHARED

# What each compliance error kind means in jmespath's exception classes.
_ERROR_KINDS = {
    "syntax": ("syntax", (jexc.ParseError, jexc.EmptyExpressionError)),
    "invalid-type": ("error", (jexc.JMESPathTypeError,)),
    "invalid-arity": ("error", (jexc.ArityError,)),
    "unknown-function": ("error", (jexc.UnknownFunctionError,)),
    "invalid-value": ("error", (ValueError,)),
}


def _cases():
    for path in sorted(_SUITE.glob("*.json")):
        for g, group in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            for c, case in enumerate(group["cases"]):
                yield pytest.param(group["given"], case, id=f"{path.stem}-{g}-{c}:{case['expression'][:40]}")


CASES = list(_cases())


@pytest.mark.skipif(not CASES, reason=f"no JMESPath compliance files in {_COPY} or {_SHARED}")
@pytest.mark.filterwarnings("ignore:deprecated string literal syntax:PendingDeprecationWarning")
@pytest.mark.parametrize(("given", "case"), CASES)
def test_compliance_case(given, case):
    ours = compiled_outcome(case["expression"], given)
    theirs = reference_outcome(case["expression"], given)
    assert same_outcome(ours, theirs), f"compiled {ours!r} != jmespath {theirs!r}"
    if "result" in case:
        assert ours[0] == "ok" and same(ours[1], case["result"]), ours
    elif "error" in case:
        stage, classes = _ERROR_KINDS[case["error"]]
        assert ours[0] == stage and issubclass(ours[1], classes), ours


def test_suite_is_complete():
    assert len(CASES) == 908


@pytest.mark.skipif(not _SHARED.is_dir(), reason=f"shared suite not found at {_SHARED}")
def test_copy_matches_shared_suite():
    shared = {p.name: p.read_bytes() for p in _SHARED.glob("*.json")}
    copied = {p.name: p.read_bytes() for p in _COPY.glob("*.json")}
    assert copied == shared
