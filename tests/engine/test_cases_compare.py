"""Example cases compare JSON values: numbers by value (3 equals 3.0), booleans apart from numbers."""

from __future__ import annotations

import pytest

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.engine.cases import run_cases, same_json

from .conftest import BASE, DEPOSIT_RULE

CASE = "rules:\n" + DEPOSIT_RULE + """
tests:
  - name: amounts
    payload: {type: wallet.deposit, data: {player_id: 42, processed_at: "2026-12-10T10:00:00Z", currency: EUR, tx_id: t1, amount: SENT, method: card}}
    expect:
      events:
        - tenant: 567
          event: ootb_deposit
          customer: "42"
          timestamp: "2026-12-10 10:00:00.000000 UTC"
          context: {ootb_transaction_id: t1, ootb_deposit_timestamp: "2026-12-10T10:00:00.000000Z", ootb_deposit_amount: WANT,
                    ootb_deposit_method: card, ootb_deposit_status: completed}
"""


@pytest.mark.parametrize(("sent", "want", "passes"), [("3", "3.0", True), ("3.0", "3", True), ("3.5", "3", False), ("'3.50'", "3.5", True)])
def test_cases_compare_numbers_by_value(tmp_path, sent, want, passes):
    path = tmp_path / "m.yaml"
    path.write_text(BASE + CASE.replace("SENT", sent).replace("WANT", want))
    [result] = run_cases(compile_mapping(load_mapping(path)))
    assert result.passed is passes, result.diff
    if not passes:  # the diff shows the number that differs, not 3 against 3.0
        assert "3.5" in result.diff


@pytest.mark.parametrize(("a", "b", "equal"), [
    (3, 3.0, True), ({"x": [1, 2.0]}, {"x": [1.0, 2]}, True), (True, 1, False), (False, 0, False),
    ({"x": True}, {"x": 1}, False), ("3", 3, False), (None, 0, False), ({"a": 1}, {"a": 1, "b": 2}, False),
])
def test_same_json(a, b, equal):
    assert same_json(a, b) is equal and same_json(b, a) is equal
