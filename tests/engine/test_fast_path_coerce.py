"""The shortcuts the fast path takes in coercion and formatting change no value.

Each shortcut is compared with the definition it stands in for, over generated values:
``coerce_money``'s fast paths with :func:`money_exact` (Decimal arithmetic), the inline tests
the code generator emits with the coercer they skip, and the isoformat-based time writers with
the %-format strings that define Optimove's two forms.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.catalog.model import Param
from ebi_mapper.engine.coerce import CoercionError, make_coercer, money_exact
from ebi_mapper.engine.fast.each import CONTEXT_FROM_ENVELOPE
from ebi_mapper.engine.fast.parts import inline_coercion, string_bound
from ebi_mapper.engine.timestamps import _CONTEXT, _ENVELOPE, context_from_envelope, format_context, format_envelope

MONEY = Param("ootb_deposit_amount", "number", "enrichment", monetary=True)


def _same(a, b) -> bool:
    """Equal values of the same type (and, for floats, the same text: -0.0 is not 0.0)."""
    return type(a) is type(b) and (repr(a) == repr(b) if isinstance(a, float) else a == b)


def _outcome(fn, value):
    try:
        return ("ok", fn(value))
    except CoercionError as exc:
        return ("error", str(exc))


money_floats = st.floats(allow_nan=True, allow_infinity=True) | st.decimals(places=4, min_value=-(10**12), max_value=10**12).map(float) | st.sampled_from([0.1 + 0.2, -0.0, 1e15, 1e16, 123456789012.3456, 99999999999.99995, 0.00005, 2.675])
money_text = (
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str)
    | st.from_regex(r"[+-]?[0-9]{1,13}\.[0-9]{1,6}", fullmatch=True)
    | st.sampled_from(["25.50", "-0.0", "+1.5", "007.5", " 1.5", "1.5 ", "12345678901.2345", "123456789012.3456", "1.", ".5", "1e3"])
)


@settings(max_examples=500, deadline=None)
@given(value=money_floats | money_text | st.integers(min_value=-(2**65), max_value=2**65))
def test_money_fast_paths_equal_decimal_arithmetic(value):
    fast, exact = _outcome(make_coercer(MONEY), value), _outcome(money_exact, value)
    assert fast[0] == exact[0]
    assert _same(fast[1], exact[1]) if fast[0] == "ok" else fast == exact


PARAMS = [
    Param("s", "string", "enrichment", max_length=255),
    Param("s8", "string", "enrichment", max_length=8),
    Param("sn", "string_or_number", "enrichment"),
    Param("n", "number", "enrichment"),
    MONEY,
    Param("i", "integer", "enrichment"),
    Param("b", "boolean", "enrichment"),
    Param("yn", "yes_no", "enrichment"),
    Param("t", "timestamp", "enrichment"),
    Param("a", "string", "enrichment", allowed=("Started", "Completed")),
]
any_value = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=300)
    | st.sampled_from(["x" * 255, "x" * 256, "12", 0.5, -0.0, 2.675, 1e300])
    | st.lists(st.integers(), max_size=2)
)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: f"{p.type}{'-money' if p.monetary else ''}{'-allowed' if p.allowed else ''}-{p.key}")
@settings(max_examples=300, deadline=None)
@given(value=any_value)
def test_inline_coercion_tests_only_pass_values_the_coercer_keeps(param, value):
    test = inline_coercion(param, "v")
    if test is None:
        return
    if eval(test, {}, {"v": value}):  # the generated code's test, evaluated as the generator writes it
        assert _same(make_coercer(param)(value), value)


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.key)
@settings(max_examples=200, deadline=None)
@given(value=any_value)
def test_string_bound_holds_for_every_coerced_value(param, value):
    try:
        coerced = make_coercer(param)(value)
    except CoercionError:
        return
    if isinstance(coerced, str):
        assert len(coerced) <= string_bound(param)


aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))]))


@settings(max_examples=500, deadline=None)
@given(dt=aware)
def test_time_writers_equal_their_format_strings(dt):
    try:
        utc = dt.astimezone(UTC)
    except OverflowError:
        return
    fields = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)
    assert format_envelope(dt) == _ENVELOPE % fields
    assert format_context(dt) == _CONTEXT % fields
    # The generated code formats the envelope time once and derives the context form from it.
    assert context_from_envelope(format_envelope(dt)) == format_context(dt)
    assert eval(CONTEXT_FROM_ENVELOPE % "e", {}, {"e": format_envelope(dt)}) == format_context(dt)  # the inline spelling


def test_money_inline_test_needs_its_magnitude_bound():
    """Beyond 1e15 a float's repr may take an exponent, where money_exact goes the slow way."""
    test = inline_coercion(MONEY, "v")
    assert not eval(test, {}, {"v": 1e16}) and not eval(test, {}, {"v": math.inf}) and not eval(test, {}, {"v": math.nan})
    assert eval(test, {}, {"v": 25.5}) and not eval(test, {}, {"v": 10.123456})


@settings(max_examples=300, deadline=None)
@given(value=st.integers(min_value=-10, max_value=5 * 10**15) | st.sampled_from([0, 4_102_444_799, 4_102_444_800, 4_102_444_799_999, 4_102_444_800_000]))
def test_epoch_int_fast_path_equals_the_general_reading(value):
    from ebi_mapper.engine.timestamps import _epoch_number, _from_epoch, make_timestamp_parser

    assert _outcome(make_timestamp_parser(), value) == _outcome(lambda v: _from_epoch(_epoch_number(v), v), value)


def test_yes_no_shortcut_matches_the_coercer():
    """The generator writes True -> 'Yes' and False -> 'No' inline for yes_no params."""
    coerce = make_coercer(Param("ootb_allow_email", "yes_no", "channel"))
    assert coerce(True) == "Yes" and coerce(False) == "No"
