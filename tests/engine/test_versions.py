"""A rule's `version:`: the order key it gives, carried with the event and never sent (issue #10 item 5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebi_mapper.engine.coerce_errors import CoercionError
from ebi_mapper.engine.versioning import compare_versions, describe_version, version_key

from .conftest import DEPOSIT_RULE, NOW, deposit_payload

VERSIONED = DEPOSIT_RULE.replace("    currency: data.currency\n", "    currency: data.currency\n    version: data.seq\n")


def _cmp(a, b, tz="UTC"):
    return compare_versions(version_key(a, tz=tz), version_key(b, tz=tz))


@pytest.mark.parametrize("low, high", [
    (1, 2), (9, 10), (1.5, 2), (-1, 0), (10**20, 10**20 + 1),
    ("9", "10"), ("1.9", "1.10"), ("v9", "v10"), ("a", "b"), ("1.2", "1.2.1"), ("release-2", "release-10"),
    ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00.000001Z"),
    ("2026-12-01T10:00:00+02:00", "2026-12-01T09:00:00Z"),  # instants, not text: 08:00Z < 09:00Z
])
def test_versions_are_ordered(low, high):
    assert _cmp(low, high) == -1 and _cmp(high, low) == 1 and _cmp(high, high) == 0


def test_times_compare_as_instants_and_naive_times_use_the_source_zone():
    assert _cmp("2026-12-01T10:00:00+02:00", "2026-12-01T08:00:00Z") == 0
    assert _cmp("2026-12-01 10:00:00", "2026-12-01T09:00:00Z", tz="Europe/Malta") == 0


def test_kinds_do_not_compare():
    assert _cmp(5, "5") is None and _cmp(5, "2026-12-01T10:00:00Z") is None and _cmp("x", "2026-12-01T10:00:00Z") is None


@pytest.mark.parametrize("bad", [True, False, None, {"v": 1}, [1], float("nan"), float("inf"), "2026-13-45T00:00:00Z"])
def test_what_is_no_version(bad):
    with pytest.raises(CoercionError):
        version_key(bad)


@given(st.lists(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)), min_size=2, max_size=6))
def test_numeric_order_is_the_numbers_order(values):
    keys = sorted((version_key(v) for v in values), key=lambda k: k[1])
    assert [k[1] for k in keys] == sorted(values)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=6))
def test_dotted_versions_order_like_tuples(parts):
    a, b = ".".join(map(str, parts)), ".".join(map(str, parts[::-1]))
    assert _cmp(a, b) == ((parts > parts[::-1]) - (parts < parts[::-1]))


def test_describe():
    assert describe_version(version_key("2026-12-01T10:00:00+02:00")) == "2026-12-01T08:00:00Z"
    assert describe_version(version_key("v1.10")) == "v1.10" and describe_version(version_key(3)) == "3"


@pytest.mark.parametrize("fast", [True, False])
def test_the_version_rides_with_the_event_but_is_not_sent(make_mapper, fast):
    from ebi_mapper import compile_mapping

    mapper = make_mapper(VERSIONED)
    mapper = mapper if fast else compile_mapping(mapper.mapping, fast=False)
    result = mapper.map_record(deposit_payload(seq=12), now=NOW)
    assert not result.rejections, result.rejections
    (event,) = result.events
    assert event.version == ["n", 12]
    assert "version" not in event.to_dict() and "seq" not in str(event.to_dict())


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("seq, code", [(None, "missing_version"), ("absent", "missing_version"), (True, "bad_version"), ({"a": 1}, "bad_version")])
def test_a_rule_with_version_rejects_an_event_without_one(make_mapper, fast, seq, code):
    from ebi_mapper import compile_mapping

    mapper = make_mapper(VERSIONED)
    mapper = mapper if fast else compile_mapping(mapper.mapping, fast=False)
    payload = deposit_payload() if seq == "absent" else deposit_payload(seq=seq)
    result = mapper.map_record(payload, now=NOW)
    assert not result.events
    assert [(r.code, r.field, r.expression) for r in result.rejections] == [(code, "version", "data.seq")]


def test_without_version_the_event_has_none(make_mapper):
    (event,) = make_mapper(DEPOSIT_RULE).map_record(deposit_payload(), now=NOW).events
    assert event.version is None


def test_version_is_in_the_file_format_and_linted(tmp_path):
    from ebi_mapper import load_mapping
    from ebi_mapper.errors import MappingError

    from .conftest import BASE

    path = tmp_path / "m.yaml"
    path.write_text(BASE + "rules:\n" + VERSIONED.replace("version: data.seq", "version: \"data.seq ||\""))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert "version" in str(err.value)
    path.write_text(BASE + "rules:\n" + VERSIONED)
    assert load_mapping(path).rules[0].version.source == "data.seq"
