"""The bundled catalog: events, params, PKs, classes, types, verticals, rate classes, names."""

from __future__ import annotations

import dataclasses

import pytest

import ebi_mapper.catalog as catalog_pkg
from ebi_mapper.catalog import Catalog, EventDef, Param, RateClass, Vertical, load_catalog, nearest_names
from ebi_mapper.errors import UnknownNameError

PARAM_COUNTS = {
    "ootb_registration": 28,
    "ootb_user_details_update": 28,
    "ootb_deposit": 12,
    "ootb_withdrawal": 12,
    "ootb_game_session": 22,
    "ootb_sports_bet_placed": 36,
    "ootb_sports_bet_settled": 39,
    "ootb_sweepstakes_game_session": 26,
    "ootb_product_order_completed": 25,
    "ootb_product_refund": 13,
}

PRIMARY_KEYS = {
    "ootb_registration": ("customer",),
    "ootb_user_details_update": ("customer",),
    "ootb_deposit": ("customer", "ootb_transaction_id", "timestamp"),
    "ootb_withdrawal": ("customer", "ootb_transaction_id", "timestamp"),
    "ootb_game_session": ("customer", "timestamp", "ootb_game_code"),
    "ootb_sports_bet_placed": ("customer", "timestamp", "ootb_betslip_key", "ootb_bet_key"),
    "ootb_sports_bet_settled": ("customer", "timestamp", "ootb_betslip_key", "ootb_bet_key"),
    "ootb_sweepstakes_game_session": ("customer", "timestamp", "ootb_game_code"),
    "ootb_product_order_completed": ("customer", "timestamp", "ootb_order_id", "ootb_item_order_id", "ootb_product_id"),
    "ootb_product_refund": ("customer", "timestamp", "ootb_order_id", "ootb_item_order_id", "ootb_product_id", "ootb_refund_id"),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_public_api_is_complete():
    expected = {"Catalog", "EventDef", "Param", "ParamClass", "ParamType", "RateClass", "Vertical", "load_catalog", "make_catalog", "nearest_names"}
    assert set(catalog_pkg.__all__) == expected
    assert all(hasattr(catalog_pkg, name) for name in expected)


def test_load_catalog_is_cached_and_typed(catalog):
    assert load_catalog() is catalog
    assert all(isinstance(e, EventDef) for e in catalog.events.values())
    assert all(isinstance(p, Param) for e in catalog.events.values() for p in e.params.values())
    assert all(isinstance(v, Vertical) for v in catalog.verticals.values())
    assert all(isinstance(r, RateClass) for r in catalog.rate_classes.values())


def test_ten_events_in_lifecycle_order(catalog):
    assert list(catalog.events) == list(PARAM_COUNTS)


@pytest.mark.parametrize("event,count", PARAM_COUNTS.items(), ids=list(PARAM_COUNTS))
def test_param_count(catalog, event, count):
    assert len(catalog.events[event].params) == count


def test_param_counts_match_the_reference(catalog, reference):
    per_event = reference["meta"]["counts"]["per_event"]
    assert {k: v["total"] for k, v in per_event.items()} == {k: len(e.params) for k, e in catalog.events.items()}
    assert sum(len(e.params) for e in catalog.events.values()) == reference["meta"]["counts"]["context_parameters_total"]


@pytest.mark.parametrize("event,pk", PRIMARY_KEYS.items(), ids=list(PRIMARY_KEYS))
def test_primary_key(catalog, event, pk):
    ev = catalog.events[event]
    assert ev.primary_key == pk
    context_pk = [k for k in pk if k not in ("customer", "timestamp")]
    assert [p.key for p in ev.params.values() if p.primary_key] == context_pk
    # PK params come first, and every one of them is mandatory (choice primary_key_params_mandatory)
    assert list(ev.params)[: len(context_pk)] == context_pk
    assert all(ev.params[k].cls == "mandatory" for k in context_pk)


def test_refund_pk_params_marked_optional_on_the_page_are_mandatory(catalog):
    refund = catalog.events["ootb_product_refund"]
    assert refund.params["ootb_item_order_id"].cls == "mandatory"
    assert refund.params["ootb_refund_id"].cls == "mandatory"
    assert refund.params["ootb_variant_id"].cls == "optional"  # page asterisk, class unknown


def test_rate_classes(catalog):
    profile = catalog.rate_class_of("ootb_registration")
    assert profile == catalog.rate_class_of("ootb_user_details_update")
    assert (profile.name, profile.requests, profile.per_seconds) == ("profile", 50, 10.0)
    assert set(profile.events) == {"ootb_registration", "ootb_user_details_update"}
    for event in set(catalog.events) - set(profile.events):
        rc = catalog.rate_class_of(event)
        assert (rc.name, rc.requests, rc.per_seconds) == ("default", 10_000, 1.0)
    assert {rc.max_events_per_request for rc in catalog.rate_classes.values()} == {10}


def test_verticals(catalog):
    assert list(catalog.verticals) == ["multi_sport_casino", "sport", "casino", "sweepstakes", "ecom"]
    v = {name: set(vert.events) for name, vert in catalog.verticals.items()}
    profile = {"ootb_registration", "ootb_user_details_update"}
    money = {"ootb_deposit", "ootb_withdrawal"}
    bets = {"ootb_sports_bet_placed", "ootb_sports_bet_settled"}
    assert v["sport"] == profile | money | bets
    assert v["casino"] == profile | money | {"ootb_game_session"}
    assert v["multi_sport_casino"] == v["sport"] | v["casino"]
    assert v["sweepstakes"] == profile | money | {"ootb_sweepstakes_game_session"}
    assert v["ecom"] == profile | {"ootb_product_order_completed", "ootb_product_refund"}


@pytest.mark.parametrize("event", ["ootb_registration", "ootb_user_details_update"])
def test_channel_params(catalog, event):
    channel = {p.key: p.channels for p in catalog.events[event].params_of_class("channel")}
    assert channel == {
        "ootb_email": ("email",),
        "ootb_allow_email": ("email",),
        "ootb_mobile_number": ("sms", "whatsapp"),
        "ootb_allow_sms": ("sms",),
        "ootb_allow_push": ("push",),
        "ootb_allow_whatsapp": ("whatsapp",),
    }


def test_only_channel_params_have_channels(catalog):
    for ev in catalog.events.values():
        for p in ev.params.values():
            assert bool(p.channels) == (p.cls == "channel"), (ev.key, p.key)


@pytest.mark.parametrize(
    "event,param,type_",
    [
        ("ootb_registration", "ootb_allow_email", "yes_no"),
        ("ootb_registration", "ootb_is_email_verified", "yes_no"),
        ("ootb_user_details_update", "ootb_allow_sms", "yes_no"),
        ("ootb_user_details_update", "ootb_is_email_verified", "boolean"),
        ("ootb_user_details_update", "ootb_is_test", "boolean"),
        ("ootb_sports_bet_placed", "ootb_is_free", "boolean"),
        ("ootb_sports_bet_placed", "ootb_each_way", "yes_no"),
        ("ootb_sports_bet_settled", "ootb_is_live", "integer"),
        ("ootb_deposit", "ootb_transaction_id", "string_or_number"),
        ("ootb_game_session", "ootb_game_code", "string_or_number"),
        ("ootb_sweepstakes_game_session", "ootb_game_code", "string"),
        ("ootb_deposit", "ootb_deposit_timestamp", "timestamp"),
        ("ootb_game_session", "ootb_session_end_timestamp", "timestamp"),
        ("ootb_sports_bet_placed", "ootb_bet_date_time", "timestamp"),
        ("ootb_registration", "ootb_date_of_birth", "string"),
        ("ootb_game_session", "ootb_stakes", "number"),
        ("ootb_product_order_completed", "ootb_quantity", "integer"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_param_types(catalog, event, param, type_):
    assert catalog.events[event].params[param].type == type_


def test_allowed_values(catalog):
    assert catalog.events["ootb_registration"].params["ootb_status"].allowed == ("Started", "Completed", "Failed")
    assert catalog.events["ootb_sports_bet_placed"].params["ootb_betslip_status"].allowed == ("open", "win", "loss")
    assert catalog.events["ootb_sports_bet_settled"].params["ootb_betslip_status"].allowed is None
    assert all(p.allowed is None for e in catalog.events.values() for p in e.params.values() if p.type != "string")


def test_monetary_flags(catalog):
    money = {(e.key, p.key) for e in catalog.events.values() for p in e.monetary_params}
    assert ("ootb_deposit", "ootb_deposit_amount") in money
    assert ("ootb_game_session", "ootb_stakes") in money
    assert ("ootb_product_order_completed", "ootb_item_price") in money
    assert ("ootb_product_refund", "ootb_refund_amount") in money
    # sweepstakes coin amounts are virtual currency (choice virtual_currency_monetary)
    assert not catalog.events["ootb_sweepstakes_game_session"].monetary_params
    assert all(p.type == "number" for e in catalog.events.values() for p in e.monetary_params)


def test_max_lengths(catalog):
    lengths = {p.max_length for e in catalog.events.values() for p in e.params.values() if p.key != "ootb_email"}
    assert lengths == {255}
    assert catalog.events["ootb_registration"].params["ootb_email"].max_length == 250


def test_every_param_has_a_description_and_known_confidence(catalog):
    for ev in catalog.events.values():
        for p in ev.params.values():
            assert p.description, (ev.key, p.key)
            assert p.confidence in ("documented", "inferred")


def test_choices_each_have_value_and_reason(catalog):
    assert catalog.choices
    for name, entry in catalog.choices.items():
        assert "value" in entry and entry["reason"].strip(), name


def test_envelope(catalog):
    assert set(catalog.envelope) == {"tenant", "event", "customer", "timestamp", "context"}
    assert all(prop["required"] for prop in catalog.envelope.values())
    assert "visitor" not in catalog.envelope
    assert catalog.envelope["timestamp"]["form"] == "YYYY-MM-DD HH:MM:SS.ffffff UTC"


def test_unknown_names_raise_unknown_name_error(catalog):
    with pytest.raises(UnknownNameError):
        catalog.event("ootb_depositt")
    with pytest.raises(LookupError):
        catalog.vertical("poker")


def test_params_are_frozen(catalog):
    param = catalog.events["ootb_deposit"].params["ootb_deposit_amount"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        param.cls = "optional"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name,expected",
    [
        ("ootb_deposit_ammount", "ootb_deposit_amount"),
        ("deposit_amount", "ootb_deposit_amount"),
        ("OOTB_Deposit_Amount", "ootb_deposit_amount"),
        ("ootb_fulfillment_type", "ootb_fullfillment_type"),
    ],
)
def test_nearest_names_suggests(name, expected):
    candidates = ["ootb_deposit_amount", "ootb_deposit_method", "ootb_fullfillment_type", "ootb_withdrawal_amount"]
    assert nearest_names(name, candidates)[0] == expected


def test_nearest_names_limits_and_handles_exact_and_hopeless_names():
    candidates = [f"ootb_param_{i}" for i in range(10)]
    assert len(nearest_names("ootb_param_x", candidates, n=3)) == 3
    assert nearest_names("OOTB_PARAM_1", candidates) == ["ootb_param_1"]
    assert nearest_names("zzz", candidates) == []
