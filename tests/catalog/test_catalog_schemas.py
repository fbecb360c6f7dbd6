"""The per-vertical event schemas: valid drafts, what they accept and reject, and the rejections they give."""

from __future__ import annotations

import copy
from datetime import datetime

import jsonschema_rs
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import ebi_mapper.schemas as schemas_pkg
from catalog_helpers import example_event, pairs
from ebi_mapper.catalog import load_catalog
from ebi_mapper.errors import UnknownNameError
from ebi_mapper.outcomes import Rejection
from ebi_mapper.schemas import iter_schemas, load_schema, make_validator, schema_paths, schema_rejections

CATALOG = load_catalog()
PAIRS = pairs()


def _ids(pair):
    return f"{pair[0]}:{pair[1]}"


def _deposit(**context) -> dict:
    return example_event(CATALOG.events["ootb_deposit"], **context)


def test_public_api_is_complete():
    assert set(schemas_pkg.__all__) == {
        "load_schema", "make_validator", "schema_rejections", "schema_paths", "iter_schemas", "generate_schema", "schema_id"}


def test_one_schema_per_vertical_event():
    listed = [(v, e) for v, e, _ in schema_paths()]
    assert listed == PAIRS
    assert len(PAIRS) == 27
    assert all(path.is_file() for _, _, path in schema_paths())


@pytest.mark.parametrize("vertical,event", PAIRS, ids=[_ids(p) for p in PAIRS])
def test_schema_is_a_valid_draft_2020_12_schema(vertical, event):
    schema = load_schema(vertical, event)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:ebi-mapper:schema:{vertical}:{event}"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["context"]["additionalProperties"] is False
    assert "format" not in _keywords(schema)  # validators do not enforce format by default: patterns only


def _keywords(node) -> set[str]:
    """Every key used anywhere in a schema except inside ``properties`` (whose keys are param names)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    found |= _keywords(sub)
            else:
                found.add(key)
                found |= _keywords(value)
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


@pytest.mark.parametrize("vertical,event", PAIRS, ids=[_ids(p) for p in PAIRS])
def test_context_requires_exactly_the_mandatory_params(vertical, event):
    context = load_schema(vertical, event)["properties"]["context"]
    ev = CATALOG.events[event]
    assert context["required"] == [p.key for p in ev.params.values() if p.cls == "mandatory"]
    assert set(context["properties"]) == set(ev.params)
    assert all(k in context["required"] for k in ev.primary_key if k in ev.params)


@pytest.mark.parametrize("vertical,event", PAIRS, ids=[_ids(p) for p in PAIRS])
def test_accepts_the_docs_example_event(vertical, event):
    good = example_event(CATALOG.events[event])
    assert schema_rejections(vertical, good) == []


@pytest.mark.parametrize("vertical,event", PAIRS, ids=[_ids(p) for p in PAIRS])
def test_accepts_null_for_every_non_mandatory_param(vertical, event):
    ev = CATALOG.events[event]
    nulls = {k: None for k, p in ev.params.items() if p.cls != "mandatory"}
    assert schema_rejections(vertical, example_event(ev, **nulls)) == []


def test_accepts_only_the_mandatory_params():
    ev = CATALOG.events["ootb_deposit"]
    minimal = example_event(ev)
    minimal["context"] = {k: v for k, v in minimal["context"].items() if ev.params[k].cls == "mandatory"}
    assert schema_rejections("casino", minimal) == []


def _only(rejections: list[Rejection]) -> Rejection:
    assert len(rejections) == 1, rejections
    return rejections[0]


def test_rejects_unknown_context_key_with_suggestion():
    r = _only(schema_rejections("casino", _deposit(ootb_deposit_ammount=5), rule="deposit", source="in.jsonl:3"))
    assert (r.code, r.field, r.value, r.rule, r.event, r.source) == (
        "schema", "$.context.ootb_deposit_ammount", 5, "deposit", "ootb_deposit", "in.jsonl:3")
    assert "did you mean ootb_deposit_amount" in r.message


def test_rejects_bespoke_key_in_context_and_points_to_bespoke():
    r = _only(schema_rejections("casino", _deposit(vip_tier="gold")))
    assert r.field == "$.context.vip_tier" and "bespoke" in r.message


def test_rejects_unknown_top_level_key():
    event = _deposit()
    event["visitor"] = "visitorId1"
    r = _only(schema_rejections("casino", event))
    assert r.field == "$.visitor" and "envelope" in r.message


@pytest.mark.parametrize(
    "param,value",
    [
        ("ootb_deposit_amount", "50"),
        ("ootb_deposit_amount", True),
        ("ootb_deposit_method", 7),
        ("ootb_transaction_id", None),
        ("ootb_transaction_id", ["1"]),
    ],
    ids=["number-as-string", "number-as-bool", "string-as-int", "mandatory-null", "id-as-list"],
)
def test_rejects_wrong_type(param, value):
    r = _only(schema_rejections("casino", _deposit(**{param: value})))
    assert (r.code, r.field, r.value) == ("schema", f"$.context.{param}", value)
    assert "must be" in r.message and "\n" not in r.message


def test_rejects_string_of_256_characters_and_accepts_255():
    assert schema_rejections("casino", _deposit(ootb_brand="b" * 255)) == []
    r = _only(schema_rejections("casino", _deposit(ootb_brand="b" * 256)))
    assert r.field == "$.context.ootb_brand"
    assert "256 characters" in r.message and "255" in r.message
    assert len(r.message) < 120  # the value itself is not pasted into the message


def test_rejects_customer_too_long_or_empty():
    for customer in ("c" * 256, ""):
        event = _deposit()
        event["customer"] = customer
        assert _only(schema_rejections("casino", event)).field == "$.customer"


@pytest.mark.parametrize(
    "timestamp",
    [
        "2024-05-27T10:30:00Z",
        "2024-05-27T10:30:00.000000Z",
        "2024-05-27 10:30:00 UTC",
        "2024-05-27 10:30:00.000 UTC",
        "2024-05-27 10:30:00.000000",
        "2024-05-27 10:30:00.000000 UTC\n",
        "2024-13-27 10:30:00.000000 UTC",
        "2024-05-27 24:30:00.000000 UTC",
    ],
)
def test_rejects_envelope_timestamp_not_in_optimove_form(timestamp):
    event = _deposit()
    event["timestamp"] = timestamp
    r = _only(schema_rejections("casino", event))
    assert r.field == "$.timestamp" and "YYYY-MM-DD HH:MM:SS.ffffff UTC" in r.message


@pytest.mark.parametrize(
    "timestamp",
    [
        "2022-04-09T20:01:51",
        "2022-04-09T20:01:51+00:00",
        "2022-04-09T20:01:51.887+02:00",
        "2022-04-09 20:01:51Z",
        "2022-04-09T20:01:51.1234567Z",
        "2022-04-09T20:01:51Z\n",
        "2022-04-09",
        "1649534511",
        "٢٠٢٢-04-09T20:01:51Z",
    ],
)
def test_rejects_context_timestamp_not_iso_utc_z(timestamp):
    r = _only(schema_rejections("casino", _deposit(ootb_deposit_timestamp=timestamp)))
    assert r.field == "$.context.ootb_deposit_timestamp" and "ISO 8601 UTC" in r.message


@pytest.mark.parametrize("timestamp", ["2022-04-09T20:01:51Z", "2022-04-09T20:01:51.8Z", "2022-04-09T20:01:51.887000Z"])
def test_accepts_context_timestamp_iso_utc_z(timestamp):
    assert schema_rejections("casino", _deposit(ootb_deposit_timestamp=timestamp)) == []


def test_rejects_missing_mandatory_param():
    event = _deposit()
    del event["context"]["ootb_transaction_id"]
    del event["context"]["ootb_deposit_timestamp"]
    rejections = schema_rejections("casino", event)
    # one rejection per missing param, in the schema's order
    assert [(r.field, r.value) for r in rejections] == [
        ("$.context.ootb_transaction_id", None),
        ("$.context.ootb_deposit_timestamp", None),
    ]
    assert all("missing" in r.message for r in rejections)


def test_rejects_empty_mandatory_string():
    r = _only(schema_rejections("casino", _deposit(ootb_transaction_id="")))
    assert r.field == "$.context.ootb_transaction_id" and "empty" in r.message


def test_rejects_missing_envelope_property():
    event = _deposit()
    del event["tenant"]
    r = _only(schema_rejections("casino", event))
    assert r.field == "$.tenant" and "missing" in r.message


def test_rejects_value_outside_a_closed_list():
    ev = CATALOG.events["ootb_registration"]
    r = _only(schema_rejections("ecom", example_event(ev, ootb_status="started")))
    assert r.field == "$.context.ootb_status" and "'Started'" in r.message
    r = _only(schema_rejections("ecom", example_event(ev, ootb_allow_email=True)))
    assert r.field == "$.context.ootb_allow_email"
    r = _only(schema_rejections("ecom", example_event(CATALOG.events["ootb_user_details_update"], ootb_is_test="Yes")))
    assert r.field == "$.context.ootb_is_test"


def test_rejects_fractional_count_and_tenant():
    order = CATALOG.events["ootb_product_order_completed"]
    assert _only(schema_rejections("ecom", example_event(order, ootb_quantity=1.5))).field == "$.context.ootb_quantity"
    event = _deposit()
    event["tenant"] = 0
    assert _only(schema_rejections("casino", event)).field == "$.tenant"


def test_several_problems_give_several_rejections_best_first():
    event = _deposit(ootb_deposit_amount="x", ootb_brand="b" * 300, ootb_extra=1)
    event["timestamp"] = "2024-05-27T10:30:00Z"
    rejections = schema_rejections("casino", event)
    assert {r.field for r in rejections} == {"$.timestamp", "$.context.ootb_deposit_amount", "$.context.ootb_brand", "$.context.ootb_extra"}
    assert rejections[0].field == "$.timestamp"  # the shallowest problem is the most relevant (jsonschema's best_match)


def test_event_not_in_vertical():
    refund = example_event(CATALOG.events["ootb_product_refund"])
    r = _only(schema_rejections("casino", refund, rule="refunds"))
    assert (r.code, r.field, r.event, r.rule) == ("event_not_in_vertical", "$.event", "ootb_product_refund", "refunds")
    r = _only(schema_rejections("casino", dict(_deposit(), event="ootb_depositt")))
    assert r.code == "event_not_in_vertical" and "did you mean ootb_deposit" in r.message
    r = _only(schema_rejections("sport", dict(_deposit(), event="ootb_sports_bet_settle")))
    assert "ootb_sports_bet_settled" in r.message


def test_not_an_object_or_no_event_name():
    assert _only(schema_rejections("casino", ["not", "an", "object"])).field == "$"
    event = _deposit()
    del event["event"]
    r = _only(schema_rejections("casino", event))
    assert (r.code, r.field) == ("schema", "$.event")


def test_unknown_vertical_is_a_caller_mistake():
    with pytest.raises(UnknownNameError):
        schema_rejections("poker", _deposit())
    with pytest.raises(UnknownNameError, match="did you mean casino"):
        load_schema("casinoo", "ootb_deposit")
    with pytest.raises(UnknownNameError, match="no event"):
        load_schema("casino", "ootb_product_refund")


def test_load_schema_returns_a_private_copy_and_validators_are_cached():
    schema = load_schema("casino", "ootb_deposit")
    schema["properties"].clear()
    assert load_schema("casino", "ootb_deposit")["properties"]
    assert make_validator("casino", "ootb_deposit") is make_validator("casino", "ootb_deposit")
    assert len(list(iter_schemas())) == len(PAIRS)


# The patterns must mean the same to Python's re (jsonschema) and to a Rust/ECMA engine (jsonschema-rs):
# the faster validator planned for later has to give identical verdicts.
@pytest.mark.parametrize(
    "field,value",
    [
        ("timestamp", "2024-05-27 10:30:00.000000 UTC"),
        ("timestamp", "2024-05-27 10:30:00.000000 UTC\n"),
        ("timestamp", "２０２４-05-27 10:30:00.000000 UTC"),
        ("ootb_deposit_timestamp", "2022-04-09T20:01:51Z"),
        ("ootb_deposit_timestamp", "2022-04-09T20:01:51Z\n"),
        ("ootb_deposit_timestamp", "2022-04-09T2٠:01:51Z"),
        ("ootb_brand", "é" * 255),
        ("ootb_brand", "😀" * 256),
    ],
)
def test_jsonschema_and_jsonschema_rs_agree(field, value):
    event = _deposit()
    if field == "timestamp":
        event["timestamp"] = value
    else:
        event["context"][field] = value
    schema = load_schema("casino", "ootb_deposit")
    assert Draft202012Validator(schema).is_valid(event) == jsonschema_rs.validator_for(schema).is_valid(event)


# ---- properties ---------------------------------------------------------------------------------

def _iso_z(dt: datetime, digits: int) -> str:
    """``dt`` as ISO 8601 UTC with ``Z`` and ``digits`` (0-6) fraction digits."""
    text = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    return text + (f".{dt.microsecond:06d}"[: digits + 1] if digits else "") + "Z"


_UTC_Z = st.builds(_iso_z, st.datetimes(), st.integers(0, 6))
_TEXT = st.text(max_size=255)
_BY_TYPE = {
    "string": _TEXT,
    "string_or_number": _TEXT | st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "integer": st.integers(),
    "boolean": st.booleans(),
    "yes_no": st.sampled_from(["Yes", "No"]),
    "timestamp": _UTC_Z,
}


def _value_for(param):
    if param.allowed:
        base = st.sampled_from(param.allowed)
    elif param.type == "string":
        base = st.text(max_size=param.max_length)
    else:
        base = _BY_TYPE[param.type]
    if param.cls == "mandatory":
        return base.filter(lambda v: v != "")
    return base | st.none()


@st.composite
def valid_events(draw):
    vertical, event = draw(st.sampled_from(PAIRS))
    ev = CATALOG.events[event]
    keys = [k for k, p in ev.params.items() if p.cls == "mandatory"]
    keys += draw(st.lists(st.sampled_from([k for k in ev.params if k not in keys] or [keys[0]]), unique=True))
    context = {k: draw(_value_for(ev.params[k])) for k in dict.fromkeys(keys)}
    return vertical, {
        "tenant": draw(st.integers(1, 2**31)),
        "event": event,
        "customer": draw(st.text(min_size=1, max_size=255)),
        "timestamp": "2024-05-27 10:30:00.000000 UTC",
        "context": context,
    }


@settings(max_examples=200, deadline=None)
@given(valid_events())
def test_property_every_well_typed_event_is_accepted(case):
    vertical, event = case
    note(repr(event))
    assert schema_rejections(vertical, event) == []


@settings(max_examples=150, deadline=None)
@given(valid_events(), st.text(min_size=1, max_size=40), st.integers() | st.text() | st.none())
def test_property_an_unknown_key_gives_exactly_one_rejection_on_that_key(case, key, value):
    vertical, event = case
    if key in CATALOG.events[event["event"]].params:
        return
    bad = copy.deepcopy(event)
    bad["context"][key] = value
    r = _only(schema_rejections(vertical, bad))
    assert r.field == f"$.context.{key}" and r.code == "schema"
