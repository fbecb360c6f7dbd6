"""Issue 15 functions: lazy if/coalesce, odds, allocate, to_flag, and messages that speak JSON.

Each is run through both evaluators (jmespath itself with the extras, and the compiled one) and
property-tested against a Fraction/Decimal definition written here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.default_plugins.functions import BUILTIN_FUNCTIONS
from ebi_mapper.default_plugins.odds import COMMON_FRACTIONS, MAX_DENOMINATOR
from ebi_mapper.engine.coerce import parse_bool
from ebi_mapper.expressions import FunctionValueError, compile_expression, error_message, reference_search

BOOM = "divide(`1`, `0`)"  # raises whenever it is evaluated


FUNCTIONS = {d.name: d for d in BUILTIN_FUNCTIONS}  # none of these needs binding to a mapping


def search(expression, data=None):
    """jmespath itself, with the extras (the reference)."""
    return reference_search(expression, {} if data is None else data, FUNCTIONS)


def compiled_search(expression, data=None):
    return compile_expression(expression, FUNCTIONS)({} if data is None else data)


def both(expression, data=None):
    """The value from both evaluators, asserted equal (type-sensitive)."""
    ours, theirs = compiled_search(expression, data), search(expression, data)
    assert ours == theirs and type(ours) is type(theirs)
    return ours


def both_raise(expression, data=None):
    with pytest.raises(FunctionValueError) as a:
        search(expression, data)
    with pytest.raises(FunctionValueError) as b:
        compiled_search(expression, data)
    assert str(a.value) == str(b.value)
    return str(a.value)


# --- if and coalesce are lazy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, data, expected",
    [
        (f"if(a, b, {BOOM})", {"a": True, "b": 2}, 2),
        (f"if(a, {BOOM}, 'else')", {"a": 0 == 1}, "else"),
        ("if(a, 'yes', 'no')", {"a": 0}, "yes"),  # JMESPath truthiness: 0 is true
        ("if(a, 'yes', 'no')", {"a": ""}, "no"),
        ("if(a, 'yes', 'no')", {}, "no"),  # a null condition is false: the documented exception
        (f"coalesce(a, {BOOM})", {"a": 0}, 0),
        (f"coalesce(a, b, {BOOM})", {"b": ""}, ""),
        ("coalesce(a, b)", {}, None),
        # the case: the American price is missing, the decimal one present
        ("coalesce(p.dec, odds_decimal(p.frac), odds_decimal(p.us))", {"p": {"dec": 2.5, "us": None}}, 2.5),
        ("items[*].if(ok, v, `0`)", {"items": [{"ok": True, "v": 3}, {"v": 4}]}, [3, 0]),
    ],
)
def test_only_the_chosen_argument_is_evaluated(expression, data, expected):
    assert both(expression, data) == expected


def test_the_chosen_argument_still_raises(search, compiled_search):
    assert both_raise(f"if(`true`, {BOOM}, `1`)") == "divide(): division by zero (1 / 0)"
    both_raise(f"coalesce(`null`, {BOOM})")


def test_if_has_exactly_three_arguments(search, compiled_search):
    from jmespath.exceptions import ArityError

    for run in (search, compiled_search):
        with pytest.raises(ArityError):
            run("if(`true`, `1`)")


@settings(max_examples=150, deadline=None)
@given(cond=st.sampled_from(["a", "b", "c", "`0`", "''", "`[]`", "`{}`", "`false`", "`null`", "'x'"]),
       data=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.text(max_size=1)), max_size=3))
def test_if_follows_jmespath_truthiness_on_both_evaluators(cond, data):
    # `cond && 'T' || 'F'` would be wrong for a falsy 'T'; `if` equals the && / || chain for a truthy one.
    assert both(f"if({cond}, 'T', 'F')", data) == search(f"({cond}) && 'T' || 'F'", data)


# --- odds -------------------------------------------------------------------------------------


def _american_to_decimal(us: Fraction) -> Fraction:
    return 1 + us / 100 if us >= 100 else 1 + 100 / -us


def _json(value: Fraction):
    return int(value) if value.denominator == 1 else float(value)


@settings(max_examples=200, deadline=None)
@given(num=st.integers(0, 10**6), den=st.integers(1, 10**6))
def test_odds_decimal_of_a_fraction_is_one_plus_it(num, den):
    got = both("odds_decimal(x)", {"x": f"{num}/{den}"})
    assert got == _json(1 + Fraction(num, den))


@settings(max_examples=200, deadline=None)
@given(us=st.one_of(st.integers(100, 10**6), st.integers(-(10**6), -100)), form=st.sampled_from(["int", "text", "signed"]))
def test_odds_decimal_of_an_american_price(us, form):
    x = us if form == "int" else (f"{us:+d}" if form == "signed" else str(us))
    assert both("odds_decimal(x)", {"x": x}) == _json(_american_to_decimal(Fraction(us)))


@pytest.mark.parametrize("x, expected", [("5/2", 3.5), ("evens", 2), ("EVS", 2), ("+150", 2.5), ("-200", 1.5), (150, 2.5), ("100/30", 4.333333333333333)])
def test_odds_decimal_examples(x, expected):
    assert both("odds_decimal(x)", {"x": x}) == expected


@pytest.mark.parametrize(
    "x, message",
    [
        ("5/0", "odds_decimal(): '5/0' has a zero denominator"),
        (50, "odds_decimal(): 50 is not American odds (at least +100 or at most -100)"),
        ("2.50", "odds_decimal(): '2.50' is not American odds (at least +100 or at most -100)"),
        ("five to two", "odds_decimal(): 'five to two' is neither fractional odds ('5/2', 'evens') nor American odds ('+150', '-200')"),
        ("1.2.3", "odds_decimal(): '1.2.3' is not a number"),
    ],
)
def test_odds_decimal_refuses_what_is_no_price(x, message):
    assert both_raise("odds_decimal(x)", {"x": x}) == message


prices = st.decimals(min_value=Decimal("1.01"), max_value=Decimal(1000), places=2, allow_nan=False)
any_prices = st.fractions(min_value=Fraction(101, 100), max_value=1000, max_denominator=10**6)


@settings(max_examples=200, deadline=None)
@given(price=st.one_of(prices, any_prices.map(lambda f: Decimal(f.numerator) / Decimal(f.denominator))))
def test_odds_american_against_the_fraction_definition(price):
    d = Fraction(price)
    expected = (d - 1) * 100 if d >= 2 else -100 / (d - 1)
    assert both("odds_american(x)", {"x": str(price)}) == _json(expected)


@settings(max_examples=300, deadline=None)
@given(price=prices)
def test_odds_fraction_of_a_two_place_price_reads_back_as_that_price(price):
    text = both("odds_fraction(x)", {"x": str(price)})
    fraction = Fraction(text)
    assert fraction.denominator <= MAX_DENOMINATOR
    back = Decimal(fraction.numerator) / Decimal(fraction.denominator) + 1
    assert back.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == price


@settings(max_examples=300, deadline=None)
@given(price=any_prices)
def test_odds_fraction_is_the_table_or_the_closest_small_fraction(price):
    text = search("odds_fraction(x)", {"x": float(price)})
    exact = Fraction(Decimal(repr(float(price))))
    table = {Fraction((Decimal(f.numerator) / Decimal(f.denominator) + 1).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)): f for f in COMMON_FRACTIONS}
    expected = table.get(exact) if (exact * 100).denominator == 1 else None
    expected = expected or (exact - 1).limit_denominator(MAX_DENOMINATOR)
    assert Fraction(text) == expected


@pytest.mark.parametrize("price, text", [(1.91, "10/11"), (1.67, "2/3"), (2.0, "1/1"), (3.5, "5/2"), (1.13, "1/8"), (1.9, "9/10"), (1.333, "1/3")])
def test_odds_fraction_examples(price, text):
    assert both("odds_fraction(x)", {"x": price}) == text


def test_common_fractions_have_one_price_each():
    quoted = [(Decimal(f.numerator) / Decimal(f.denominator) + 1).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for f in COMMON_FRACTIONS]
    assert len(set(quoted)) == len(quoted)


def test_a_price_beyond_any_odds_is_refused_before_big_integer_work():
    assert both_raise("odds_american(x)", {"x": "1e999999"}) == "odds_american(): '1e999999' is out of range for odds"


@pytest.mark.parametrize("fn", ["odds_american", "odds_fraction"])
@pytest.mark.parametrize("x", [1, "0.5", "1.00"])
def test_a_decimal_price_must_be_above_one(fn, x):
    assert "is not a decimal price (it must be above 1)" in both_raise(f"{fn}(x)", {"x": x})


@pytest.mark.parametrize("fn", ["odds_decimal", "odds_american", "odds_fraction", "to_flag"])
def test_null_in_null_out(fn):
    assert both(f"{fn}(missing)") is None


# --- allocate ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(units=st.integers(-(10**12), 10**12), n=st.integers(1, 12), places=st.integers(0, 4))
def test_allocate_parts_sum_exactly_and_differ_by_at_most_one_unit(units, n, places):
    amount = Decimal(units).scaleb(-places)
    parts = [both(f"allocate(a, `{n}`, `{i}`, `{places}`)", {"a": str(amount)}) for i in range(n)]
    exact = [Decimal(repr(p)) if type(p) is float else Decimal(p) for p in parts]
    assert sum(exact) == amount
    unit = Decimal(1).scaleb(-places)
    assert max(exact) - min(exact) <= unit
    # largest remainder with equal remainders: the extra units go to the first parts
    assert exact == sorted(exact, reverse=units >= 0)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("allocate(`70`, `3`, `0`)", 23.34),
        ("allocate(`70`, `3`, `1`)", 23.33),
        ("allocate(`70`, `3`, `2`)", 23.33),
        ("allocate('10.00', `4`, `3`)", 2.5),
        ("allocate(`1000`, `3`, `0`, `0`)", 334),
        ("allocate(`-0.05`, `2`, `0`)", -0.03),
        ("allocate(missing, `3`, `0`)", None),
    ],
)
def test_allocate_examples(expression, expected):
    assert both(expression) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("allocate(`70.001`, `3`, `0`)", "allocate(): 70.001 has more than 2 decimals"),
        ("allocate(`70`, `0`, `0`)", "allocate(): n must be a whole number from 1, not 0"),
        ("allocate(`70`, `3`, `3`)", "allocate(): index 3 is not below n (3)"),
        ("allocate(`70`, `3`, `-1`)", "allocate(): index must be a whole number from 0, not -1"),
        ("allocate(missing, `3`, `1.5`)", "allocate(): index must be a whole number from 0, not 1.5"),
        ("allocate('x', `3`, `0`)", "allocate(): 'x' is not a number"),
    ],
)
def test_allocate_refuses_what_cannot_be_split(expression, message):
    assert both_raise(expression) == message


# --- to_flag ----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(x=st.one_of(st.booleans(), st.sampled_from([0, 1, 0.0, 1.0, "yes", "No", " y ", "TRUE", "0", "1", "false", "n"])))
def test_to_flag_is_parse_bool_as_one_or_zero(x):
    assert both("to_flag(x)", {"x": x}) == (1 if parse_bool(x) else 0)


def test_to_flag_refuses_other_values(search, compiled_search):
    message = both_raise("to_flag(x)", {"x": "maybe"})
    assert message == "to_flag(): 'maybe' is not a yes/no value (true/false, yes/no, y/n, 1/0)"


# --- messages speak JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, data, shown",
    [
        ("abs(a)", {}, "invalid type for value null: expected number, received null"),
        ("abs(a)", {"a": True}, "invalid type for value true: expected number, received boolean"),
        ("lower(a)", {"a": 1}, "invalid type for value 1: expected string or null, received number"),
        ("to_flag(a)", {"a": [1]}, "invalid type for value an array of 1 items"),
    ],
)
def test_type_errors_are_told_in_json_terms(compiled_search, expression, data, shown):
    with pytest.raises(Exception) as caught:
        compiled_search(expression, data)
    message = error_message(caught.value)
    assert shown in message
    assert "None" not in message and "True" not in message and "['" not in message
