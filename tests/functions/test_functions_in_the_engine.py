"""Through the engine: an unusable value in a computed optional field rejects the event (issue 3).

Before, the function answered null, the engine read that as "produced nothing", and the event
went out without the field: bad data hidden. Now the function raises ``FunctionValueError``, a
``JMESPathError``, which the engine reports as an ``expression_error`` naming field, expression
and value, while a *missing* source field still just leaves the optional param out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ebi_mapper import compile_mapping, load_mapping

NOW = datetime(2027, 1, 1, tzinfo=UTC)

MAPPING = """\
ebi_mapping: 1
client: unit-test
vertical: casino
tenant: 1
site_currency: EUR
source_timezone: Europe/Malta
nulls: drop
rules:
  - name: deposit
    when: "type == 'deposit'"
    event: ootb_deposit
    customer: player
    timestamp: at
    currency: currency
    context:
      ootb_transaction_id: tx
      ootb_deposit_timestamp: to_utc(at, zone)
      ootb_deposit_amount: minor_to_major(amount_minor, `2`)
      ootb_start_balance: minor_to_major(balance_minor, `2`)
      ootb_deposit_method: "yes_no(card) == 'Yes' && 'card' || null"
"""

BASE = {"type": "deposit", "player": 7, "tx": "t-1", "at": "2026-07-15 12:00:00", "currency": "EUR",
        "amount_minor": 1234}


@pytest.fixture(scope="module")
def mapper(tmp_path_factory):
    path = tmp_path_factory.mktemp("mapping") / "deposit.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return compile_mapping(load_mapping(path))


def test_a_usable_value_maps(mapper):
    result = mapper.map_record({**BASE, "balance_minor": "5000"}, now=NOW)
    assert not result.rejections, result.rejections
    (event,) = result.events
    assert event.context["ootb_start_balance"] == 50
    assert event.context["ootb_deposit_amount"] == 12.34


def test_a_missing_optional_source_field_still_leaves_the_param_out(mapper):
    result = mapper.map_record(BASE, now=NOW)
    assert not result.rejections, result.rejections
    (event,) = result.events
    assert "ootb_start_balance" not in event.context


@pytest.mark.parametrize(
    ("extra", "field", "expression", "in_message"),
    [
        ({"balance_minor": "twenty"}, "$.context.ootb_start_balance", "minor_to_major(balance_minor, `2`)",
         "minor_to_major(): 'twenty' is not a number"),
        ({"zone": "Nowhere/Land"}, "$.context.ootb_deposit_timestamp", "to_utc(at, zone)",
         "to_utc(): unknown time zone 'Nowhere/Land'"),
        ({"card": "maybe"}, "$.context.ootb_deposit_method", "yes_no(card) == 'Yes' && 'card' || null",
         "yes_no(): 'maybe' is not a yes/no value"),
    ],
    ids=["minor_to_major", "to_utc-zone", "yes_no"],
)
def test_an_unusable_value_in_an_optional_field_rejects_the_event(mapper, extra, field, expression, in_message):
    result = mapper.map_record({**BASE, **extra}, now=NOW)
    assert result.events == []
    (rejection,) = result.rejections
    assert (rejection.code, rejection.rule, rejection.field, rejection.expression) == (
        "expression_error", "deposit", field, expression)
    assert in_message in rejection.message


# --- issue 15: messages speak JSON, and lazy forms skip what they do not choose ----------------

ISSUE15 = MAPPING.replace(
    "      ootb_deposit_method: \"yes_no(card) == 'Yes' && 'card' || null\"\n",
    "      ootb_deposit_method: \"to_string(abs(method_code))\"\n"
    "      ootb_brand: \"to_string(coalesce(bonus, divide(`1`, zero)))\"\n",
)


@pytest.fixture(scope="module", params=[True, False], ids=["fast", "reference"])
def issue15_mapper(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("mapping") / "deposit15.yaml"
    path.write_text(ISSUE15, encoding="utf-8")
    return compile_mapping(load_mapping(path), fast=request.param)


def test_a_type_error_is_told_in_json_terms_on_both_paths(issue15_mapper):
    result = issue15_mapper.map_record({**BASE, "method_code": None, "bonus": 1}, now=NOW)
    (rejection,) = result.rejections
    assert rejection.code == "expression_error"
    assert rejection.message == (
        "ootb_deposit_method: In function abs(), invalid type for value null: expected number, received null"
    )


def test_a_lazy_fallback_that_would_fail_is_never_evaluated_on_both_paths(issue15_mapper):
    result = issue15_mapper.map_record({**BASE, "method_code": -3, "bonus": 5, "zero": 0}, now=NOW)
    assert not result.rejections, result.rejections
    assert result.events[0].context["ootb_brand"] == "5"
    failing = issue15_mapper.map_record({**BASE, "method_code": -3, "zero": 0}, now=NOW)
    assert [r.message for r in failing.rejections] == ["ootb_brand: divide(): division by zero (1 / 0)"]
