"""Coercion of mapped values to each catalog param type, and of the envelope's customer id."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.catalog.model import Param
from ebi_mapper.engine.coerce import (
    CoercionError,
    coerce_customer,
    coerce_value,
    make_coercer,
    parse_bool,
    parse_number,
)
from ebi_mapper.errors import MappingError, UnknownNameError

BIG = 2**53 + 1  # 9007199254740993: the first integer a double cannot hold


def param(type_: str, **kw) -> Param:
    return Param(key="ootb_test", type=type_, cls="optional", **kw)


def coerced(type_: str, value, **kw):
    tz = kw.pop("tz", "UTC")
    dst = kw.pop("dst", "earlier")
    return coerce_value(value, param(type_, **kw), tz=tz, dst=dst)


def same(a, b) -> bool:
    return type(a) is type(b) and a == b


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        # string
        ("string", "abc", "abc"),
        ("string", "", ""),
        ("string", " padded ", " padded "),
        ("string", 42, "42"),
        ("string", BIG, "9007199254740993"),
        ("string", 12.0, "12"),
        ("string", 12.5, "12.5"),
        ("string", 0.1, "0.1"),
        ("string", "é" * 255, "é" * 255),
        # number
        ("number", 12, 12),
        ("number", 12.5, 12.5),
        ("number", "12", 12),
        ("number", "-12", -12),
        ("number", " 12.5 ", 12.5),
        ("number", "0.1", 0.1),
        ("number", "1e3", 1000.0),
        ("number", "9007199254740993", BIG),
        ("number", BIG, BIG),
        ("number", "18446744073709551615", 2**64 - 1),
        # integer
        ("integer", 7, 7),
        ("integer", 7.0, 7),
        ("integer", "7", 7),
        ("integer", "7.0", 7),
        ("integer", "9007199254740993", BIG),
        # boolean
        ("boolean", True, True),
        ("boolean", False, False),
        ("boolean", "TRUE", True),
        ("boolean", "false", False),
        ("boolean", "Yes", True),
        ("boolean", " no ", False),
        ("boolean", "1", True),
        ("boolean", "0", False),
        ("boolean", "Y", True),
        ("boolean", 1, True),
        ("boolean", 0, False),
        ("boolean", 1.0, True),
        # yes_no
        ("yes_no", True, "Yes"),
        ("yes_no", False, "No"),
        ("yes_no", "true", "Yes"),
        ("yes_no", "YES", "Yes"),
        ("yes_no", "no", "No"),
        ("yes_no", 1, "Yes"),
        ("yes_no", "0", "No"),
        # string_or_number
        ("string_or_number", "abc", "abc"),
        ("string_or_number", "123", "123"),
        ("string_or_number", "9007199254740993", "9007199254740993"),
        ("string_or_number", 123, 123),
        ("string_or_number", 2**53, 2**53),
        ("string_or_number", BIG, "9007199254740993"),
        ("string_or_number", -BIG, "-9007199254740993"),
        ("string_or_number", 12.5, 12.5),
        # timestamp
        ("timestamp", "2026-03-29T02:30:00+01:00", "2026-03-29T01:30:00.000000Z"),
        ("timestamp", 1700000000123, "2023-11-14T22:13:20.123000Z"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_coercion_by_type(type_, value, expected):
    assert same(coerced(type_, value), expected)


@pytest.mark.parametrize(
    ("type_", "value", "words"),
    [
        ("string", True, "expected a string, got boolean"),
        ("string", {"a": 1}, "got object"),
        ("string", [1], "got array"),
        ("string", float("nan"), "finite"),
        ("string", "x" * 256, r"longer than 255 characters \(256\)"),
        ("string", 10**300, "longer than 255"),
        ("number", "abc", "not a number"),
        ("number", "NaN", "not a number"),
        ("number", "Infinity", "not a number"),
        ("number", float("nan"), "finite"),
        ("number", float("inf"), "finite"),
        ("number", True, "expected a number, got boolean"),
        ("number", "1_000", "not a number"),
        ("number", "1,000", "not a number"),
        ("number", "١٢٣", "not a number"),
        ("number", "12.34567890123456789", "losing precision"),
        ("number", "1e400", "losing precision"),
        ("number", 2**64, "64 bits"),
        ("number", "9" * 101, "not a number"),
        ("number", [], "got array"),
        ("integer", 7.5, "not an integer"),
        ("integer", "7.5", "not an integer"),
        ("integer", True, "boolean"),
        ("integer", "1" * 5000, "not a number"),
        ("integer", "1e30", "64 bits"),
        ("boolean", "maybe", "expected a boolean"),
        ("boolean", 2, "expected a boolean"),
        ("boolean", [], "expected a boolean"),
        ("yes_no", "si", "expected a boolean"),
        ("string_or_number", True, "expected a string or a number"),
        ("string_or_number", {}, "expected a string or a number"),
        ("string_or_number", float("nan"), "finite"),
        ("string_or_number", "x" * 256, "longer than 255"),
        ("timestamp", "soon", "not a recognised time form"),
        ("timestamp", True, "boolean"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_uncoercible_values_raise_one_line_coercion_errors(type_, value, words):
    with pytest.raises(CoercionError, match=words) as caught:
        coerced(type_, value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.345678", 12.3457),
        (12.345678, 12.3457),
        ("12.34565", 12.3457),  # half away from zero, on the decimal as written
        (12.34565, 12.3457),
        ("-12.34565", -12.3457),
        ("0.00005", 0.0001),
        ("0.00004", 0.0),
        ("12.34567890123456789", 12.3457),  # too precise for a float, fine once rounded
        (100, 100),
        ("100", 100),
        (BIG, BIG),
        (12.5, 12.5),
    ],
    ids=repr,
)
def test_money_is_rounded_to_four_places(value, expected):
    assert same(coerced("number", value, monetary=True), expected)


@pytest.mark.parametrize("value", ["1e99999", "abc", True, float("nan")], ids=repr)
def test_money_that_cannot_be_an_amount(value):
    with pytest.raises(CoercionError):
        coerced("number", value, monetary=True)


def test_timestamps_use_the_zone_and_dst_policy():
    assert coerced("timestamp", "2026-10-25 02:30", tz="Europe/Malta") == "2026-10-25T00:30:00.000000Z"
    assert coerced("timestamp", "2026-10-25 02:30", tz="Europe/Malta", dst="later") == "2026-10-25T01:30:00.000000Z"
    with pytest.raises(CoercionError, match="ambiguous"):
        coerced("timestamp", "2026-10-25 02:30", tz="Europe/Malta", dst="reject")


@pytest.mark.parametrize("type_", ["string", "number", "integer", "boolean", "yes_no", "timestamp", "string_or_number"])
def test_none_passes_through_for_the_null_policy(type_):
    assert coerced(type_, None) is None
    assert coerced(type_, None, monetary=True) is None


def test_max_length_comes_from_the_param():
    assert coerced("string", "abcd", max_length=4) == "abcd"
    with pytest.raises(CoercionError, match="longer than 3"):
        coerced("string", "abcd", max_length=3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("casino", "Casino"), ("CASINO", "Casino"), (" Sport ", "Sport"), ("sport", "Sport")],
)
def test_allowed_strings_match_case_insensitively_in_catalog_spelling(value, expected):
    assert coerced("string", value, allowed=("Casino", "Sport")) == expected


def test_values_outside_the_allowed_list_are_rejected_with_the_list():
    with pytest.raises(CoercionError, match=r"not one of the allowed values \(Casino, Sport\)"):
        coerced("string", "Poker", allowed=("Casino", "Sport"))


@pytest.mark.parametrize(
    ("type_", "allowed", "value", "expected"),
    [
        ("number", ("1", "0"), 1, 1),
        ("number", ("1", "0"), "0", 0),
        ("number", ("1", "0"), 1.0, 1.0),
        ("boolean", ("Yes", "No"), "true", True),
        ("yes_no", ("Yes", "No"), False, "No"),
        ("string_or_number", ("A1", "7"), "a1", "A1"),
        ("string_or_number", ("A1", "7"), 7, 7),
        ("number", ("1", "0 (inferred)"), 1, 1),  # a catalog note in the list is ignored
        ("number", ("n/a",), 5, 5),  # a list no value of the type can match is not enforced
    ],
    ids=repr,
)
def test_allowed_lists_of_typed_params(type_, allowed, value, expected):
    assert same(coerced(type_, value, allowed=allowed), expected)


@pytest.mark.parametrize(
    ("type_", "allowed", "value"),
    [("number", ("1", "0"), 2), ("number", ("1", "0 (inferred)"), 0), ("boolean", ("Yes",), False), ("string_or_number", ("A1", "7"), 8)],
    ids=repr,
)
def test_typed_values_outside_the_allowed_list(type_, allowed, value):
    with pytest.raises(CoercionError, match="allowed values"):
        coerced(type_, value, allowed=allowed)


def test_make_coercer_is_compiled_once_per_field():
    p = param("timestamp")
    assert make_coercer(p, "Europe/Malta", "earlier") is make_coercer(p, "Europe/Malta", "earlier")
    assert make_coercer(p, "Europe/Malta", "later")("2026-10-25 02:30") == "2026-10-25T01:30:00.000000Z"


def test_an_allowed_list_given_as_a_list_still_works():
    listed = Param(key="ootb_test", type="string", cls="optional", allowed=["Casino", "Sport"])
    assert make_coercer(listed)("casino") == "Casino"


def test_mapping_mistakes_are_not_coercion_errors():
    with pytest.raises(MappingError):
        make_coercer(param("colour"))
    with pytest.raises(UnknownNameError):
        make_coercer(param("timestamp"), "Nowhere/Land")
    with pytest.raises(MappingError):
        make_coercer(param("timestamp"), "UTC", "sideways")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc-1", "abc-1"), (42, "42"), (BIG, "9007199254740993"), (42.0, "42"), ("9007199254740993", "9007199254740993")],
    ids=repr,
)
def test_customer_is_always_a_string(value, expected):
    assert coerce_customer(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [(None, "required"), ("", "empty"), ("   ", "empty"), (True, "boolean"), (42.5, "integer"), (1e17, "too large"),
     (float("nan"), "integer"), ({"id": 1}, "object"), ("x" * 256, "longer than 255"), ([1], "array")],
    ids=repr,
)
def test_bad_customer_ids(value, words):
    with pytest.raises(CoercionError, match=words):
        coerce_customer(value)


def test_shared_parsers():
    assert parse_bool("N") is False and parse_bool("y") is True
    assert same(parse_number("12"), 12) and same(parse_number("1.5"), 1.5)


params = st.builds(
    Param,
    key=st.just("ootb_p"),
    type=st.sampled_from(["string", "number", "integer", "boolean", "yes_no", "timestamp", "string_or_number"]),
    cls=st.just("optional"),
    monetary=st.booleans(),
    allowed=st.none() | st.lists(st.sampled_from(["Yes", "No", "1", "0", "Casino", "x"]), min_size=1, max_size=3).map(tuple),
    max_length=st.sampled_from([3, 255]),
)
json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300)
    | st.from_regex(r"\A[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,6})?\Z")
    | st.sampled_from(["true", "No", "2026-10-25 02:30", "2026-03-29T02:30:00Z", "NaN", "1e400", str(BIG)])
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(p=params, value=json_values, dst=st.sampled_from(["earlier", "later", "reject"]))
def test_coercion_raises_only_coercion_errors(p, value, dst):
    try:
        result = coerce_value(value, p, tz="Europe/Malta", dst=dst)
    except CoercionError:
        return
    assert result is None or type(result) in (str, int, float, bool)
    if type(result) is str:
        assert len(result) <= p.max_length or p.type in ("timestamp", "yes_no")


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_customer_coercion_raises_only_coercion_errors(value):
    try:
        result = coerce_customer(value)
    except CoercionError:
        return
    assert type(result) is str and 0 < len(result) <= 255 and result.strip()


@settings(max_examples=200, deadline=None)
@given(number=st.integers(min_value=-(2**63), max_value=2**64 - 1))
def test_integer_strings_survive_exactly(number):
    assert same(coerced("number", str(number)), number)
    assert coerced("string_or_number", str(number)) == str(number)
