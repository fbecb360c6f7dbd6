"""The compiled validator (jsonschema_rs) and the reference (jsonschema) agree on every schema.

The engine asks ``jsonschema_rs`` whether an event is valid and asks ``jsonschema`` for the
reasons only when it says no; so the two must give the same verdict. For every bundled schema
(``iter_schemas()``), events are generated from the catalog (every param with a value of its
type, the envelope in Optimove's form) and then mutated the ways events go wrong: a missing
required key, an unknown key, a value of the wrong type, a string one character too long, a
time in the wrong form or followed by a newline (the case the engine's pattern rewrite is
about), a null where none is allowed, a tenant of 0.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ebi_mapper.catalog import load_catalog
from ebi_mapper.engine.validate import EventValidator, make_fast_check
from ebi_mapper.schemas import iter_schemas

SCHEMAS = list(iter_schemas())
CATALOG = load_catalog()

digits = st.integers
context_times = st.builds(
    lambda y, mo, d, h, mi, s, frac, tail: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{tail}",
    digits(1970, 2099), digits(1, 12), digits(1, 28), digits(0, 23), digits(0, 59), digits(0, 59),
    st.sampled_from(["", ".1", ".123", ".123456"]),
    st.sampled_from(["Z"] * 8 + ["Z\n", "z", "+00:00", "", "Z ", "Z\n\n"]),
)
envelope_times = st.builds(
    lambda y, mo, d, h, mi, s, us, tail: f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}.{us:06d}{tail}",
    digits(1970, 2099), digits(1, 12), digits(1, 28), digits(0, 23), digits(0, 59), digits(0, 59), digits(0, 999_999),
    st.sampled_from([" UTC"] * 8 + [" UTC\n", " utc", "Z", " UTC ", ""]),
)
short_text = st.text(max_size=12)


def _value(param):
    kind = param.type
    if param.allowed:
        base = st.sampled_from(list(param.allowed))
    elif kind in ("string", "string_or_number"):
        base = short_text | st.sampled_from(["x" * param.max_length, "x" * (param.max_length + 1), ""])
        if kind == "string_or_number":
            base = base | st.integers(min_value=-(2**63), max_value=2**64) | st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "number":
        base = st.integers(min_value=-(2**63), max_value=2**64) | st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "integer":
        base = st.integers(min_value=-(2**63), max_value=2**63) | st.sampled_from([1.0, 2.5])
    elif kind == "boolean":
        base = st.booleans()
    elif kind == "yes_no":
        base = st.sampled_from(["Yes", "No", "yes", True])
    else:  # timestamp
        base = context_times
    return base


wrong_types = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | short_text | st.just([]) | st.just({}) | st.just({"a": 1})


@st.composite
def events(draw, vertical, event_key):
    event = CATALOG.events[event_key]
    context = {}
    for param in event.params.values():
        if param.cls == "mandatory" or param.primary_key or draw(st.booleans()):
            context[param.key] = draw(_value(param))
    doc = {
        "tenant": draw(st.integers(min_value=1, max_value=10**6) | st.sampled_from([0, -1])),
        "event": draw(st.sampled_from([event_key] * 9 + ["ootb_unknown"])),
        "customer": draw(st.sampled_from(["p-42", "x" * 255, "x" * 256, ""]) | short_text),
        "timestamp": draw(envelope_times),
        "context": context,
    }
    # Then one or two of the ways an event goes wrong.
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.integers(0, 5))
        target = doc if draw(st.booleans()) or not context else context
        keys = sorted(target)
        if how == 0 and keys:
            target.pop(draw(st.sampled_from(keys)))
        elif how == 1:
            target[draw(st.sampled_from(["ootb_vip_tier", "extra", "ootb_email_address"]))] = draw(wrong_types)
        elif how == 2 and keys:
            target[draw(st.sampled_from(keys))] = draw(wrong_types)
        elif how == 3 and keys:
            key = draw(st.sampled_from(keys))
            if isinstance(target[key], str):
                target[key] = target[key] + "\n"
        elif how == 4 and keys:
            target[draw(st.sampled_from(keys))] = None
    return doc


@pytest.mark.parametrize("vertical, event_key, schema", SCHEMAS, ids=[f"{v}/{e}" for v, e, _ in SCHEMAS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_compiled_and_reference_validators_agree(vertical, event_key, schema, data):
    fast, reference = _validators(vertical, event_key, schema)
    doc = data.draw(events(vertical, event_key))
    assert fast(copy.deepcopy(doc)) == reference(doc), doc


_cache: dict = {}


def _validators(vertical, event_key, schema):
    if (vertical, event_key) not in _cache:
        _cache[(vertical, event_key)] = (make_fast_check(schema), Draft202012Validator(schema).is_valid)
    return _cache[(vertical, event_key)]


def test_both_verdicts_occur():
    """The generator makes valid and invalid events alike, so agreement is not agreement on one answer."""
    vertical, event_key, schema = next(s for s in SCHEMAS if s[1] == "ootb_deposit")
    fast, reference = _validators(vertical, event_key, schema)
    good = {"tenant": 1, "event": "ootb_deposit", "customer": "c", "timestamp": "2026-01-01 00:00:00.000000 UTC", "context": {"ootb_transaction_id": "t", "ootb_deposit_timestamp": "2026-01-01T00:00:00Z"}}
    assert fast(good) and reference(good)
    for ts in ("2026-01-01T00:00:00Z\n", "2026-01-01T00:00:00"):
        bad = copy.deepcopy(good)
        bad["context"]["ootb_deposit_timestamp"] = ts
        assert not fast(bad) and not reference(bad)


def test_event_validator_reports_located_reasons_only_for_invalid_events():
    validator = EventValidator("casino")
    good = {"tenant": 1, "event": "ootb_deposit", "customer": "c", "timestamp": "2026-01-01 00:00:00.000000 UTC", "context": {"ootb_transaction_id": "t", "ootb_deposit_timestamp": "2026-01-01T00:00:00.000000Z"}}
    assert validator.check("ootb_deposit", good) == []
    bad = copy.deepcopy(good)
    bad["timestamp"] += "\n"
    [rejection] = validator.check("ootb_deposit", bad, rule="r", source="s")
    assert rejection.field == "$.timestamp" and rejection.rule == "r" and rejection.source == "s"
