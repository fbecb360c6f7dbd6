"""``fail(reason)``: a mapping rejects a record on its own condition, with its reason, on both paths.

Issue #11 item 12b asks for a way to reject a record on a condition; ``fail`` is a function, so it
works in every expression of a rule, and lint refuses a bare ``fail(...)`` that would reject all.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import pytest

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.lint import lint_path

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=timezone.utc)
BASE = """
ebi_mapping: 1
client: test-casino
vertical: casino
tenant: 567
site_currency: EUR
source_timezone: Europe/Malta
"""


def deposit_payload(amount):
    data = {"player_id": 42, "processed_at": "2026-12-10T10:00:00Z", "currency": "EUR", "tx_id": "tx-1", "amount": amount}
    return {"type": "wallet.deposit", "data": data}

RULE = """
  - name: deposit
    when: "type == 'wallet.deposit'"
    event: ootb_deposit
    customer: data.player_id
    timestamp: data.processed_at
    currency: data.currency
    context:
      ootb_transaction_id: data.tx_id
      ootb_deposit_timestamp: data.processed_at
      ootb_deposit_amount: "to_number(data.amount) < `0` && fail('a deposit cannot be negative') || data.amount"
"""


@pytest.fixture
def mapping_file(tmp_path):
    def write(rule: str):
        path = tmp_path / "m.yaml"
        path.write_text(BASE + "rules:\n" + textwrap.dedent(rule))
        return path

    return write


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_fail_rejects_the_record_with_the_mappings_reason(mapping_file, fast):
    mapper = compile_mapping(load_mapping(mapping_file(RULE)), fast=fast)
    result = mapper.map_record(deposit_payload(amount="-5"), source="in:1", now=NOW)
    [rejection] = result.rejections
    assert rejection.code == "expression_error" and rejection.field == "$.context.ootb_deposit_amount"
    assert "fail(): a deposit cannot be negative" in rejection.message and not result.events
    ok = mapper.map_record(deposit_payload(amount="5"), source="in:2", now=NOW)
    assert not ok.rejections and ok.events[0].context["ootb_deposit_amount"] == 5


def test_lint_refuses_a_bare_fail(mapping_file):
    path = mapping_file(RULE.replace('''"to_number(data.amount) < `0` && fail('a deposit cannot be negative') || data.amount"''', "fail('always')"))
    codes = [f.code for f in lint_path(path).findings]
    assert "unconditional-fail" in codes
    assert "unconditional-fail" not in [f.code for f in lint_path(mapping_file(RULE)).findings]
