"""Ordering comparisons (<, <=, >, >=) follow the JMESPath spec on both evaluators.

The spec: ordering is defined for numbers only (jmespath-python also orders two strings); any other
pair, a string against a number included, gives null. The jmespath package raises ``TypeError`` for
``"42" > `0```, which aborted a whole ``map`` run (issue #11 item 1): the reference evaluator and the
compiled one must both give null instead, for every pair of JSON values.
"""

from __future__ import annotations

import json
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expr_support import compiled_outcome, reference_outcome, same

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False),
    st.text(max_size=3),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from("xy"), st.integers(0, 2), max_size=1),
)


def _number(value) -> bool:
    return type(value) in (int, float)


def expected(op: str, left, right):
    """The spec's answer (with jmespath-python's string ordering kept)."""
    if (_number(left) and _number(right)) or (type(left) is str and type(right) is str):
        return OPS[op](left, right)
    return None


def _literal(value) -> str:
    return "`" + json.dumps(value).replace("`", "\\`") + "`"


@settings(max_examples=300, deadline=None)
@given(op=st.sampled_from(sorted(OPS)), left=values, right=values, form=st.sampled_from(["paths", "left-literal", "right-literal", "literals"]))
def test_ordering_of_any_pair_is_the_spec_on_both_evaluators(op, left, right, form):
    lhs = _literal(left) if form in ("left-literal", "literals") else "a"
    rhs = _literal(right) if form in ("right-literal", "literals") else "b"
    source = f"{lhs} {op} {rhs}"
    data = {"a": left, "b": right}
    want = expected(op, left, right)
    for outcome in (compiled_outcome(source, data), reference_outcome(source, data)):
        assert outcome[0] == "ok" and same(outcome[1], want), (source, data, outcome)


@pytest.mark.parametrize("source", ["order.customer_id > `0`", "`0` < order.customer_id", "order.customer_id >= order.n"])
def test_string_against_number_is_null_not_an_error(source):
    data = {"order": {"customer_id": "42", "n": 1}}
    assert compiled_outcome(source, data) == ("ok", None)
    assert reference_outcome(source, data) == ("ok", None)
