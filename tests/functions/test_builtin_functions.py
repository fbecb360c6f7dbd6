"""Each built-in function, evaluated by jmespath itself: examples, nulls, unusable values, type errors."""

from __future__ import annotations

import pickle

import pytest
from jmespath import exceptions as jmes_errors

from ebi_mapper import expressions
from ebi_mapper.errors import EbiMapperError, UnknownNameError
from ebi_mapper.expressions import FunctionValueError
from ebi_mapper.expressions.value_errors import quote_value
from ebi_mapper.mapping.model import Mapping

BIG = 2**53 + 1

EXAMPLES = [
    # time
    ("to_utc('2026-03-29T02:30:00+01:00')", {}, "2026-03-29T01:30:00.000000Z"),
    ("to_utc(t)", {"t": "2026-03-29T02:30:00Z"}, "2026-03-29T02:30:00.000000Z"),
    ("to_utc(t)", {"t": 1700000000}, "2023-11-14T22:13:20.000000Z"),
    ("to_utc(t)", {"t": 1700000000123}, "2023-11-14T22:13:20.123000Z"),
    ("to_utc(t)", {"t": "1700000000123456"}, "2023-11-14T22:13:20.123456Z"),
    ("to_utc(t)", {"t": "2026-03-29 02:30:00.000000 UTC"}, "2026-03-29T02:30:00.000000Z"),
    ("to_utc('2026-07-15 10:00')", {}, "2026-07-15T10:00:00.000000Z"),
    ("to_utc('2026-07-15 10:00', 'Europe/Malta')", {}, "2026-07-15T08:00:00.000000Z"),
    ("to_utc('2026-10-25 02:30', 'Europe/Malta')", {}, "2026-10-25T00:30:00.000000Z"),
    ("to_utc('2026-07-15 10:00', tz)", {}, "2026-07-15T10:00:00.000000Z"),  # null zone: the default
    ("to_utc(t)", {}, None),
    ("from_epoch_seconds(`1700000000`)", {}, "2023-11-14T22:13:20.000000Z"),
    ("from_epoch_seconds('1700000000.5')", {}, "2023-11-14T22:13:20.500000Z"),
    ("from_epoch_seconds(n)", {}, None),
    ("from_epoch_millis(n)", {"n": None}, None),
    ("from_epoch_micros(n)", {}, None),
    ("from_epoch_millis(`1700000000123`)", {}, "2023-11-14T22:13:20.123000Z"),
    ("from_epoch_millis(`1700000000`)", {}, "1970-01-20T16:13:20.000000Z"),
    ("from_epoch_micros(`1700000000123456`)", {}, "2023-11-14T22:13:20.123456Z"),
    ("from_epoch_micros('1700000000123456')", {}, "2023-11-14T22:13:20.123456Z"),
    ("to_epoch_millis('2023-11-14T22:13:20.123Z')", {}, 1700000000123),
    ("to_epoch_millis(`1700000000`)", {}, 1700000000000),
    ("to_epoch_millis('2023-11-14 23:13:20.123456+01:00')", {}, 1700000000123),
    ("to_epoch_millis(t)", {}, None),
    ("parse_time('03/04/2026 10:00', '%d/%m/%Y %H:%M')", {}, "2026-04-03T10:00:00.000000Z"),
    ("parse_time('03/04/2026 10:00', '%d/%m/%Y %H:%M', 'Europe/Malta')", {}, "2026-04-03T08:00:00.000000Z"),
    ("parse_time('29/03/2026 02:30 +0200', '%d/%m/%Y %H:%M %z')", {}, "2026-03-29T00:30:00.000000Z"),
    ("parse_time('20260329', '%Y%m%d')", {}, "2026-03-29T00:00:00.000000Z"),
    ("parse_time(t, '%Y')", {}, None),
    # text
    ("lower('AbC É')", {}, "abc é"),
    ("upper('straße')", {}, "STRASSE"),
    ("trim('  a b \t\n')", {}, "a b"),
    ("lower(s)", {}, None),
    ("upper(s)", {"s": None}, None),
    ("trim(s)", {}, None),
    ("concat('a', 'b')", {}, "ab"),
    ("concat('only')", {}, "only"),
    ("concat('id-', n)", {"n": 42}, "id-42"),
    ("concat('x', `1.5`, `true`, `false`)", {}, "x1.5truefalse"),
    ("concat(first, ' ', last)", {"first": "Ada"}, "Ada "),
    ("concat(a, b)", {}, None),
    ("concat(n)", {"n": BIG}, "9007199254740993"),
    ("replace('a-b-c', '-', '_')", {}, "a_b_c"),
    ("replace('abc', '', 'x')", {}, "abc"),
    ("replace(s, 'a', 'b')", {}, None),
    ("split('a,b,,c', ',')", {}, ["a", "b", "", "c"]),
    ("split('abc', '')", {}, ["a", "b", "c"]),
    ("split(s, ',')", {}, None),
    # numbers
    ("round(`2.675`, `2`)", {}, 2.68),  # on the decimal as written, not the binary float
    ("round('12.345', `2`)", {}, 12.35),
    ("round(`-2.5`, `0`)", {}, -3),
    ("round(`1234.5`, `-2`)", {}, 1200),
    ("round(`12`, `2`)", {}, 12),
    ("round(n, `2`)", {}, None),
    ("round(`1e308`, `2`)", {}, 1e308),  # nothing to round: exact, however large
    ("round(`1e308`, `-2`)", {}, 1e308),
    ("round('0.125', `2`)", {}, 0.13),
    ("add(`0.1`, `0.2`)", {}, 0.3),
    ("add('10', `5`)", {}, 15),
    ("add(n, `1`)", {"n": BIG}, BIG + 1),
    ("add(n, `1`)", {}, None),
    ("subtract(`1`, n)", {}, None),
    ("multiply(n, n)", {}, None),
    ("divide(n, `0`)", {}, None),  # null in, null out: no numerator, nothing divided
    ("subtract(`10`, '2.5')", {}, 7.5),
    ("subtract(`0.3`, `0.1`)", {}, 0.2),
    ("multiply('1.1', `3`)", {}, 3.3),
    ("divide(`10`, `4`)", {}, 2.5),
    ("divide(`1`, `3`)", {}, 0.3333333333333333),
    ("divide(`0`, `5`)", {}, 0),
    ("minor_to_major(`1234`, `2`)", {}, 12.34),
    ("minor_to_major('1234', `2`)", {}, 12.34),
    ("minor_to_major(`1200`, `2`)", {}, 12),
    ("minor_to_major(`5`, `3`)", {}, 0.005),
    ("minor_to_major(`1234`, `0`)", {}, 1234),
    ("minor_to_major(`-1999`, `2`)", {}, -19.99),
    ("minor_to_major(x, `2`)", {}, None),
    # misc
    ("coalesce(a, b, 'z')", {}, "z"),
    ("coalesce(a, b)", {"b": 0}, 0),
    ("coalesce(a, b)", {"a": "", "b": "x"}, ""),  # an empty string is a value
    ("coalesce(a, b)", {"a": False, "b": True}, False),
    ("coalesce(a, `[1]`)", {}, [1]),
    ("coalesce(a)", {}, None),
    ("yes_no(`true`)", {}, "Yes"),
    ("yes_no(`false`)", {}, "No"),
    ("yes_no('YES')", {}, "Yes"),
    ("yes_no('n')", {}, "No"),
    ("yes_no(`1`)", {}, "Yes"),
    ("yes_no('0')", {}, "No"),
    ("yes_no(x)", {}, None),
]


@pytest.mark.parametrize(("expression", "data", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples(search, expression, data, expected):
    result = search(expression, data)
    assert result == expected
    assert type(result) is type(expected)


# Non-null values of the right JSON type that a function cannot use: each raises FunctionValueError
# naming the function and carrying the offending argument, never a silent null (issue 3: a null
# from a computed expression would drop the field from an event that is still sent).
# (expression, data, offending value)
UNUSABLE = [
    # time
    ("to_utc('last tuesday')", {}, "last tuesday"),
    ("to_utc('garbage')", {}, "garbage"),
    ("to_utc(t)", {"t": ""}, ""),
    ("to_utc('1969-12-31T23:59:59Z')", {}, "1969-12-31T23:59:59Z"),  # outside 1970-2100
    ("to_utc(`-5`)", {}, -5),
    ("to_utc('2026-07-15 10:00', 'Nowhere/Land')", {}, "Nowhere/Land"),
    ("to_utc(t, 'Nowhere/Land')", {}, "Nowhere/Land"),  # a bad zone is bad even beside a null time
    ("to_utc(t, '')", {"t": "2026-07-15 10:00"}, ""),
    ("from_epoch_seconds(`1700000000123`)", {}, 1700000000123),  # explicit unit: year 55,000
    ("from_epoch_seconds(`-1`)", {}, -1),
    ("from_epoch_seconds('soon')", {}, "soon"),
    ("from_epoch_millis('abc')", {}, "abc"),
    ("from_epoch_micros(`1e30`)", {}, 1e30),
    ("to_epoch_millis('nope')", {}, "nope"),
    ("to_epoch_millis('2100-01-01T00:00:00Z')", {}, "2100-01-01T00:00:00Z"),
    ("parse_time('x', '%Y')", {}, "x"),
    ("parse_time('2026-03-29', '%d/%m/%Y')", {}, "2026-03-29"),  # strict: no fallback to other forms
    ("parse_time('20260329', '%d%m%Y')", {}, "20260329"),  # and never to epoch seconds
    ("parse_time('03/04/2026', '%d/%m/%Y', 'Nowhere/Land')", {}, "Nowhere/Land"),
    ("parse_time(t, '%Y', 'Mars/Base')", {}, "Mars/Base"),
    # numbers
    ("round('x', `2`)", {}, "x"),
    ("round('abc', `2`)", {}, "abc"),
    ("round(`12.5`, `1.5`)", {}, 1.5),
    ("round(`12.5`, `16`)", {}, 16),
    ("round(n, `-16`)", {}, -16),  # a bad places is bad even beside a null number
    ("add('x', `1`)", {}, "x"),
    ("add(n, 'x')", {}, "x"),  # both arguments are checked
    ("subtract(`1`, '1,000')", {}, "1,000"),
    ("multiply('NaN', `2`)", {}, "NaN"),
    ("multiply(`1e300`, `1e300`)", {}, [1e300, 1e300]),  # beyond a double: no single culprit
    ("divide(`1`, `0`)", {}, 0),
    ("divide('1', '0.0')", {}, "0.0"),
    ("divide(`0`, `0`)", {}, 0),
    ("divide(`5`, 'five')", {}, "five"),
    ("minor_to_major('twenty', `2`)", {}, "twenty"),
    ("minor_to_major('12,34', `2`)", {}, "12,34"),
    ("minor_to_major(`1234`, `-1`)", {}, -1),
    ("minor_to_major(`1234`, `2.5`)", {}, 2.5),
    ("minor_to_major(`1234`, `16`)", {}, 16),
    ("minor_to_major('1e999999', `2`)", {}, "1e999999"),
    ("minor_to_major('10.50', `2`)", {}, "10.50"),  # a fraction of a cent is a producer error, not 0.105
    ("minor_to_major(`1234.5`, `2`)", {}, 1234.5),
    # misc
    ("yes_no('maybe')", {}, "maybe"),
    ("yes_no(`2`)", {}, 2),
    ("yes_no('')", {}, ""),
]


def _function_of(expression: str) -> str:
    return expression.split("(", 1)[0]


def _quoted(value) -> list[str]:
    """How the offending value must appear in the message."""
    return [quote_value(v) for v in value] if isinstance(value, list) else [quote_value(value)]


@pytest.mark.parametrize(("expression", "data", "value"), UNUSABLE, ids=[e[0] for e in UNUSABLE])
def test_unusable_values_raise_naming_the_function_and_the_value(search, expression, data, value):
    with pytest.raises(FunctionValueError) as caught:
        search(expression, data)
    error, name = caught.value, _function_of(expression)
    assert error.function == name
    assert error.value == value and type(error.value) is type(value)
    message = str(error)
    assert message.startswith(f"{name}(): ") and "\n" not in message
    for quoted in _quoted(value):
        assert quoted in message


@pytest.mark.parametrize(("expression", "data", "value"), UNUSABLE, ids=[e[0] for e in UNUSABLE])
def test_the_compiled_evaluator_raises_the_same_value_errors(search, compiled_search, expression, data, value):
    with pytest.raises(jmes_errors.JMESPathError) as reference:
        search(expression, data)
    with pytest.raises(jmes_errors.JMESPathError) as compiled:
        compiled_search(expression, data)
    assert type(compiled.value) is type(reference.value) is FunctionValueError
    assert str(compiled.value) == str(reference.value)
    assert compiled.value.value == reference.value.value


def test_the_message_is_what_the_issue_asks_for(search):
    with pytest.raises(FunctionValueError, match=r"^minor_to_major\(\): 'twenty' is not a number$"):
        search("minor_to_major(data.amount, `2`)", {"data": {"amount": "twenty"}})
    with pytest.raises(FunctionValueError, match=r"^to_utc\(\): 'garbage': not a recognised time form$"):
        search("to_utc('garbage')")
    with pytest.raises(FunctionValueError, match=r"^divide\(\): division by zero \(1 / 0\)$"):
        search("divide(`1`, `0`)")
    with pytest.raises(FunctionValueError, match=r"^to_utc\(\): unknown time zone 'Nowhere/Land'$"):
        search("to_utc('2026-07-15 10:00', 'Nowhere/Land')")


def test_a_long_value_is_shortened_in_the_message_but_kept_whole_on_the_error(search):
    long = "x" * 5000
    with pytest.raises(FunctionValueError) as caught:
        search("yes_no(v)", {"v": long})
    assert caught.value.value == long
    assert len(str(caught.value)) < 200


def test_function_value_error_is_both_an_ebi_mapper_error_and_a_jmespath_error():
    error = FunctionValueError("divide", 0, "division by zero (1 / 0)")
    assert isinstance(error, EbiMapperError) and isinstance(error, jmes_errors.JMESPathError)
    assert isinstance(error, ValueError)  # the natural builtin, through JMESPathError
    assert (error.function, error.value, error.reason) == ("divide", 0, "division by zero (1 / 0)")
    assert str(error) == "divide(): division by zero (1 / 0)"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.value) == (FunctionValueError, str(error), 0)


def test_the_classes_are_the_same_object_everywhere_they_are_exported():
    from ebi_mapper.expressions.value_errors import FunctionValueError as direct

    assert FunctionValueError is direct
    assert "FunctionValueError" in expressions.__all__


TYPE_ERRORS = [
    "lower(`1`)", "upper(`[]`)", "trim(`{}`)", "concat(`{}`)", "concat('a', `[1]`)", "concat('a', 'b', `{}`)",
    "replace('a', `1`, 'b')", "replace(`1`, 'a', 'b')", "split('a', `1`)", "round(`1`, '2')", "round(`true`, `1`)",
    "add(`true`, `1`)", "subtract(`1`, `[1]`)", "multiply(`{}`, `1`)", "divide(`1`, `false`)",
    "minor_to_major(`[1]`, `2`)", "minor_to_major(`1`, '2')", "yes_no(`[]`)", "lookup(`1`, 'a')", "lookup('t', `[1]`)",
    "to_utc(`true`)", "to_utc(`[1]`)", "to_utc('x', `1`)", "from_epoch_seconds(`true`)", "from_epoch_millis(`{}`)",
    "to_epoch_millis(`false`)", "parse_time(`1`, '%Y')", "parse_time('2026', `1`)", "parse_time('2026', '%Y', `1`)",
]


@pytest.mark.parametrize("expression", TYPE_ERRORS)
def test_wrong_types_raise_jmespath_type_errors(search, expression):
    with pytest.raises(jmes_errors.JMESPathTypeError):
        search(expression)


ARITY_ERRORS = [
    "to_utc()", "to_utc('a', 'UTC', 'x')", "parse_time('a')", "parse_time('a', 'b', 'c', 'd')", "add(`1`)",
    "add(`1`, `2`, `3`)", "round(`1`)", "coalesce()", "concat()", "lower('a', 'b')", "lookup('t')", "split('a')",
    "minor_to_major(`1`)", "from_epoch_seconds()", "yes_no()",
]


@pytest.mark.parametrize("expression", ARITY_ERRORS)
def test_wrong_argument_counts_raise_jmespath_arity_errors(search, expression):
    with pytest.raises(jmes_errors.ArityError):
        search(expression)


def make_mapping(**kw) -> Mapping:
    return Mapping(path="m.yaml", client="c", vertical="casino", tenant=1, site_currency="EUR", rules=(), **kw)


TABLES = {
    "brands": {"1": "Acme", 2: "Beta", "x": {"nested": True}, True: "flagged", 3.0: "Gamma"},
    "empty": {},
}


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("lookup('brands', '1')", {}, "Acme"),
        ("lookup('brands', `1`)", {}, "Acme"),  # keys are compared as text
        ("lookup('brands', `1.0`)", {}, "Acme"),
        ("lookup('brands', '2')", {}, "Beta"),
        ("lookup('brands', '3')", {}, "Gamma"),
        ("lookup('brands', `true`)", {}, "flagged"),
        ("lookup('brands', 'x')", {}, {"nested": True}),
        ("lookup('brands', 'X')", {}, None),  # case-sensitive
        ("lookup('brands', k)", {}, None),
        ("lookup('empty', 'a')", {}, None),
        ("lookup('brands', brand_id) || 'Unknown'", {"brand_id": 9}, "Unknown"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_lookup_over_the_mappings_tables(search, expression, data, expected):
    assert search(expression, data, make_mapping(tables=TABLES)) == expected


def test_lookup_of_an_undeclared_table_is_a_mapping_mistake(search):
    with pytest.raises(UnknownNameError, match=r"unknown table 'colours' \(declared: brands, empty\)"):
        search("lookup('colours', 'red')", {}, make_mapping(tables=TABLES))
    with pytest.raises(UnknownNameError, match="declared: none"):
        search("lookup('colours', 'red')")


def test_time_functions_read_naive_times_in_the_mappings_zone_and_dst(search):
    malta = make_mapping(source_timezone="Europe/Malta", dst="later")
    assert search("to_utc('2026-10-25 02:30')", {}, malta) == "2026-10-25T01:30:00.000000Z"
    assert search("to_utc('2026-10-25 02:30', 'UTC')", {}, malta) == "2026-10-25T02:30:00.000000Z"
    assert search("to_utc('2026-10-25T02:30:00Z')", {}, malta) == "2026-10-25T02:30:00.000000Z"
    assert search("to_epoch_millis('2026-07-15 10:00')", {}, malta) == 1784102400000
    assert search("parse_time('15/07/2026 10:00', '%d/%m/%Y %H:%M')", {}, malta) == "2026-07-15T08:00:00.000000Z"
    strict = make_mapping(source_timezone="Europe/Malta", dst="reject")
    with pytest.raises(FunctionValueError, match=r"^to_utc\(\): '2026-10-25 02:30': ambiguous local time") as caught:
        search("to_utc('2026-10-25 02:30')", {}, strict)  # an overlap under dst: reject is unusable
    assert caught.value.value == "2026-10-25 02:30"
    with pytest.raises(FunctionValueError, match="does not exist in Europe/Malta"):
        search("parse_time('29/03/2026 02:30', '%d/%m/%Y %H:%M')", {}, strict)  # a gap
    assert search("to_utc('2026-10-25 04:30')", {}, strict) == "2026-10-25T03:30:00.000000Z"
    assert search("to_utc(t)", {}, strict) is None  # null in, null out, whatever the policy


def test_binding_to_a_mapping_with_an_unknown_zone_fails_at_bind_time():
    from ebi_mapper.default_plugins.functions import BUILTIN_FUNCTIONS

    bad = make_mapping(source_timezone="Nowhere/Land")
    for definition in BUILTIN_FUNCTIONS:
        if definition.name in ("to_utc", "to_epoch_millis", "parse_time"):
            with pytest.raises(UnknownNameError):
                definition.bind(bad)


@pytest.mark.parametrize(("expression", "data", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_the_compiled_evaluator_gives_the_same_results(compiled_search, expression, data, expected):
    result = compiled_search(expression, data)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("expression", TYPE_ERRORS + ARITY_ERRORS)
def test_the_compiled_evaluator_raises_the_same_errors(search, compiled_search, expression):
    with pytest.raises(jmes_errors.JMESPathError) as reference:
        search(expression)
    with pytest.raises(jmes_errors.JMESPathError) as compiled:
        compiled_search(expression)
    assert type(compiled.value) is type(reference.value)
