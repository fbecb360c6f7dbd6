"""Validation by construction is sound: an event the fast path does not check would have passed.

The generated runner skips the schema check for an event when every value it wrote carries a
guarantee that proves that value's schema fragment (engine/fast/conformance.py). Each link of that
argument is tested here against the code it relies on:

1. every coercer's output holds ``coercer_guarantee(param)``, and every value passing an inline
   test holds ``inline_guarantee(param)`` (for every kind of param the catalog has);
2. the customer coercer, the time parser and the two time writers hold theirs;
3. whenever ``Guarantee.proves(fragment)`` says yes, ``jsonschema`` accepts every value the
   guarantee allows, for every fragment in the bundled schemas and for hostile ones;
4. ``prove_skeleton`` accepts the bundled schemas and refuses what it cannot vouch for;
5. end to end, values that miss the proof (an empty id, a null default) are still checked and
   refused with the schema's reason, and the example mappings' rules skip the check.

The fast path's results equal the reference interpreter's, which checks every event, in
tests/engine/test_fast_path_differential.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.catalog import load_catalog
from ebi_mapper.catalog.model import Param
from ebi_mapper.engine.coerce import CoercionError, coerce_customer, make_coercer
from ebi_mapper.engine.fast.conformance import (
    Boolean,
    Either,
    Integer,
    Number,
    OneOf,
    Text,
    TimeText,
    coercer_guarantee,
    inline_guarantee,
    non_empty,
    prove_skeleton,
)
from ebi_mapper.engine.fast.parts import inline_coercion
from ebi_mapper.engine.timestamps import format_context, format_envelope, make_timestamp_parser
from ebi_mapper.schemas import load_schema

from .conftest import BASE, DEPOSIT_RULE, NOW

CATALOG = load_catalog()
ROOT = Path(__file__).resolve().parents[2]


def _distinct_params() -> list[Param]:
    """One catalog param per kind that coerces differently (type, money, closed list, length)."""
    seen: dict = {}
    for event in CATALOG.events.values():
        for param in event.params.values():
            seen.setdefault((param.type, param.monetary, param.allowed, param.max_length), param)
    extra = [Param("short", "string", "enrichment", max_length=8), Param("one_of", "string", "enrichment", allowed=("Started", "Completed"))]
    return list(seen.values()) + extra


PARAMS = _distinct_params()
PARAM_IDS = [f"{p.type}{'-money' if p.monetary else ''}{'-allowed' if p.allowed else ''}-{p.key}" for p in PARAMS]

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=300)
    | st.sampled_from(["", " ", "x" * 255, "x" * 256, "12", "-0", "1e3", "25.50", "yes", "No", "started", " Completed ", 2**53, 2**53 + 1, -(2**63), 2**64, 0.5, -0.0, 1e300])
    | st.sampled_from(["2026-12-10T10:00:00Z", "2026-03-29 02:30:00", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", 1797069600000, 4102444799])
)
any_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=5)


# -- 1. coercers and inline tests hold their guarantees ------------------------------------------


@pytest.mark.parametrize("param", PARAMS, ids=PARAM_IDS)
@settings(max_examples=200, deadline=None)
@given(value=any_value)
def test_coercer_output_holds_its_guarantee(param, value):
    guarantee = coercer_guarantee(param)
    if guarantee is None or value is None:
        return  # no claim made (then the event is checked); None never reaches a coercer unasked
    try:
        out = make_coercer(param, tz="Europe/Malta")(value)
    except CoercionError:
        return
    assert guarantee.holds(out), f"{param.key}: {value!r} -> {out!r} breaks {guarantee}"


@pytest.mark.parametrize("non_empty_strings", [False, True], ids=["any", "non-empty"])
@pytest.mark.parametrize("param", PARAMS, ids=PARAM_IDS)
@settings(max_examples=150, deadline=None)
@given(value=any_value)
def test_inline_test_passes_only_values_holding_its_guarantee(param, non_empty_strings, value):
    test = inline_coercion(param, "v", non_empty=non_empty_strings)
    if test is None:
        assert inline_guarantee(param, non_empty=non_empty_strings) is None
        return
    if not eval(test, {}, {"v": value}):
        return
    assert inline_guarantee(param, non_empty=non_empty_strings).holds(value)
    out = make_coercer(param)(value)  # and the coercer it skips would have returned the value itself
    assert type(out) is type(value) and out == value


@settings(max_examples=300, deadline=None)
@given(value=any_value)
def test_customer_coercer_holds_text_1_to_255(value):
    try:
        out = coerce_customer(value)
    except CoercionError:
        return
    assert Text(1, 255).holds(out)


in_range = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999999), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(dt=in_range)
def test_time_writers_hold_their_guarantees(dt):
    envelope, context = format_envelope(dt), format_context(dt)
    assert TimeText("envelope").holds(envelope) and TimeText("context").holds(context)
    assert Draft202012Validator(_deposit_schema()["properties"]["timestamp"]).is_valid(envelope)


@settings(max_examples=300, deadline=None)
@given(value=any_value)
def test_every_parsed_time_is_in_the_writable_range(value):
    """The runner writes format_envelope(parse(x)) unchecked: every parse must land in 1970-2099."""
    try:
        when = make_timestamp_parser(tz="Europe/Malta")(value)
    except CoercionError:
        return
    assert TimeText("envelope").holds(format_envelope(when))


# -- 3. a guarantee proves only fragments that accept all its values ------------------------------


def _bundled_fragments() -> list[dict]:
    out: dict[str, dict] = {}
    for vertical, vert in CATALOG.verticals.items():
        for event in vert.events:
            schema = load_schema(vertical, event)
            parts = [*schema["properties"].values(), *schema["properties"]["context"]["properties"].values()]
            for fragment in parts:
                bare = {k: v for k, v in fragment.items() if k != "description"}
                out.setdefault(json.dumps(bare, sort_keys=True), bare)
    return list(out.values())


HOSTILE = [
    {},
    {"type": "string", "minLength": 2},
    {"type": "string", "maxLength": 3},
    {"type": ["string", "null"], "maxLength": 8},
    {"type": "string", "pattern": "^a"},
    {"type": "string", "format": "email"},
    {"type": "number", "minimum": 0},
    {"type": "integer"},
    {"type": "number", "multipleOf": 2},
    {"type": "null"},
    {"enum": ["Yes"]},
    {"enum": ["Yes", "No"]},
    {"const": "Started"},
    {"not": {"type": "string"}},
    {"$ref": "#/$defs/x"},
    {"anyOf": [{"type": "string"}]},
    {"type": "string", "pattern": "^[0-9]{4}$"},
]
FRAGMENTS = _bundled_fragments() + HOSTILE

GUARANTEES = [
    Text(0, 255), Text(1, 255), Text(0, 250), Text(1, 201), Text(0, 8), Text(3, 3),
    Number(), Integer(), Boolean(),
    OneOf(("Yes", "No")), OneOf((None,)), OneOf(("Started",)), OneOf((0, 1.5)),
    TimeText("envelope"), TimeText("context"),
    Either((Text(0, 255), Number())), Either((Text(1, 255), Number())), Either((Text(0, 255), OneOf((None,)))),
]


def _values(g) -> st.SearchStrategy:
    """Every kind of value ``g`` allows, boundaries included."""
    if isinstance(g, Text):
        return st.text(min_size=g.lo, max_size=min(g.hi, 300)) | st.sampled_from(["x" * g.lo, "ü" * g.hi])
    if isinstance(g, Number):
        return st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0, -0.0, 2**64 - 1])
    if isinstance(g, Integer):
        return st.integers(min_value=-(2**63), max_value=2**64 - 1)
    if isinstance(g, Boolean):
        return st.booleans()
    if isinstance(g, OneOf):
        return st.sampled_from(g.values)
    if isinstance(g, TimeText):
        return in_range.map(format_envelope if g.form == "envelope" else format_context)
    if isinstance(g, Either):
        return st.one_of([_values(p) for p in g.parts])
    raise AssertionError(g)


@pytest.mark.parametrize("guarantee", GUARANTEES, ids=repr)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_proven_fragment_accepts_every_value_the_guarantee_allows(guarantee, data):
    proven = [f for f in FRAGMENTS if guarantee.proves(f)]
    value = data.draw(_values(guarantee), label="value")
    assert guarantee.holds(value)  # the strategy draws what the guarantee describes
    for fragment in proven:
        assert Draft202012Validator(fragment).is_valid(value), f"{guarantee} proves {fragment} but {value!r} is invalid"


@pytest.mark.parametrize(
    ("guarantee", "fragment"),
    [
        (Text(0, 255), {"type": "string", "minLength": 1, "maxLength": 255}),  # '' is too short
        (Text(0, 256), {"type": "string", "maxLength": 255}),
        (Text(0, 8), {"type": "string", "format": "email"}),  # a keyword it does not know
        (Text(0, 8), {"enum": ["a"]}),
        (Number(), {"type": "integer"}),  # 1.5 is not an integer
        (Number(), {"type": "number", "minimum": 0}),
        (Integer(), {"type": "string"}),
        (Boolean(), {"enum": ["Yes", "No"]}),
        (OneOf(("Maybe",)), {"enum": ["Yes", "No", None]}),
        (OneOf((None,)), {"type": "string"}),
        (OneOf(("x",)), {"$ref": "#/$defs/x"}),  # cannot be checked alone
        (TimeText("context"), {"type": "string", "pattern": "^x$"}),
        (TimeText("envelope"), {"type": "string", "pattern": CATALOG.choices["context_timestamp"]["value"]["pattern"]}),
        (Either((Text(0, 255), Number())), {"type": "string", "maxLength": 255}),
    ],
    ids=repr,
)
def test_proves_says_no_where_a_value_could_fail(guarantee, fragment):
    assert not guarantee.proves(fragment)


def test_the_bundled_fragments_are_proven_where_the_runner_relies_on_it():
    """The proofs the fast path needs do hold for the bundled schemas (else it checks every event)."""
    mandatory_id = {"type": "string", "minLength": 1, "maxLength": 255}
    assert Text(1, 255).proves(mandatory_id) and not Text(0, 255).proves(mandatory_id)
    assert non_empty(Text(0, 255)).proves(mandatory_id)
    assert Either((Text(1, 255), Number())).proves({"type": ["string", "number"], "minLength": 1, "maxLength": 255})
    assert TimeText("envelope").proves(_deposit_schema()["properties"]["timestamp"])
    assert Number().proves({"type": ["number", "null"]}) and OneOf((None,)).proves({"type": ["number", "null"]})
    assert OneOf(("Yes", "No")).proves({"enum": ["Yes", "No", None]})


# -- 4. the skeleton --------------------------------------------------------------------------------


@pytest.mark.parametrize("vertical", sorted(CATALOG.verticals))
def test_skeleton_holds_for_every_bundled_schema(vertical):
    for event in CATALOG.vertical(vertical).events:
        schema = load_schema(vertical, event)
        context = schema["properties"]["context"]
        names = list(context["properties"])
        fragments = prove_skeleton(schema, tenant=567, event=event, names=names, always=set(context["required"]))
        assert fragments is not None and set(fragments) == set(names)


def _deposit_schema() -> dict:
    return load_schema("casino", "ootb_deposit")


def _edit(change) -> dict:
    schema = _deposit_schema()
    change(schema)
    return schema


@pytest.mark.parametrize(
    ("label", "schema", "options"),
    [
        ("a required param that may be left out", _deposit_schema(), {"always": set()}),
        ("a key the schema does not list", _deposit_schema(), {"names": ["ootb_transaction_id", "ootb_deposit_timestamp", "ootb_bonus"]}),
        ("tenant 0 (minimum 1)", _deposit_schema(), {"tenant": 0}),
        ("another event", _deposit_schema(), {"event": "ootb_withdrawal"}),
        ("an unknown top-level keyword", _edit(lambda s: s.update(minProperties=6)), {}),
        ("a context keyword it does not know", _edit(lambda s: s["properties"]["context"].update(maxProperties=3)), {}),
        ("extra keys checked by a schema", _edit(lambda s: s["properties"]["context"].update(additionalProperties={"type": "string"})), {}),
        ("another draft", _edit(lambda s: s.update({"$schema": "http://json-schema.org/draft-04/schema#"})), {}),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_skeleton_refuses_what_it_cannot_vouch_for(label, schema, options):
    args = {"tenant": 567, "event": "ootb_deposit", "names": ["ootb_transaction_id", "ootb_deposit_timestamp"], "always": {"ootb_transaction_id", "ootb_deposit_timestamp"}}
    args.update(options)
    assert prove_skeleton(schema, **args) is None, label


# -- 5. end to end ------------------------------------------------------------------------------------


def _mapper(tmp_path, rules, *, fast=True):
    path = tmp_path / "m.yaml"
    path.write_text(BASE + "rules:\n" + rules)
    return compile_mapping(load_mapping(path), fast=fast)


DEPOSIT = {"type": "wallet.deposit", "data": {"player_id": "p1", "processed_at": "2026-12-10T10:00:00Z", "currency": "EUR", "amount": 5, "tx_id": "t-1", "method": "card"}}


def test_values_outside_the_proof_are_still_checked(tmp_path, monkeypatch):
    """A proven event skips the compiled validator; an empty id (minLength 1) is checked and refused."""
    import ebi_mapper.engine.validate as validate

    calls = []

    def counting(schema):
        check = make_fast_check(schema)
        return lambda instance: calls.append(instance) or check(instance)

    make_fast_check = validate.make_fast_check
    monkeypatch.setattr(validate, "make_fast_check", counting)
    fast, reference = _mapper(tmp_path, DEPOSIT_RULE), _mapper(tmp_path, DEPOSIT_RULE, fast=False)
    calls.clear()
    assert fast.map_record(DEPOSIT, now=NOW).events and calls == []
    bad = {**DEPOSIT, "data": {**DEPOSIT["data"], "tx_id": ""}}
    got = fast.map_record(bad, now=NOW)
    assert calls and got == reference.map_record(bad, now=NOW)
    assert [(r.code, r.field) for r in got.rejections] == [("schema", "$.context.ootb_transaction_id")]


def test_a_null_default_for_a_mandatory_param_is_refused_by_the_schema(tmp_path):
    rules = DEPOSIT_RULE.replace("ootb_transaction_id: data.tx_id", "ootb_transaction_id: {expr: data.tx_id, default: null}")
    payload = {**DEPOSIT, "data": {k: v for k, v in DEPOSIT["data"].items() if k != "tx_id"}}
    got = _mapper(tmp_path, rules).map_record(payload, now=NOW)
    assert [(r.code, r.field, r.message) for r in got.rejections] == [("schema", "$.context.ootb_transaction_id", "ootb_transaction_id must be string or number, not null")]


EXAMPLES = sorted(p for p in (ROOT / "mappings" / "examples").glob("*.yaml") if not p.name.endswith(".tests.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_rules_check_only_events_that_missed_the_proof(path):
    """Every fused rule of the examples validates only under `if _chk:` (the speed the issue needs)."""
    mapper = compile_mapping(load_mapping(path))
    fused = [c for c in mapper.rules if "_finish(" not in c.python_source]
    assert fused
    for crule in fused:
        source = crule.python_source
        assert "if True:" not in source, crule.rule.name
        # No branch flags every event that takes it: only a value outside the proof (an empty id) does.
        assert not [line for line in source.splitlines() if line.strip() == "_chk = True"], crule.rule.name
        if "_valid(_d)" in source:
            # at rule level, or inside an `each` loop's try (engine/fast/each.py), one level more in a two-level each
            assert re.search(r"^    ( {4}){0,3}if _chk:\n\s+_d = ", source, re.M), crule.rule.name
