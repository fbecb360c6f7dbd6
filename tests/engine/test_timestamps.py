"""Every time form parse_timestamp reads, the DST policies, the epoch magnitudes and the output forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.engine.coerce_errors import CoercionError
from ebi_mapper.engine.timestamps import (
    MAX_TIME,
    MIN_TIME,
    format_context,
    format_envelope,
    load_zone,
    make_timestamp_parser,
    parse_epoch,
    parse_formatted,
    parse_timestamp,
    to_epoch_millis,
)
from ebi_mapper.errors import MappingError, UnknownNameError

UTC = UTC
# The context-timestamp pattern the catalog's schemas accept.
CONTEXT_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
ENVELOPE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} UTC$")


def iso(value, **kw) -> str:
    return format_context(parse_timestamp(value, **kw))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-29T02:30:00Z", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29T02:30:00+01:00", "2026-03-29T01:30:00.000000Z"),
        ("2026-03-29T02:30:00+0100", "2026-03-29T01:30:00.000000Z"),
        ("2026-03-29T02:30:00+01", "2026-03-29T01:30:00.000000Z"),
        ("2026-03-29T02:30:00-05:00", "2026-03-29T07:30:00.000000Z"),
        ("2026-03-29T23:30:00-05:00", "2026-03-30T04:30:00.000000Z"),
        ("2026-03-29T02:30:00.1Z", "2026-03-29T02:30:00.100000Z"),
        ("2026-03-29T02:30:00.123456Z", "2026-03-29T02:30:00.123456Z"),
        ("2026-03-29T02:30:00.123456789Z", "2026-03-29T02:30:00.123456Z"),
        ("2026-03-29T02:30:00.9999999+00:00", "2026-03-29T02:30:00.999999Z"),
        ("2026-03-29t02:30:00z", "2026-03-29T02:30:00.000000Z"),
        ("  2026-03-29T02:30:00Z \n", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29 02:30:00.000000 UTC", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29 02:30:00 UTC", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29 02:30:00.123456789 UTC", "2026-03-29T02:30:00.123456Z"),
        ("2026-03-29 02:30:00", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29T02:30:00", "2026-03-29T02:30:00.000000Z"),
        ("2026-03-29 02:30:00.5", "2026-03-29T02:30:00.500000Z"),
        ("2026-03-29", "2026-03-29T00:00:00.000000Z"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_iso_and_optimove_forms_in_utc(value, expected):
    assert iso(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15 10:00:00", "2026-01-15T09:00:00.000000Z"),  # winter, UTC+1
        ("2026-07-15 10:00:00", "2026-07-15T08:00:00.000000Z"),  # summer, UTC+2
        ("2026-07-15T10:00:00.25", "2026-07-15T08:00:00.250000Z"),
        ("2026-07-15", "2026-07-14T22:00:00.000000Z"),  # date only: local midnight
        ("2026-07-15T10:00:00Z", "2026-07-15T10:00:00.000000Z"),  # an offset wins over the zone
        ("2026-07-15T10:00:00+03:00", "2026-07-15T07:00:00.000000Z"),
        ("2026-07-15 10:00:00.000000 UTC", "2026-07-15T10:00:00.000000Z"),  # so does ' UTC'
    ],
)
def test_naive_times_are_read_in_the_source_zone(value, expected):
    assert iso(value, tz="Europe/Malta") == expected


def test_zone_may_be_a_zoneinfo_object():
    assert iso("2026-01-15 10:00:00", tz=ZoneInfo("Europe/Malta")) == "2026-01-15T09:00:00.000000Z"
    assert iso("2026-01-15 10:00:00", tz=ZoneInfo("UTC")) == "2026-01-15T10:00:00.000000Z"


# --- DST: Malta springs forward 2026-03-29 02:00→03:00 and falls back 2026-10-25 03:00→02:00;
# --- New York springs forward 2026-03-08 02:00→03:00 and falls back 2026-11-01 02:00→01:00.
@pytest.mark.parametrize(
    ("zone", "local", "dst", "expected"),
    [
        ("Europe/Malta", "2026-03-29 02:30", "earlier", "2026-03-29T01:30:00.000000Z"),
        ("Europe/Malta", "2026-03-29 02:30", "later", "2026-03-29T00:30:00.000000Z"),
        ("Europe/Malta", "2026-10-25 02:30", "earlier", "2026-10-25T00:30:00.000000Z"),
        ("Europe/Malta", "2026-10-25 02:30", "later", "2026-10-25T01:30:00.000000Z"),
        ("America/New_York", "2026-03-08 02:30", "earlier", "2026-03-08T07:30:00.000000Z"),
        ("America/New_York", "2026-03-08 02:30", "later", "2026-03-08T06:30:00.000000Z"),
        ("America/New_York", "2026-11-01 01:30", "earlier", "2026-11-01T05:30:00.000000Z"),
        ("America/New_York", "2026-11-01 01:30", "later", "2026-11-01T06:30:00.000000Z"),
    ],
    ids=lambda v: v.replace(" ", "T") if isinstance(v, str) else None,
)
def test_dst_gap_and_overlap_policies(zone, local, dst, expected):
    assert iso(local, tz=zone, dst=dst) == expected


def test_gap_earlier_reads_like_the_clock_was_not_moved_yet():
    # 02:30 in the gap with the pre-transition offset is the instant the wall clock shows 03:30.
    assert parse_timestamp("2026-03-29 02:30", tz="Europe/Malta") == parse_timestamp("2026-03-29 03:30", tz="Europe/Malta")
    assert parse_timestamp("2026-03-29 02:30", tz="Europe/Malta", dst="later") == parse_timestamp(
        "2026-03-29 01:30", tz="Europe/Malta"
    )


@pytest.mark.parametrize(
    ("zone", "local", "words"),
    [
        ("Europe/Malta", "2026-03-29 02:30", "does not exist"),
        ("Europe/Malta", "2026-10-25 02:30", "ambiguous"),
        ("America/New_York", "2026-03-08 02:30", "does not exist"),
        ("America/New_York", "2026-11-01 01:30", "ambiguous"),
    ],
)
def test_dst_reject_policy_says_why(zone, local, words):
    with pytest.raises(CoercionError, match=words) as caught:
        parse_timestamp(local, tz=zone, dst="reject")
    assert zone in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("local", ["2026-03-29 01:59:59", "2026-03-29 03:00", "2026-10-25 01:59", "2026-10-25 03:00"])
def test_reject_policy_accepts_times_next_to_the_transitions(local):
    parse_timestamp(local, tz="Europe/Malta", dst="reject")


# --- epoch numbers: seconds first, then milliseconds, then microseconds, by magnitude.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000, "2023-11-14T22:13:20.000000Z"),
        (1700000000.5, "2023-11-14T22:13:20.500000Z"),
        (1700000000123, "2023-11-14T22:13:20.123000Z"),
        (1700000000123.0, "2023-11-14T22:13:20.123000Z"),
        (1700000000123456, "2023-11-14T22:13:20.123456Z"),
        ("1700000000", "2023-11-14T22:13:20.000000Z"),
        ("1700000000.123456", "2023-11-14T22:13:20.123456Z"),
        ("1700000000123", "2023-11-14T22:13:20.123000Z"),
        ("1.7e9", "2023-11-14T22:13:20.000000Z"),
        (" 1700000000 ", "2023-11-14T22:13:20.000000Z"),
        (0, "1970-01-01T00:00:00.000000Z"),
        (4102444799, "2099-12-31T23:59:59.000000Z"),  # the last second read as seconds
        (4102444800, "1970-02-17T11:34:04.800000Z"),  # from here on: milliseconds
        (4102444799999, "2099-12-31T23:59:59.999000Z"),
        (4102444800000, "1970-02-17T11:34:04.800000Z"),  # from here on: microseconds
        (4102444799999999, "2099-12-31T23:59:59.999999Z"),
        ("20260329", "1970-08-23T11:52:09.000000Z"),  # digits are epoch seconds, never a basic date
    ],
    ids=repr,
)
def test_epoch_units_told_apart_by_magnitude(value, expected):
    assert iso(value) == expected


@pytest.mark.parametrize("value", [4102444800000000, -1, -1700000000, "-1", 10**30, 1e300, "1e999999"], ids=repr)
def test_epoch_out_of_range(value):
    with pytest.raises(CoercionError, match="out of range"):
        parse_timestamp(value)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (1700000000, "s", "2023-11-14T22:13:20.000000Z"),
        (1700000000, "ms", "1970-01-20T16:13:20.000000Z"),
        (1700000000, "us", "1970-01-01T00:28:20.000000Z"),
        ("1700000000123.9", "ms", "2023-11-14T22:13:20.123900Z"),
        (1700000000123456.7, "us", "2023-11-14T22:13:20.123456Z"),  # below a microsecond: truncated
    ],
)
def test_parse_epoch_with_an_explicit_unit(value, unit, expected):
    assert format_context(parse_epoch(value, unit)) == expected


@pytest.mark.parametrize(
    "value",
    ["1969-12-31T23:59:59.999999Z", "2100-01-01T00:00:00Z", "1969-12-31 23:59:59", "0001-01-01T00:00:00+01:00",
     "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31 23:59:59 UTC", "2099-12-31T23:30:00-01:00"],
)
def test_times_outside_1970_to_2100_are_rejected(value):
    with pytest.raises(CoercionError, match="out of range"):
        parse_timestamp(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
        ("1969-12-31T23:00:00-01:00", "1970-01-01T00:00:00.000000Z"),
        ("2099-12-31T23:59:59.999999Z", "2099-12-31T23:59:59.999999Z"),
        ("2100-01-01T00:59:59+01:00", "2099-12-31T23:59:59.000000Z"),
    ],
)
def test_range_edges_that_are_inside(value, expected):
    assert iso(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "yesterday", "2026-13-01", "2026-02-30T10:00:00Z", "2026-03-29T25:00:00Z", "x" * 1000,
     "1,700,000,000", "1_700_000_000", "NaN", "Infinity", "-inf", "2026-03-29T02:30:00Z UTC",
     "2026-03-29T02:30:00+01:00 UTC", "٢٠٢٦", "0x1F", "12:30", "29/03/2026"],
    ids=lambda v: repr(v)[:30],
)
def test_garbage_strings_are_rejected(value):
    with pytest.raises(CoercionError):
        parse_timestamp(value)


@pytest.mark.parametrize("value", [True, False, None, [], {}, [1700000000], {"t": 1}, float("nan"), float("inf")], ids=repr)
def test_non_time_values_are_rejected(value):
    with pytest.raises(CoercionError):
        parse_timestamp(value)


def test_booleans_are_not_epoch_numbers():
    with pytest.raises(CoercionError, match="boolean"):
        parse_timestamp(True)


def test_datetimes_are_accepted():
    aware = datetime(2026, 7, 15, 10, 0, tzinfo=ZoneInfo("Europe/Malta"))
    assert format_context(parse_timestamp(aware)) == "2026-07-15T08:00:00.000000Z"
    assert format_context(parse_timestamp(datetime(2026, 7, 15, 10, 0), tz="Europe/Malta")) == "2026-07-15T08:00:00.000000Z"


def test_extra_formats_are_tried_first():
    assert iso("03/04/2026 10:00", formats=("%d/%m/%Y %H:%M",), tz="Europe/Malta") == "2026-04-03T08:00:00.000000Z"
    assert iso("20260329", formats=("%Y%m%d",)) == "2026-03-29T00:00:00.000000Z"
    # A format that does not match falls back to the built-in forms.
    assert iso("2026-03-29T02:30:00Z", formats=("%d/%m/%Y",)) == "2026-03-29T02:30:00.000000Z"
    assert iso("29.03.2026 02:30 +0200", formats=("%d.%m.%Y %H:%M %z",)) == "2026-03-29T00:30:00.000000Z"


def test_parse_formatted_is_strict():
    assert format_context(parse_formatted("20260329", ("%Y%m%d",))) == "2026-03-29T00:00:00.000000Z"
    with pytest.raises(CoercionError, match="does not match"):
        parse_formatted("20260329", ("%d%m%Y",))  # never falls back to epoch seconds
    with pytest.raises(CoercionError, match="does not exist"):
        parse_formatted("29/03/2026 02:30", ("%d/%m/%Y %H:%M",), tz="Europe/Malta", dst="reject")


def test_caller_mistakes_are_not_coercion_errors():
    with pytest.raises(UnknownNameError):
        parse_timestamp("2026-03-29 02:30", tz="Mars/Olympus_Mons")
    with pytest.raises(MappingError):
        parse_timestamp("2026-03-29 02:30", dst="sometimes")
    with pytest.raises(MappingError):
        parse_epoch(1, "minutes")


def test_zones_are_cached_and_utc_is_the_fast_path():
    assert load_zone("Europe/Malta") is load_zone("Europe/Malta")
    assert load_zone("UTC") is UTC


def test_parser_factory_matches_parse_timestamp():
    parse = make_timestamp_parser(tz="Europe/Malta", dst="later")
    for value in ("2026-10-25 02:30", "2026-03-29 02:30", 1700000000, "2026-03-29T02:30:00Z"):
        assert parse(value) == parse_timestamp(value, tz="Europe/Malta", dst="later")


# --- output forms
def test_output_forms():
    instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert format_envelope(instant) == "2026-03-29 01:30:00.000000 UTC"
    assert format_context(instant) == "2026-03-29T01:30:00.000000Z"
    local = datetime(2026, 3, 29, 3, 30, 0, 42, tzinfo=ZoneInfo("Europe/Malta"))
    assert format_envelope(local) == "2026-03-29 01:30:00.000042 UTC"
    assert format_context(local) == "2026-03-29T01:30:00.000042Z"
    assert to_epoch_millis(datetime(2023, 11, 14, 22, 13, 20, 123999, tzinfo=UTC)) == 1700000000123


def test_naive_datetimes_cannot_be_written():
    with pytest.raises(CoercionError, match="naive"):
        format_envelope(datetime(2026, 3, 29))


in_range_instants = st.datetimes(
    min_value=MIN_TIME.replace(tzinfo=None), max_value=MAX_TIME.replace(tzinfo=None) - timedelta(microseconds=1)
).map(lambda naive: naive.replace(tzinfo=UTC))
zones = st.sampled_from(["UTC", "Europe/Malta", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns"])


@settings(max_examples=300, deadline=None)
@given(instant=in_range_instants, zone=zones)
def test_written_forms_read_back_as_the_same_instant(instant, zone):
    shown = instant.astimezone(ZoneInfo(zone))  # any aware datetime in range
    context, envelope = format_context(shown), format_envelope(shown)
    assert CONTEXT_FORM.match(context) and ENVELOPE_FORM.match(envelope)
    # Read back in a different source zone on purpose: both forms carry UTC explicitly.
    assert parse_timestamp(context, tz="Asia/Tokyo") == instant
    assert parse_timestamp(envelope, tz="Asia/Tokyo") == instant
    assert parse_timestamp(shown.isoformat()) == instant


@settings(max_examples=200, deadline=None)
@given(micros=st.integers(min_value=0, max_value=4102444800_000000 - 1))
def test_epoch_units_agree_with_each_other(micros):
    instant = parse_epoch(micros, "us")
    assert parse_epoch(micros // 1000, "ms") == instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    if micros >= 4102444800_000:  # only there does magnitude say microseconds
        assert parse_timestamp(micros) == instant


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
time_like_text = st.from_regex(
    r"\A[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}([ Tt][0-9]{1,2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]{0,12})?)?)?)?"
    r"( ?(Z|z|UTC|[+-][0-9]{2}(:?[0-9]{2})?))?\Z"
) | st.from_regex(r"\A[+-]?[0-9]{0,20}(\.[0-9]{0,10})?([eE][+-]?[0-9]{1,7})?\Z")
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(value=json_values | time_like_text, zone=zones, dst=st.sampled_from(["earlier", "later", "reject"]))
def test_parse_timestamp_raises_only_coercion_errors(value, zone, dst):
    try:
        result = parse_timestamp(value, tz=zone, dst=dst)
    except CoercionError as exc:
        assert "\n" not in str(exc)
    else:
        assert result.tzinfo is UTC and MIN_TIME <= result < MAX_TIME
