"""Run a mapping's example cases (``tests:``): payload in, exact expected outcome.

Events are compared whole (envelope and context); rejections by the keys the case gives (code,
field, rule, event, and ``message`` as a substring), so cases stay readable; filters by reason.
Values compare as JSON: numbers by value (``3`` equals ``3.0``), booleans never equal numbers.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..mapping.loader import parse_utc_timestamp
from ..mapping.model import MappingTest
from ..outcomes import RecordResult
from .mapper import Mapper

__all__ = ["CaseResult", "run_case", "run_cases", "actual_of", "same_json"]

# A fixed clock for cases that do not set `now`, so the future-skew guard gives the same answer
# on every machine and every day: far enough ahead that example payloads are never "future".
DEFAULT_CASE_NOW = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass
class CaseResult:
    """The outcome of one example case."""

    name: str
    passed: bool
    diff: str = ""
    actual: dict[str, Any] = field(default_factory=dict)
    location: str = ""


def actual_of(result: RecordResult) -> dict[str, Any]:
    """The comparable form of a record's result (what a case's ``expect`` describes)."""
    return {
        "events": [e.to_dict() for e in result.events],
        "rejections": [r.to_dict() for r in result.rejections],
        "filtered": [f.reason for f in result.filtered],
        "bespoke": [{k: v for k, v in b.to_dict().items() if k != "rule"} for b in result.bespoke],
    }


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (``3`` equals ``3.0``), but ``true`` is not ``1`` (Python's == says it is)."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _rejection_matches(expected: dict, actual: dict) -> bool:
    for key, want in expected.items():
        got = actual.get(key)
        if key == "message":
            if not isinstance(got, str) or str(want) not in got:
                return False
        elif not same_json(got, want):
            return False
    return True


def _compare(expect: dict[str, Any], actual: dict[str, Any]) -> bool:
    if not same_json(actual["events"], expect.get("events", [])):
        return False
    if actual["filtered"] != expect.get("filtered", []):
        return False
    if not same_json(actual["bespoke"], [{k: v for k, v in b.items() if k != "rule"} for b in expect.get("bespoke", [])]):
        return False
    want = expect.get("rejections", [])
    got = actual["rejections"]
    if len(want) != len(got):
        return False
    return all(_rejection_matches(w, g) for w, g in zip(want, got, strict=True))


def _by_value(value: Any) -> Any:
    """Integral floats as ints, so equal numbers render alike and the diff shows only real differences."""
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _by_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_value(v) for v in value]
    return value


def _render(data: dict[str, Any]) -> list[str]:
    return json.dumps(_by_value(data), indent=2, sort_keys=True, ensure_ascii=False, default=str).splitlines()


def run_case(mapper: Mapper, case: MappingTest) -> CaseResult:
    """Map the case's payload and compare with its ``expect``; the diff is unified, expected first."""
    now = parse_utc_timestamp(case.now) if case.now else DEFAULT_CASE_NOW
    result = mapper.map_record(case.payload, source=f"test:{case.name}", now=now or DEFAULT_CASE_NOW)
    actual = actual_of(result)
    if _compare(case.expect, actual):
        return CaseResult(case.name, True, actual=actual, location=str(case.loc))
    shown_actual = dict(actual)
    # Show rejections trimmed to the keys the case asked about, so the diff points at what differs.
    want_rej = case.expect.get("rejections", [])
    if want_rej and len(want_rej) == len(actual["rejections"]):
        shown_actual["rejections"] = [{k: g.get(k) for k in w} for w, g in zip(want_rej, actual["rejections"], strict=True)]
    expected = {k: case.expect.get(k, []) for k in ("events", "rejections", "filtered", "bespoke")}
    diff = "\n".join(difflib.unified_diff(_render(expected), _render(shown_actual), "expected", "actual", lineterm=""))
    return CaseResult(case.name, False, diff, actual, str(case.loc))


def run_cases(mapper: Mapper) -> list[CaseResult]:
    """Run every example case of the mapper's mapping, in file order."""
    return [run_case(mapper, case) for case in mapper.mapping.tests]
