"""Shared helpers: write a small mapping to tmp_path and compile it."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ebi_mapper import compile_mapping, load_mapping

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)

BASE = """
ebi_mapping: 1
client: test-casino
vertical: casino
tenant: 567
site_currency: EUR
go_live: "2026-12-01T00:00:00Z"
source_timezone: Europe/Malta
"""

DEPOSIT_RULE = """
  - name: deposit
    when: "type == 'wallet.deposit'"
    event: ootb_deposit
    customer: data.player_id
    timestamp: data.processed_at
    currency: data.currency
    context:
      ootb_transaction_id: data.tx_id
      ootb_deposit_timestamp: data.processed_at
      ootb_deposit_amount: data.amount
      ootb_deposit_method: data.method
      ootb_deposit_status: {value: completed}
"""


@pytest.fixture
def make_mapper(tmp_path: Path):
    """``make_mapper(rules_yaml, extra_top_level_yaml="")`` → a compiled Mapper."""

    def make(rules: str, extra: str = "", *, name: str = "m.yaml"):
        text = BASE + textwrap.dedent(extra) + "rules:\n" + textwrap.dedent(rules).replace("\n", "\n", -1)
        path = tmp_path / name
        path.write_text(text)
        return compile_mapping(load_mapping(path))

    return make


def deposit_payload(**data):
    base = {
        "player_id": 42,
        "processed_at": "2026-12-10T10:00:00Z",
        "currency": "EUR",
        "tx_id": "tx-1",
        "amount": "25.50",
        "method": "card",
    }
    base.update(data)
    return {"type": "wallet.deposit", "data": {k: v for k, v in base.items() if v is not ...}}
