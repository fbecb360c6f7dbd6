"""The payload strategies: shaped by the rule's expressions, every time form, valid and broken values."""

from __future__ import annotations

import re
from datetime import datetime

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebi_mapper import UnknownNameError, load_mapping
from ebi_mapper.engine.cases import DEFAULT_CASE_NOW
from ebi_mapper.engine.timestamps import parse_timestamp
from ebi_mapper.testing import generated_payloads, payloads
from ebi_mapper.testing.strategies import time_forms
from ebi_mapper.testing.values import DST_EDGE, dst_edges
from ebi_mapper.testing.values import TIME_FORMS as FORM_NAMES

from .kit_helpers import BROKEN, GOOD, first, mapper_of, source_schema_of, write_mapping

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))

WALLET = load_mapping(GOOD / "wallet.yaml")
ORDERS = load_mapping(GOOD / "orders.yaml")


@FAST
@given(generated=generated_payloads(WALLET, "deposit", validity=1.0))
def test_valid_payloads_reach_the_rule_and_map_cleanly(generated):
    assert generated.valid
    payload = generated.payload
    assert payload["type"] == "wallet.deposit" and payload["data"]["status"] == "approved"  # the `when` equality tests
    result = mapper_of_wallet().map_record(payload, now=DEFAULT_CASE_NOW)
    assert "no_rule" not in [f.reason for f in result.filtered]
    assert result.rejections == []


_WALLET_MAPPER = []


def mapper_of_wallet():
    if not _WALLET_MAPPER:
        _WALLET_MAPPER.append(mapper_of(GOOD / "wallet.yaml"))
    return _WALLET_MAPPER[0]


@FAST
@given(generated=generated_payloads(WALLET, "deposit", validity=0.0))
def test_validity_zero_breaks_every_payload(generated):
    assert generated.defects and not generated.valid


def test_each_paths_become_lists_empty_ones_too():
    strategy = payloads(ORDERS, "order-lines", validity=1.0)
    assert first(strategy, lambda p: p["line_items"] == [])["topic"] == "orders/create"
    full = first(strategy, lambda p: len(p["line_items"]) >= 2)
    assert all(isinstance(item, dict) and {"id", "product_id", "price"} <= set(item) for item in full["line_items"])
    assert {"customer", "created_at", "currency", "id"} <= set(full)  # root.* paths live at the top


TIME_FORMS = {
    "naive local": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?", v),
    "date only": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", v),
    "offset": lambda v: isinstance(v, str) and re.search(r"[+-]\d\d:?\d\d$", v),
    "zulu": lambda v: isinstance(v, str) and v.endswith("Z"),
    "envelope": lambda v: isinstance(v, str) and v.endswith(" UTC"),
    "epoch seconds": lambda v: type(v) in (int, float) and 10**9 <= v < 4_102_444_800,
    "epoch milliseconds": lambda v: type(v) is int and 10**12 <= v < 4_102_444_800_000,
    "epoch microseconds": lambda v: type(v) is int and 10**15 <= v,
    "epoch as text": lambda v: isinstance(v, str) and v.isdigit(),
    "DST edge": lambda v: isinstance(v, str) and v in dst_edges("Europe/Malta", int(v[:4])),
}


def test_every_time_form_is_generated_and_readable():
    seen = set()

    @settings(max_examples=500, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(payloads(WALLET, "deposit", validity=1.0))
    def collect(payload):
        value = payload["data"]["processed_at"]
        assert parse_timestamp(value, tz="Europe/Malta") >= WALLET.go_live
        seen.update(name for name, test in TIME_FORMS.items() if test(value))

    collect()
    assert seen == set(TIME_FORMS)


def test_time_forms_are_every_form_plus_dst_edges_where_the_zone_has_them():
    assert time_forms(WALLET, "deposit") == FORM_NAMES + (DST_EDGE,)  # Europe/Malta
    assert time_forms(BROKEN / "naive_time_no_zone.yaml", "deposit") == FORM_NAMES  # no zone: UTC, no DST
    assert {"naive_iso", "naive_space", "date", "epoch_ms", "iso_z"} <= set(FORM_NAMES)


@pytest.mark.parametrize(
    "form, test",
    [
        ("naive_iso", lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", v)),
        ("naive_space", lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", v)),
        ("date", TIME_FORMS["date only"]),
        ("iso_offset", TIME_FORMS["offset"]),
        ("envelope", TIME_FORMS["envelope"]),
        ("epoch_ms", TIME_FORMS["epoch milliseconds"]),
        ("epoch_ms_text", TIME_FORMS["epoch as text"]),
        (DST_EDGE, TIME_FORMS["DST edge"]),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_time_form_writes_every_valid_time_in_that_form(form, test):
    @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(generated_payloads(WALLET, "deposit", validity=1.0, time_form=form))
    def check(generated):
        value = generated.payload["data"]["processed_at"]
        assert test(value), value
        assert parse_timestamp(value, tz="Europe/Malta") >= WALLET.go_live
        assert mapper_of_wallet().map_record(generated.payload, now=DEFAULT_CASE_NOW).events

    check()


def test_a_time_form_in_a_source_schema_run_reaches_the_payload_where_the_schema_allows_it(tmp_path):
    schema = {"type": "object", "properties": {"data": {"type": "object", "properties": {"processed_at": {"type": "string"}}}}}
    strategy = generated_payloads(BROKEN / "naive_time_no_zone.yaml", "deposit", source_schema=schema, time_form="naive_space")
    found = first(strategy, lambda g: True, max_examples=1)  # even the simplest payload carries it
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", found.payload["data"]["processed_at"])
    jsonschema.validate(found.payload, schema)


def test_dst_edges_fall_in_the_gap_and_the_overlap():
    edges = dst_edges("Europe/Malta", 2026)
    assert edges == ("2026-03-29 02:07:30", "2026-03-29 02:22:30", "2026-03-29 02:37:30", "2026-03-29 02:52:30",
                     "2026-10-25 02:07:30", "2026-10-25 02:22:30", "2026-10-25 02:37:30", "2026-10-25 02:52:30")  # fmt: skip
    assert dst_edges("UTC", 2026) == ()


@pytest.mark.parametrize(
    "name, test",
    [
        ("int above 2^53", lambda v: type(v) is int and v > 2**53),
        ("digits above 2^53", lambda v: isinstance(v, str) and v.isdigit() and int(v) > 2**53),
        ("text id", lambda v: isinstance(v, str) and not v.isdigit()),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_ids_come_as_big_ints_and_strings(name, test):
    first(payloads(WALLET, "deposit", validity=1.0), lambda p: bool(test(p["data"]["tx_id"])))


def test_amounts_include_numeric_strings():
    found = first(payloads(WALLET, "deposit", validity=1.0), lambda p: isinstance(p["data"]["amount"], str))
    float(found["data"]["amount"])


def test_broken_payloads_mix_missing_null_and_wrong_values():
    strategy = generated_payloads(WALLET, "deposit", validity=0.0)
    for what in ("missing", "null", "wrong"):
        found = first(strategy, lambda g, what=what: any(d.what == what and d.path == ("data", "amount") for d in g.defects))
        amount = found.payload.get("data", {}).get("amount", "absent")
        assert {"missing": amount == "absent", "null": amount is None, "wrong": amount not in ("absent", None)}[what]


def test_function_arguments_suggest_value_types(tmp_path):
    path = write_mapping(
        tmp_path,
        """
        tables:
          brands: {a1: Acme, b2: Bravo}
        rules:
          - name: deposit
            when: "kind == 'dep'"
            event: ootb_deposit
            customer: player
            timestamp: parse_time(at, '%d/%m/%Y %H:%M')
            currency: "'EUR'"
            context:
              ootb_transaction_id: tx
              ootb_deposit_timestamp: from_epoch_millis(at_ms)
              ootb_deposit_amount: minor_to_major(cents, `2`)
              ootb_brand: lookup('brands', brand)
        """,
    )
    mapping = load_mapping(path)
    mapper = mapper_of(path)

    @FAST
    @given(payloads(mapping, "deposit", validity=1.0))
    def check(payload):
        datetime.strptime(payload["at"], "%d/%m/%Y %H:%M")
        assert type(payload["at_ms"]) is int and payload["at_ms"] >= 978_307_200_000  # ms since 2001
        assert int(payload["cents"]) == float(payload["cents"])
        assert payload["brand"] in ("a1", "b2")
        assert mapper.map_record(payload, now=DEFAULT_CASE_NOW).events

    check()


def test_source_schema_narrows_payloads_and_keeps_the_shape():
    schema = source_schema_of(BROKEN / "fanout_missing_array.yaml")
    strategy = generated_payloads(BROKEN / "fanout_missing_array.yaml", "order-lines", source_schema=schema)

    @FAST
    @given(strategy)
    def valid_against_schema(generated):
        jsonschema.validate(generated.payload, schema)
        assert generated.from_schema and generated.valid

    valid_against_schema()
    first(strategy, lambda g: "line_items" not in g.payload)
    first(strategy, lambda g: g.payload["topic"] == "orders/create" and len(g.payload.get("line_items", [])) >= 1)


def test_every_rule_and_arbitrary_json_without_a_rule():
    strategy = generated_payloads(WALLET)
    first(strategy, lambda g: g.rule == "withdrawal")
    first(strategy, lambda g: g.rule == "")


def test_mistakes_in_the_call_are_errors():
    with pytest.raises(UnknownNameError, match="no rule 'nope'"):
        generated_payloads(WALLET, "nope")
    with pytest.raises(ValueError, match="validity"):
        payloads(WALLET, "deposit", validity=1.5)
    with pytest.raises(TypeError):
        payloads(42)
    with pytest.raises(ValueError, match="time_form must be one of"):
        generated_payloads(WALLET, "deposit", time_form="rfc2822")
    with pytest.raises(ValueError, match="time_form must be one of"):
        generated_payloads(BROKEN / "naive_time_no_zone.yaml", "deposit", time_form=DST_EDGE)  # UTC has no DST


@settings(max_examples=20, deadline=None, database=None)
@given(st.data())
def test_payloads_accepts_a_path_a_mapping_or_a_mapper(data):
    for source in (GOOD / "wallet.yaml", WALLET, mapper_of_wallet()):
        assert isinstance(data.draw(payloads(source, "withdrawal")), (dict, list, str, int, float, bool, type(None)))
