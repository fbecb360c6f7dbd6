"""The ready-made properties: each holds for a correct mapping and fails, readably, when broken."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from ebi_mapper.outcomes import RecordResult
from ebi_mapper.testing import (
    GeneratedPayload,
    PropertyFailure,
    check_accounted,
    check_all,
    check_deterministic,
    check_events_valid,
    check_never_raises,
    check_pk_present,
    check_rejections_explained,
    check_rejections_named,
    check_timestamps_utc,
    check_zone_declared,
    generated_payloads,
)
from ebi_mapper.testing.strategies import Defect

from .kit_helpers import GOOD, HEADER, mapper_of, write_mapping

WALLET = mapper_of(GOOD / "wallet.yaml")
DEPOSIT = {"type": "wallet.deposit", "data": {"status": "approved", "player_id": 42, "processed_at": "2026-12-10 11:00:00", "currency": "EUR", "tx_id": "t1", "amount": "25.50"}}

ALL_CHECKS = [
    check_never_raises,
    check_events_valid,
    check_timestamps_utc,
    check_zone_declared,
    check_pk_present,
    check_deterministic,
    check_accounted,
    check_rejections_named,
    check_rejections_explained,
    check_all,
]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("payload", [DEPOSIT, {"type": "other"}, [1, 2], None, "text"], ids=["deposit", "no-rule", "array", "null", "string"])
def test_every_property_holds_for_a_correct_mapping(check, payload):
    result = check(WALLET, payload)
    assert isinstance(result, RecordResult)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(generated=generated_payloads(WALLET.mapping))
def test_check_all_holds_for_generated_payloads_of_a_correct_mapping(generated):
    check_all(WALLET, generated)


def test_a_rejection_of_a_valid_payload_is_reported_with_rule_field_and_payload():
    payload = {**DEPOSIT, "data": {**DEPOSIT["data"], "amount": "12,50"}}
    check_rejections_explained(WALLET, GeneratedPayload(payload, "deposit", (Defect(("data", "amount"), "wrong"),)))
    with pytest.raises(PropertyFailure) as caught:
        check_rejections_explained(WALLET, GeneratedPayload(payload, "deposit", ()))
    failure = caught.value
    assert isinstance(failure, AssertionError)
    assert (failure.prop, failure.rule, failure.field) == ("rejections_explained", "deposit", "$.context.ootb_deposit_amount")
    text = str(failure)
    assert "rule 'deposit'" in text and "field $.context.ootb_deposit_amount" in text and '"amount": "12,50"' in text and '"code": "coerce_failed"' in text


@pytest.mark.parametrize(
    "spot, what, explained",
    [
        (("data", "tx_id"), "missing", True),  # a missing primary key deserves the rejection
        (("data", "tx_id"), "null", True),
        (("data", "amount"), "wrong", True),
        (("data", "method"), "wrong", False),  # `method || 'unknown'` copes with anything: not the cause
    ],
    ids=lambda x: "-".join(x) if isinstance(x, tuple) else str(x),
)
def test_rejections_are_explained_only_by_the_broken_spots_that_cause_them(spot, what, explained):
    data = dict(DEPOSIT["data"])
    if spot == ("data", "tx_id"):
        data.pop("tx_id") if what == "missing" else data.update(tx_id=None)
    else:
        data["amount"] = "abc"
    generated = GeneratedPayload({**DEPOSIT, "data": data}, "deposit", (Defect(spot, what),))
    if explained:
        check_rejections_explained(WALLET, generated)
    else:
        with pytest.raises(PropertyFailure, match="rejections_explained"):
            check_rejections_explained(WALLET, generated)


def test_a_plain_payload_is_not_judged_for_explained_rejections():
    check_rejections_explained(WALLET, {**DEPOSIT, "data": {**DEPOSIT["data"], "amount": "12,50"}})


def test_zone_declared_fails_only_without_source_timezone(tmp_path):
    body = """
    rules:
      - name: deposit
        when: "type == 'wallet.deposit'"
        event: ootb_deposit
        customer: data.player_id
        timestamp: data.processed_at
        context:
          ootb_transaction_id: data.tx_id
          ootb_deposit_timestamp: data.processed_at
    """
    no_zone = mapper_of(write_mapping(tmp_path, body, header=HEADER.replace("source_timezone: Europe/Malta\n", ""), name="a.yaml"))
    with_zone = mapper_of(write_mapping(tmp_path, body, name="b.yaml"))
    naive = {"type": "wallet.deposit", "data": {"player_id": 1, "processed_at": "2026-12-10 11:00:00", "tx_id": "t"}}
    aware = {"type": "wallet.deposit", "data": {"player_id": 1, "processed_at": "2026-12-10T11:00:00+01:00", "tx_id": "t"}}
    with pytest.raises(PropertyFailure, match="sets no source_timezone") as caught:
        check_zone_declared(no_zone, naive)
    assert caught.value.field == "$.timestamp"
    check_zone_declared(no_zone, aware)
    check_zone_declared(with_zone, naive)


PLUGIN = '''
import itertools
from ebi_mapper import EnricherDef, GuardDef, Rejection, hookimpl

_counter = itertools.count()


def _flaky(options, mapping):
    return lambda event, ctx: {"ootb_brand": f"brand-{next(_counter)}"}


def _anonymous(options, mapping):
    return lambda event, ctx: [Rejection("custom", "a guard that names nothing")]


@hookimpl
def register_enrichers(register):
    register(EnricherDef("flaky", _flaky))


@hookimpl
def register_guards(register):
    register(GuardDef("anonymous", _anonymous, default_on=False))
'''

PLUGIN_RULES = """
rules:
  - name: deposit
    when: "type == 'wallet.deposit'"
    event: ootb_deposit
    customer: data.player_id
    timestamp: data.processed_at
    context:
      ootb_transaction_id: data.tx_id
      ootb_deposit_timestamp: data.processed_at
"""


@pytest.mark.parametrize(
    "extra, check, prop",
    [
        ("enrichers: [{name: flaky}]\n", check_deterministic, "deterministic"),
        ("guards: {anonymous: {}}\n", check_rejections_named, "rejections_named"),
    ],
    ids=["non-deterministic-enricher", "guard-rejection-without-field"],
)
def test_properties_catch_misbehaving_plugins(tmp_path, extra, check, prop):
    (tmp_path / "misbehaving.py").write_text(PLUGIN)
    path = write_mapping(tmp_path, "plugins: [misbehaving.py]\n" + extra + PLUGIN_RULES)
    mapper = mapper_of(path)
    payload = {"type": "wallet.deposit", "data": {"player_id": 1, "processed_at": "2026-12-10T10:00:00Z", "tx_id": "t"}}
    with pytest.raises(PropertyFailure) as caught:
        check(mapper, payload)
    assert caught.value.prop == prop
    with pytest.raises(PropertyFailure):
        check_all(mapper, payload)
