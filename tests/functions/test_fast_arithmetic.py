"""The fast paths of add, subtract and minor_to_major give exactly what their Decimal definitions give.

``add``/``subtract`` work on ints and on floats of at most 4 decimals as exact integers of
1/10000, and ``minor_to_major`` on ints by one correctly rounded division; anything else takes
the Decimal definition. Equal means the same type and the same value (``-0.0`` is not ``0``),
or the same error.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ebi_mapper.default_plugins import functions as fns
from ebi_mapper.expressions.value_errors import FunctionValueError

ADD = next(d for d in fns.BUILTIN_FUNCTIONS if d.name == "add").fn
SUBTRACT = next(d for d in fns.BUILTIN_FUNCTIONS if d.name == "subtract").fn


def _outcome(fn, *args):
    try:
        value = fn(*args)
    except FunctionValueError as exc:
        return ("error", str(exc))
    return ("ok", type(value).__name__, repr(value))


money = (
    st.decimals(places=4, min_value=-(10**11), max_value=10**11, allow_nan=False, allow_infinity=False).map(float)
    | st.decimals(places=2, min_value=-(10**6), max_value=10**6, allow_nan=False, allow_infinity=False).map(float)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 2.675, 99999999999.9999, 1e11, -1e11, 1e-5, 2**53, 2**53 + 1, None, "1.5", True])
)


@pytest.mark.parametrize("fn", [ADD, SUBTRACT], ids=["add", "subtract"])
@settings(max_examples=1500, deadline=None)
@given(a=money, b=money)
@example(a=0.3, b=0.1).via("float error a naive a - b would show")
@example(a=99999999999.9999, b=-99999999999.9999).via("the largest fast operands")
@example(a=-0.0, b=0.0).via("signed zero")
def test_add_and_subtract_fast_paths_equal_decimal_arithmetic(fn, a, b):
    assert _outcome(fn, a, b) == _outcome(fn.exact, a, b)


@settings(max_examples=1500, deadline=None)
@given(
    x=st.integers(min_value=-(2**54), max_value=2**54) | st.sampled_from([0, 1, -1, 2**53, -(2**53), 2**53 + 1, 10**15, 48748]) | st.floats() | st.none(),
    exponent=st.integers(min_value=-2, max_value=17) | st.sampled_from([2.0, 2.5, True, None]),
)
def test_minor_to_major_fast_path_equals_decimal_arithmetic(x, exponent):
    assert _outcome(fns.fn_minor_to_major, x, exponent) == _outcome(fns.minor_to_major_exact, x, exponent)


def test_the_fast_paths_are_taken():
    """Without them the bench's money fields pay for a Decimal context per call."""
    assert ADD is not ADD.exact and SUBTRACT.exact is not None
    assert fns.fn_minor_to_major(48748, 2) == 487.48 and type(fns.fn_minor_to_major(1200, 2)) is int
    assert SUBTRACT(0.3, 0.1) == 0.2 and SUBTRACT(10, 2.5) == 7.5


def _minor_definition(x, exponent):
    """minor_to_major by its definition: a whole number of minor units, divided by 10**exponent."""
    from decimal import Decimal

    number = Decimal(str(x)) if not isinstance(x, str) else Decimal(x)
    if number != number.to_integral_value():
        return ("fraction",)
    value = number.scaleb(-exponent)
    return ("ok", int(value) if value == value.to_integral_value() else float(value))


@settings(max_examples=800, deadline=None)
@given(
    x=st.integers(min_value=-(2**60), max_value=2**60)
    | st.decimals(places=2, min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False).map(str)
    | st.decimals(places=3, min_value=-(10**6), max_value=10**6, allow_nan=False, allow_infinity=False).map(float)
    | st.sampled_from(["10.50", "10.00", "1050", 1050.0, 0.5, "-0.01", "7"]),
    exponent=st.integers(min_value=0, max_value=15),
)
@example(x="10.50", exponent=2).via("issue #11: '10.50' cents became 0.105")
def test_minor_to_major_takes_whole_minor_units_only(x, exponent):
    """Both paths equal the Decimal definition; a fractional minor amount is an error naming it."""
    want = _minor_definition(x, exponent)
    for fn in (fns.fn_minor_to_major, fns.minor_to_major_exact):
        got = _outcome(fn, x, exponent)
        if want[0] == "fraction":
            assert got[0] == "error" and "fraction of a minor unit" in got[1], got
        else:
            assert got[0] == "ok" and got[2] == repr(want[1]), (got, want)
