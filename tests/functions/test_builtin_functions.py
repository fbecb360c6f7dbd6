"""Each built-in function, evaluated by jmespath itself: examples, nulls, unusable values, type errors."""

from __future__ import annotations

import pytest
from jmespath import exceptions as jmes_errors

from ebi_mapper.errors import UnknownNameError
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
    ("to_utc('2026-07-15 10:00', 'Nowhere/Land')", {}, None),
    ("to_utc(t)", {}, None),
    ("to_utc('last tuesday')", {}, None),
    ("to_utc('1969-12-31T23:59:59Z')", {}, None),
    ("from_epoch_seconds(`1700000000`)", {}, "2023-11-14T22:13:20.000000Z"),
    ("from_epoch_seconds('1700000000.5')", {}, "2023-11-14T22:13:20.500000Z"),
    ("from_epoch_seconds(`1700000000123`)", {}, None),  # explicit unit: year 55,000 is out of range
    ("from_epoch_seconds(`-1`)", {}, None),
    ("from_epoch_seconds('soon')", {}, None),
    ("from_epoch_seconds(n)", {}, None),
    ("from_epoch_millis(`1700000000123`)", {}, "2023-11-14T22:13:20.123000Z"),
    ("from_epoch_millis(`1700000000`)", {}, "1970-01-20T16:13:20.000000Z"),
    ("from_epoch_micros(`1700000000123456`)", {}, "2023-11-14T22:13:20.123456Z"),
    ("from_epoch_micros('1700000000123456')", {}, "2023-11-14T22:13:20.123456Z"),
    ("to_epoch_millis('2023-11-14T22:13:20.123Z')", {}, 1700000000123),
    ("to_epoch_millis(`1700000000`)", {}, 1700000000000),
    ("to_epoch_millis('2023-11-14 23:13:20.123456+01:00')", {}, 1700000000123),
    ("to_epoch_millis('nope')", {}, None),
    ("to_epoch_millis(t)", {}, None),
    ("parse_time('03/04/2026 10:00', '%d/%m/%Y %H:%M')", {}, "2026-04-03T10:00:00.000000Z"),
    ("parse_time('03/04/2026 10:00', '%d/%m/%Y %H:%M', 'Europe/Malta')", {}, "2026-04-03T08:00:00.000000Z"),
    ("parse_time('29/03/2026 02:30 +0200', '%d/%m/%Y %H:%M %z')", {}, "2026-03-29T00:30:00.000000Z"),
    ("parse_time('20260329', '%Y%m%d')", {}, "2026-03-29T00:00:00.000000Z"),
    ("parse_time('2026-03-29', '%d/%m/%Y')", {}, None),  # strict: no fallback to other forms
    ("parse_time('20260329', '%d%m%Y')", {}, None),  # and never to epoch seconds
    ("parse_time('03/04/2026', '%d/%m/%Y', 'Nowhere/Land')", {}, None),
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
    ("round(`12.5`, `1.5`)", {}, None),
    ("round(`12.5`, `16`)", {}, None),
    ("round('abc', `2`)", {}, None),
    ("round(n, `2`)", {}, None),
    ("add(`0.1`, `0.2`)", {}, 0.3),
    ("add('10', `5`)", {}, 15),
    ("add(n, `1`)", {"n": BIG}, BIG + 1),
    ("add(n, `1`)", {}, None),
    ("add('x', `1`)", {}, None),
    ("subtract(`10`, '2.5')", {}, 7.5),
    ("subtract(`0.3`, `0.1`)", {}, 0.2),
    ("multiply('1.1', `3`)", {}, 3.3),
    ("multiply(`1e300`, `1e300`)", {}, None),  # beyond a double: null
    ("divide(`10`, `4`)", {}, 2.5),
    ("divide(`1`, `3`)", {}, 0.3333333333333333),
    ("divide(`1`, `0`)", {}, None),
    ("divide('1', '0.0')", {}, None),
    ("divide(`0`, `0`)", {}, None),
    ("minor_to_major(`1234`, `2`)", {}, 12.34),
    ("minor_to_major('1234', `2`)", {}, 12.34),
    ("minor_to_major(`1200`, `2`)", {}, 12),
    ("minor_to_major(`5`, `3`)", {}, 0.005),
    ("minor_to_major(`1234`, `0`)", {}, 1234),
    ("minor_to_major(`-1999`, `2`)", {}, -19.99),
    ("minor_to_major(`1234`, `-1`)", {}, None),
    ("minor_to_major(`1234`, `2.5`)", {}, None),
    ("minor_to_major('12,34', `2`)", {}, None),
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
    ("yes_no('maybe')", {}, None),
    ("yes_no(`2`)", {}, None),
    ("yes_no(x)", {}, None),
]


@pytest.mark.parametrize(("expression", "data", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples(search, expression, data, expected):
    result = search(expression, data)
    assert result == expected
    assert type(result) is type(expected)


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
    assert search("to_utc('2026-10-25 02:30')", {}, strict) is None  # unusable: null, with the expression reported
    assert search("to_utc('2026-10-25 04:30')", {}, strict) == "2026-10-25T03:30:00.000000Z"


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
