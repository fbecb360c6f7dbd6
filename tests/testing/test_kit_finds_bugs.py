"""Proof the kit finds bugs: each deliberately broken mapping fails a property with a shrunk payload,
while correct mappings (ours and the bundled examples) pass."""

from __future__ import annotations

import re

import pytest

from ebi_mapper.testing import run_generated

from .kit_helpers import BROKEN, EXAMPLES, GOOD, mapper_of, source_schema_of

NAIVE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?")


def _payload_checks_naive_time(failure):
    assert NAIVE.fullmatch(failure.payload["data"]["processed_at"])
    assert ("data", "processed_at") not in [d.path for d in failure.defects]  # a valid time shows the bug


def _payload_checks_missing_amount(failure):
    assert [(d.path, d.what) for d in failure.defects] in ([(("data", "amount"), "missing")], [(("data", "amount"), "null")])
    assert failure.payload["data"].get("amount") is None


def _payload_checks_no_psp_reference(failure):
    assert failure.defects == ()
    assert not [r for r in failure.payload["data"]["references"] if isinstance(r, dict) and r.get("kind") == "psp"]


def _payload_checks_missing_array(failure):
    assert failure.from_schema and "line_items" not in failure.payload
    assert failure.payload["topic"] == "orders/create"


BROKEN_CASES = [
    pytest.param("naive_time_no_zone.yaml", "zone_declared", "deposit", "$.timestamp", _payload_checks_naive_time, id="timestamp-read-without-zone"),
    pytest.param("amount_default_text.yaml", "rejections_explained", "deposit", "$.context.ootb_deposit_amount", _payload_checks_missing_amount, id="amount-becomes-text"),
    pytest.param("pk_can_be_missing.yaml", "rejections_explained", "deposit", "$.context.ootb_transaction_id", _payload_checks_no_psp_reference, id="pk-can-be-missing"),
    pytest.param("fanout_missing_array.yaml", "rejections_explained", "order-lines", "each", _payload_checks_missing_array, id="fan-out-over-missing-array"),
]


@pytest.mark.parametrize("name, prop, rule, field, check_payload", BROKEN_CASES)
def test_the_kit_reports_a_broken_mapping_with_a_shrunk_example(name, prop, rule, field, check_payload):
    path = BROKEN / name
    report = run_generated(mapper_of(path), examples=60, seed=0, source_schema=source_schema_of(path))
    assert report.failures == 1
    failed = report.first_failure
    assert failed.rule == rule and failed.failure is not None
    failure = failed.failure
    assert (failure.prop, failure.rule, failure.field) == (prop, rule, field)
    check_payload(failure)
    text = report.render()
    assert "FAIL" in text and f"first failure, rule {rule!r} (shrunk)" in text and "payload: {" in text and field in text


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bugs_are_found_whatever_the_seed(seed):
    for name in ("amount_default_text.yaml", "pk_can_be_missing.yaml", "naive_time_no_zone.yaml"):
        assert run_generated(mapper_of(BROKEN / name), examples=60, seed=seed).failures == 1, name


def test_a_naive_time_is_found_even_when_no_random_payload_carries_one():
    # One random payload (the simplest: an ISO time with Z) cannot show the bug, and Hypothesis
    # favours that form; the time-form sweep must meet a naive time in a valid payload anyway.
    report = run_generated(mapper_of(BROKEN / "naive_time_no_zone.yaml"), examples=1, seed=0)
    assert report.failures == 1
    failure = report.first_failure.failure
    assert (failure.prop, failure.rule, failure.field) == ("zone_declared", "deposit", "$.timestamp")
    _payload_checks_naive_time(failure)
    assert failure.defects == ()


def test_a_declared_zone_passes_the_time_form_sweep(tmp_path):
    fixed = (BROKEN / "naive_time_no_zone.yaml").read_text().replace("site_currency: EUR\n", "site_currency: EUR\nsource_timezone: Europe/Malta\n")
    (tmp_path / "fixed.yaml").write_text(fixed)
    report = run_generated(mapper_of(tmp_path / "fixed.yaml"), examples=1, seed=0)
    assert report.failures == 0, report.render()
    assert report.rules[0].examples >= 1 + 2 * 14  # one random payload, then two per time form (DST edges too)


@pytest.mark.parametrize("name", ["wallet.yaml", "orders.yaml"])
def test_correct_mappings_pass(name):
    report = run_generated(mapper_of(GOOD / name), examples=60, seed=0)
    assert report.failures == 0, report.render()
    assert all(r.examples >= 1 for r in report.rules)


def test_the_guarded_fan_out_passes_the_same_source_schema():
    schema = source_schema_of(BROKEN / "fanout_missing_array.yaml")
    report = run_generated(mapper_of(GOOD / "orders.yaml"), examples=60, seed=0, source_schema=schema)
    assert report.failures == 0, report.render()


EXAMPLE_MAPPINGS = sorted(p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".tests.yaml"))


@pytest.mark.skipif(not EXAMPLE_MAPPINGS, reason="no example mappings yet")
@pytest.mark.parametrize("path", EXAMPLE_MAPPINGS, ids=lambda p: p.stem)
def test_example_mappings_pass_the_kit(path):
    report = run_generated(mapper_of(path), examples=15, seed=0)
    assert report.failures == 0, report.render()
