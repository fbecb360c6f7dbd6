"""The engine end to end on small mappings: events, rejections as data, filters, fan-out, nulls."""

from __future__ import annotations

import pytest

from ebi_mapper.engine import Trace

from .conftest import DEPOSIT_RULE, NOW, deposit_payload


def test_deposit_becomes_an_ootb_event(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(), now=NOW)
    assert not result.rejections
    assert [e.to_dict() for e in result.events] == [
        {
            "tenant": 567,
            "event": "ootb_deposit",
            "customer": "42",
            "timestamp": "2026-12-10 10:00:00.000000 UTC",
            "context": {
                "ootb_transaction_id": "tx-1",
                "ootb_deposit_timestamp": "2026-12-10T10:00:00.000000Z",
                "ootb_deposit_amount": 25.5,
                "ootb_deposit_method": "card",
                "ootb_deposit_status": "completed",
            },
        }
    ]
    event = result.events[0]
    assert event.rule == "deposit"
    # PK in catalog order: customer, ootb_transaction_id, timestamp
    assert set(event.pk) == {"42", "tx-1", "2026-12-10 10:00:00.000000 UTC"}
    assert result.outcome == "mapped"


def test_naive_local_time_is_read_in_the_source_timezone(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(processed_at="2026-12-10 11:00:00"), now=NOW)
    # Malta is UTC+1 in winter
    assert result.events[0].timestamp == "2026-12-10 10:00:00.000000 UTC"
    assert result.events[0].context["ootb_deposit_timestamp"] == "2026-12-10T10:00:00.000000Z"


def test_epoch_millis_timestamp(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(processed_at=1797069600000), now=NOW)
    assert result.events[0].timestamp == "2026-12-12 10:00:00.000000 UTC"


def test_missing_mandatory_param_rejects_with_field_and_expression(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(tx_id=...), now=NOW)
    assert not result.events
    [rej] = result.rejections
    assert rej.code == "missing_mandatory"
    assert rej.field == "$.context.ootb_transaction_id"
    assert rej.expression == "data.tx_id"
    assert rej.rule == "deposit" and rej.event == "ootb_deposit"
    assert result.outcome == "rejected"


def test_null_mandatory_param_rejects(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(tx_id=None), now=NOW)
    assert [r.code for r in result.rejections] == ["null_mandatory"]


def test_value_that_cannot_be_coerced_names_param_expression_and_value(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(amount="twelve"), now=NOW)
    [rej] = result.rejections
    assert (rej.code, rej.field, rej.expression, rej.value) == ("coerce_failed", "$.context.ootb_deposit_amount", "data.amount", "twelve")
    assert "ootb_deposit_amount" in rej.message


def test_money_is_rounded_to_four_places(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(amount="10.123456"), now=NOW)
    assert result.events[0].context["ootb_deposit_amount"] == 10.1235


def test_missing_enrichment_param_is_left_out(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(method=...), now=NOW)
    assert "ootb_deposit_method" not in result.events[0].context
    assert result.nulls_dropped == 0


@pytest.mark.parametrize(
    "policy, expect_key, expect_dropped, expect_code",
    [("drop", False, 1, None), ("keep", True, 0, None), ("reject", False, 0, "null_value")],
    ids=["drop", "keep", "reject"],
)
def test_null_policy_for_enrichment_params(make_mapper, policy, expect_key, expect_dropped, expect_code):
    mapper = make_mapper(DEPOSIT_RULE, extra=f"nulls: {policy}\n")
    result = mapper.map_record(deposit_payload(method=None), now=NOW)
    assert result.nulls_dropped == expect_dropped
    if expect_code:
        assert [r.code for r in result.rejections] == [expect_code]
    else:
        assert ("ootb_deposit_method" in result.events[0].context) is expect_key
        if expect_key:
            assert result.events[0].context["ootb_deposit_method"] is None


def test_per_field_keep_sends_a_null_on_purpose(make_mapper):
    rules = """
    - name: profile
      when: "type == 'player.updated'"
      event: ootb_user_details_update
      customer: data.player_id
      timestamp: data.at
      context:
        ootb_first_name: {expr: data.first_name, nulls: keep}
        ootb_last_name: data.last_name
    """
    mapper = make_mapper(rules)
    payload = {"type": "player.updated", "data": {"player_id": "p1", "at": "2026-12-10T10:00:00Z", "first_name": None, "last_name": None}}
    result = mapper.map_record(payload, now=NOW)
    context = result.events[0].context
    assert context == {"ootb_first_name": None}  # first name cleared on purpose, last name null dropped
    assert result.nulls_dropped == 1
    # an absent key is not a null: nothing is sent, nothing cleared
    payload["data"].pop("first_name")
    assert mapper.map_record(payload, now=NOW).events[0].context == {}


def test_default_fills_missing_and_null(make_mapper):
    rule = DEPOSIT_RULE.replace("ootb_deposit_method: data.method", "ootb_deposit_method: {expr: data.method, default: unknown}")
    mapper = make_mapper(rule)
    for method in (..., None):
        assert mapper.map_record(deposit_payload(method=method), now=NOW).events[0].context["ootb_deposit_method"] == "unknown"


def test_payload_matching_no_rule_is_filtered(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record({"type": "something.else"}, now=NOW)
    assert [f.reason for f in result.filtered] == ["no_rule"]
    assert result.outcome == "filtered"


@pytest.mark.parametrize("payload", [None, 1, "x", [], [1, 2], {"type": 5}, {"type": "wallet.deposit"}, {"type": "wallet.deposit", "data": []}], ids=repr)
def test_any_json_is_accounted_for_without_raising(make_mapper, payload):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(payload, now=NOW)
    assert result.events or result.rejections or result.filtered


def test_event_before_go_live_is_filtered_not_rejected(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(processed_at="2026-11-30T23:59:59Z", amount="bad"), now=NOW)
    # coercion happens first, so a bad amount still rejects; a good pre-go-live event is filtered
    assert [r.code for r in result.rejections] == ["coerce_failed"]
    result = mapper.map_record(deposit_payload(processed_at="2026-11-30T23:59:59Z"), now=NOW)
    assert [f.reason for f in result.filtered] == ["pre_go_live"] and not result.events


def test_every_matching_rule_produces(make_mapper):
    rules = DEPOSIT_RULE + """
  - name: deposit-as-profile
    when: "type == 'wallet.deposit'"
    event: ootb_user_details_update
    customer: data.player_id
    timestamp: data.processed_at
    context:
      ootb_currency: data.currency
"""
    mapper = make_mapper(rules)
    result = mapper.map_record(deposit_payload(), now=NOW)
    assert [e.event for e in result.events] == ["ootb_deposit", "ootb_user_details_update"]


ORDER_RULES = """
  - name: order-lines
    when: "topic == 'orders/create'"
    each: line_items
    event: ootb_product_order_completed
    customer: to_string(root.customer.id)
    timestamp: root.created_at
    currency: root.currency
    context:
      ootb_order_id: to_string(root.id)
      ootb_item_order_id: to_string(item.id)
      ootb_product_id: to_string(item.product_id)
      ootb_item_price: item.price
      ootb_quantity: item.quantity
"""

ECOM = """
ebi_mapping: 1
client: shop
vertical: ecom
tenant: 9
site_currency: USD
rules:
""" + ORDER_RULES


def _ecom_mapper(tmp_path):
    from ebi_mapper import compile_mapping, load_mapping

    path = tmp_path / "shop.yaml"
    path.write_text(ECOM)
    return compile_mapping(load_mapping(path))


def test_each_fans_out_one_event_per_element_with_item_root_index(tmp_path):
    mapper = _ecom_mapper(tmp_path)
    order = {
        "topic": "orders/create",
        "id": 1001,
        "created_at": "2026-12-10T10:00:00-05:00",
        "currency": "USD",
        "customer": {"id": 77},
        "line_items": [{"id": 1, "product_id": 10, "price": "9.99", "quantity": 2}, {"id": 2, "product_id": 11, "price": 5, "quantity": 1}],
    }
    result = mapper.map_record(order, now=NOW)
    assert not result.rejections
    assert [(e.customer, e.timestamp, e.context["ootb_item_order_id"], e.context["ootb_item_price"]) for e in result.events] == [
        ("77", "2026-12-10 15:00:00.000000 UTC", "1", 9.99),
        ("77", "2026-12-10 15:00:00.000000 UTC", "2", 5),
    ]


def test_each_over_missing_array_rejects_and_empty_array_filters(tmp_path):
    mapper = _ecom_mapper(tmp_path)
    order = {"topic": "orders/create", "id": 1, "created_at": "2026-12-10T10:00:00Z", "currency": "USD", "customer": {"id": 7}}
    [rej] = mapper.map_record(order, now=NOW).rejections
    assert rej.code == "each_not_array" and rej.expression == "line_items"
    order["line_items"] = []
    result = mapper.map_record(order, now=NOW)
    assert [f.reason for f in result.filtered] == ["empty_each"] and not result.rejections


def test_one_bad_line_item_rejects_only_that_event(tmp_path):
    mapper = _ecom_mapper(tmp_path)
    order = {
        "topic": "orders/create", "id": 1, "created_at": "2026-12-10T10:00:00Z", "currency": "USD", "customer": {"id": 7},
        "line_items": [{"id": 1, "product_id": 10, "price": 1, "quantity": 1}, {"id": 2, "product_id": 11, "price": "n/a", "quantity": 1}],
    }
    result = mapper.map_record(order, now=NOW)
    assert len(result.events) == 1 and [r.code for r in result.rejections] == ["coerce_failed"]
    assert result.outcome == "rejected"


def test_expression_runtime_error_is_a_rejection(make_mapper):
    rule = DEPOSIT_RULE.replace("ootb_deposit_method: data.method", "ootb_deposit_method: join(', ', data.method)")
    mapper = make_mapper(rule)
    result = mapper.map_record(deposit_payload(method="card"), now=NOW)
    [rej] = result.rejections
    assert rej.code == "expression_error" and rej.field == "$.context.ootb_deposit_method"


def test_missing_customer_and_timestamp_are_rejected_never_invented(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(player_id=..., processed_at=...), now=NOW)
    codes = {r.code for r in result.rejections}
    assert {"missing_customer", "missing_timestamp"} <= codes


def test_bespoke_rules_route_custom_attributes_apart(make_mapper):
    extra = """
bespoke:
  route: data_studio
  rules:
    - when: "type == 'player.updated'"
      customer: data.player_id
      timestamp: data.at
      attributes:
        vip_tier: data.vip.tier
"""
    mapper = make_mapper(DEPOSIT_RULE, extra=extra)
    result = mapper.map_record({"type": "player.updated", "data": {"player_id": 5, "at": "2026-12-10T10:00:00Z", "vip": {"tier": "gold"}}}, now=NOW)
    assert not result.events
    assert [b.to_dict() for b in result.bespoke] == [{"customer": "5", "timestamp": "2026-12-10T10:00:00.000000Z", "attributes": {"vip_tier": "gold"}, "rule": "bespoke-1"}]


def test_explain_trace_records_expression_raw_and_coerced_values(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    trace = Trace()
    mapper.map_record(deposit_payload(amount="7.5"), now=NOW, trace=trace)
    steps = {(s.kind, s.name): s for s in trace.for_rule("deposit")}
    assert steps[("field", "ootb_deposit_amount")].expression == "data.amount"
    assert steps[("field", "ootb_deposit_amount")].value == "7.5"
    assert steps[("coerced", "ootb_deposit_amount")].value == 7.5
    assert steps[("when", "when")].value is True


def test_dispatch_by_discriminator_gives_the_same_results_as_trying_every_rule(make_mapper):
    rules = DEPOSIT_RULE + DEPOSIT_RULE.replace("name: deposit", "name: deposit2").replace("wallet.deposit", "wallet.deposit2")
    mapper = make_mapper(rules)
    assert mapper._dispatch is not None and mapper._dispatch.path == ("type",)
    payloads = [deposit_payload(), {**deposit_payload(), "type": "wallet.deposit2"}, {"type": 3}, {"type": "nope"}, None]
    fast = [mapper.map_record(p, now=NOW) for p in payloads]
    dispatch, mapper._dispatch = mapper._dispatch, None
    slow = [mapper.map_record(p, now=NOW) for p in payloads]
    mapper._dispatch = dispatch
    assert fast == slow
