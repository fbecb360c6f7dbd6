"""The generated fast path gives exactly the reference interpreter's results.

For every example mapping (mappings/examples/), every bench mapping (bench/mappings/) and a set of
small mappings written here to reach the corners (null policies, defaults, literals, index paths,
enrichers, a plugin's guard, a short string limit, no go-live, a rule the dispatcher cannot
route), ``compile_mapping(m)`` and ``compile_mapping(m, fast=False)`` must return equal
``RecordResult`` objects: the same events (envelope, context, primary key, rule) in the same
order, the same rejections (code, message, field, expression, value, source), the same filters,
bespoke rows and dropped-null counts. Payloads are the mappings' own example cases and sample
files, random JSON, and payloads shaped from each rule (its discriminators, its `each` array,
every path its expressions read) filled with values chosen to hit every coercion and guard.
"""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.expressions import field_paths, simple_path

from .conftest import BASE, DEPOSIT_RULE, NOW

ROOT = Path(__file__).resolve().parents[2]
MAPPING_FILES = sorted(
    p for folder in (ROOT / "mappings" / "examples", ROOT / "bench" / "mappings") if folder.is_dir() for p in folder.glob("*.yaml") if not p.name.endswith(".tests.yaml")
)

# -- small mappings that reach what the examples may not ---------------------------------------

PROFILE_RULE = """
  - name: profile
    when: "type == 'player.updated' || type == 'player.created'"
    event: ootb_user_details_update
    customer: "data.ids[0]"
    timestamp: data.at
    nulls: reject
    context:
      ootb_first_name: {expr: data.first_name, nulls: keep}
      ootb_last_name: {expr: data.last_name, nulls: drop}
      ootb_email: {expr: data.email, default: nobody@example.com}
      ootb_city: "data.address.lines[-1]"
      ootb_is_test: data.test
      ootb_allow_sms: data.marketing.sms
      ootb_country: {value: MT}
      ootb_currency: "to_string(data.currency)"
"""

WITHDRAWAL_RULE = """
  - name: withdrawal
    when: "type == 'wallet.withdrawal'"
    event: ootb_withdrawal
    customer: data.player_id
    timestamp: data.at
    currency: data.currency
    context:
      ootb_transaction_id: data.tx_id
      ootb_withdrawal_timestamp: data.requested_at
      ootb_withdrawal_amount: {expr: data.amount, default: 0}
      ootb_withdrawal_status: data.status
      ootb_start_balance: "minor_to_major(data.balance_minor, `2`)"
"""

SESSION_RULE = """
  - name: session
    when: "type == 'casino.session'"
    each: "data.rounds"
    event: ootb_game_session
    customer: root.data.player_id
    timestamp: item.ended_at
    currency: root.data.currency
    context:
      ootb_game_code: item.game
      ootb_game_session_reference: "join('-', [to_string(root.data.session), to_string(index)])"
      ootb_session_start_timestamp: item.started_at
      ootb_session_end_timestamp: item.ended_at
      ootb_stakes: item.stake
      ootb_real_win_amount: item.win
      ootb_number_of_bets: item.bets
"""

PLUGIN = '''
from ebi_mapper import GuardDef, Rejection, Filtered, hookimpl

def vip_guard(options, mapping):
    def check(event, ctx):
        if event.customer.startswith("test"):
            yield Rejection("test_player", "test players are not sent", ctx.rule.name, event.event, "$.customer")
        if event.customer.startswith("skip"):
            yield Filtered("skipped", ctx.rule.name, event.event, "skip players")
        if event.customer.startswith("boom"):
            raise RuntimeError("boom")
    return check

@hookimpl
def register_guards(register):
    register(GuardDef("vip", vip_guard))
'''

SMALL = {
    "deposit": ("", DEPOSIT_RULE),
    "deposit_keep_nulls": ("nulls: keep\n", DEPOSIT_RULE),
    "deposit_reject_nulls_no_go_live": ("nulls: reject\n", DEPOSIT_RULE),
    "three_rules": ("", DEPOSIT_RULE + PROFILE_RULE + WITHDRAWAL_RULE + SESSION_RULE),
    "short_strings_and_skew": ("guards:\n  string_length: {max: 4}\n  future_skew: {seconds: 3600}\n", DEPOSIT_RULE + PROFILE_RULE),
    "guards_off": ("guards:\n  go_live: false\n  currency: false\n  string_length: false\n  future_skew: false\n", DEPOSIT_RULE + SESSION_RULE),
    "enrichers": (
        'tables:\n  brands: {"1": AcmeBet}\nenrichers:\n  - name: lookup\n    options: {table: brands, key: data.brand, param: ootb_brand}\n'
        "  - name: constant\n    options: {params: {ootb_platform: web}}\n",
        DEPOSIT_RULE + WITHDRAWAL_RULE,
    ),
    "plugin_guard": ("plugins: [vip_plugin.py]\n", DEPOSIT_RULE + PROFILE_RULE),
    "bespoke": (
        "bespoke:\n  route: data_studio\n  rules:\n    - when: \"type == 'player.updated'\"\n      customer: data.ids[0]\n      timestamp: data.at\n"
        "      attributes:\n        tier: data.vip.tier\n        tags: data.tags\n",
        PROFILE_RULE + DEPOSIT_RULE,
    ),
}

# `version:` on a plain rule, on an `each` rule (a time per element), on a rule whose tail is the
# interpreter's (enrichers) and on a rule whose when the dispatcher proves.
_VERSIONED = (DEPOSIT_RULE.replace("    currency: data.currency\n", "    currency: data.currency\n    version: data.seq\n")
              + SESSION_RULE.replace("    currency: root.data.currency\n", "    currency: root.data.currency\n    version: item.ended_at\n")
              + PROFILE_RULE.replace("    nulls: reject\n", "    nulls: reject\n    version: data.version\n"))
SMALL["versioned"] = ("", _VERSIONED)
# Declared channels: a registration still rejects a missing channel param, an update leaves it to
# be completed from the known profile (engine/profiles.py); a null in either is still refused.
SMALL["partial_profiles"] = ("channels: [email, sms]\n", PROFILE_RULE.replace("ootb_email: {expr: data.email, default: nobody@example.com}", "ootb_email: data.email")
                             + PROFILE_RULE.replace("name: profile", "name: signup").replace("ootb_user_details_update", "ootb_registration")
                             .replace("      ootb_is_test: data.test\n", "      ootb_allow_email: data.marketing.email\n      ootb_mobile_number: data.mobile\n").replace("ootb_email: {expr: data.email, default: nobody@example.com}", "ootb_email: data.email"))
SMALL["versioned_enrichers"] = ("enrichers:\n  - name: constant\n    options: {params: {ootb_platform: web}}\n", _VERSIONED)
# Every kind of version value and the ones that are none (booleans, objects, bad times).
VERSIONS = [1, 2.5, -3, 10**30, "7", "1.10", "v9", "2026-12-01T10:00:00+02:00", "2026-12-01 08:00:00", "2026-13-45T00:00:00Z",
            True, None, {"a": 1}, [1], "", float("inf")]

# `default: null` sends a null through the coercer (valid only where the schema takes null), and
# `nulls: keep` writes nulls: the two ways a value that is no value reaches the event on the fast
# path, where the schema check is skipped for values proven valid (engine/fast/conformance.py).
SMALL["null_defaults"] = (
    "nulls: keep\n",
    DEPOSIT_RULE.replace("ootb_transaction_id: data.tx_id", "ootb_transaction_id: {expr: data.tx_id, default: null}")
    .replace("ootb_deposit_method: data.method", "ootb_deposit_method: {expr: data.method, default: null}"),
)

# Issue 15: named values (`let:`, read as vars.<name>) and a field set (`fields:` + `extends:`) on a
# plain rule, and a two-level `each` (sessions x rounds, with outer/outer_index) with a value per
# element; the lazy forms (if, coalesce) and the new functions run inside them.
SMALL["named_values"] = (
    "fields:\n  money:\n    let:\n      amount: \"coalesce(data.amount, minor_to_major(data.amount_minor, `2`))\"\n"
    "    context:\n      ootb_deposit_amount: vars.amount\n",
    DEPOSIT_RULE.replace("    customer: data.player_id\n", "    extends: [money]\n    let:\n      method: \"if(data.card, 'card', data.method)\"\n"
                         "      label: \"vars.method && concat(vars.method, '-', to_string(vars.amount))\"\n    customer: data.player_id\n")
    .replace("      ootb_deposit_amount: data.amount\n", "").replace("ootb_deposit_method: data.method", "ootb_deposit_method: vars.label"),
)
SMALL["nested_each"] = (
    "",
    SESSION_RULE.replace('    each: "data.rounds"\n', "    each: {outer: data.sessions, inner: item.rounds}\n    let:\n"
                         "      stake: \"allocate(outer.stake, length(outer.rounds), index)\"\n      live: to_flag(item.live)\n")
    .replace("to_string(index)]", "to_string(outer_index), to_string(index)]").replace("ootb_stakes: item.stake", "ootb_stakes: vars.stake")
    .replace("ootb_number_of_bets: item.bets", "ootb_number_of_bets: \"coalesce(vars.live, outer.bets)\"")
    .replace("ootb_game_code: item.game", "ootb_game_code: outer.game"),
)

# Rules lint refuses (a monetary rule with no currency, a mandatory param left unmapped): a
# mapping loaded with lint=False must still behave the same on both paths.
UNLINTED = {
    "no_currency_and_unmapped": DEPOSIT_RULE.replace("    currency: data.currency\n", "").replace("      ootb_transaction_id: data.tx_id\n", ""),
}


def _small_mapping(tmp: Path, name: str, extra: str, rules: str, *, lint: bool = True):
    (tmp / "vip_plugin.py").write_text(PLUGIN)
    base = BASE if name != "deposit_reject_nulls_no_go_live" else BASE.replace('go_live: "2026-12-01T00:00:00Z"\n', "")
    path = tmp / f"{name}.yaml"
    path.write_text(base + textwrap.dedent(extra) + "rules:\n" + textwrap.dedent(rules))
    return load_mapping(path, lint=lint)


@pytest.fixture(scope="module")
def mappers(tmp_path_factory):
    """name -> (mapping, fast mapper, reference mapper), for every mapping under test."""
    tmp = tmp_path_factory.mktemp("fastpath")
    out = {}
    for path in MAPPING_FILES:
        mapping = load_mapping(path)
        out[f"{path.parent.name}/{path.stem}"] = mapping
    for name, (extra, rules) in SMALL.items():
        out[name] = _small_mapping(tmp, name, extra, rules)
    for name, rules in UNLINTED.items():
        out[name] = _small_mapping(tmp, name, "", rules, lint=False)
    return {name: (m, compile_mapping(m), compile_mapping(m, fast=False)) for name, m in out.items()}


NAMES = [f"{p.parent.name}/{p.stem}" for p in MAPPING_FILES] + list(SMALL) + list(UNLINTED)
CLOCKS = [NOW, datetime(2100, 1, 1, tzinfo=UTC), datetime(2026, 7, 15, 10, 3, tzinfo=UTC)]


SHAPES: dict = {}


def _assert_same(fast, reference, payload, *, source="in.jsonl:7", now=NOW):
    expected = reference.map_record(payload, source=source, now=now)
    actual = fast.map_record(payload, source=source, now=now)
    assert actual == expected, f"payload {payload!r}"
    return actual


# -- the mappings' own examples ------------------------------------------------------------------


def _example_payloads(path: Path) -> list:
    payloads = []
    sample = path.with_suffix(".jsonl")
    if sample.exists():
        for line in sample.read_bytes().splitlines():
            try:
                payloads.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue  # the samples carry garbage lines on purpose
    return payloads


@pytest.mark.parametrize("name", NAMES)
def test_examples_and_samples_give_equal_results(mappers, name):
    mapping, fast, reference = mappers[name]
    assert fast.fast and not reference.fast
    payloads = [case.payload for case in mapping.tests]
    if mapping.path:
        payloads += _example_payloads(Path(mapping.path))
    for payload in payloads:
        for now in CLOCKS:
            _assert_same(fast, reference, payload, now=now)


# -- generated payloads --------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10)

INTERESTING = [
    # times: ISO with Z and offsets, naive local (DST overlap and gap in Malta), epochs, bad ones
    "2026-12-10T10:00:00Z", "2026-12-10T10:00:00.123456789+01:00", "2026-12-10 11:00:00", "2026-10-25 02:30:00",
    "2026-03-29 02:30:00", "2026-07-15 12:00:00", "2026-11-30T23:59:59Z", "2027-06-01T00:00:00Z", "2026-12-15 12:04:00",
    "2026-12-10 10:00:00.000000 UTC", 1797069600000, 1797069600, 1797069600123456, "1797069600", 17970696001.5, "not a time",
    "2026-02-30T00:00:00Z", "1969-12-31T23:59:59Z",
    # numbers and numeric strings, money with many decimals, huge ints, booleans in disguise
    0, 1, -1, 25.5, 10.123456, 0.1, 1e16, 1e-7, -0.0, 2**53 + 1, 2**63, 2**64, "25.50", "10.123456", "-3.14159", "007.5",
    "12345678901.2345", "123456789012.5", "1e3", " 42 ", "42", "0x10", "NaN", True, False,
    # strings: currencies, yes/no, blanks, catalog-ish values, a long one
    "", " ", "EUR", " eur ", "USD", "card", "completed", "approved", "pending", "Yes", "no", "y", "web", "MT", "male",
    "x" * 256, "ü" * 10, "test-1", "skip-1", "boom-1", "p-42",
    # containers
    [], {}, [1, 2], {"a": 1}, None,
]


VALID_TIMES = ["2026-12-10T10:00:00Z", "2026-12-10 11:00:00", "2026-10-25 02:30:00", "2026-03-29 02:30:00", "2026-07-15 12:00:00", 1797069600000, "2026-12-15T12:04:59Z"]
GOOD = {
    "string": ["card", "web", "MT", "Maria", "x" * 255, "", 12, 12.0, 12.5],
    "string_or_number": ["g-1", 77, 2**53 + 1, 1.5, "x" * 255, ""],
    "number": [1, 2.5, "3.25", "10.123456", 0, -4, 1e16],
    "integer": [1, 3, "7", 2.0],
    "boolean": [True, False, "yes", "No", 1, 0],
    "yes_no": [True, False, "y", "n"],
    "timestamp": VALID_TIMES,
}
CUSTOMERS = ["p-42", 42, "x" * 255, "x" * 256, " p", "test-1", "skip-1", "boom-1", 4.0]
CURRENCIES = ["EUR", " eur ", "USD", "usd", "", None, 5]
FLAGS = [True, False, "yes", "N", 1, 0, None, "maybe"]  # what named values read (issue 15)
AMOUNTS = [1, 2.5, "3.25", 0, "70", 70.01, None, "x"]


def _eq_tests(node, out):
    """Every ``path == literal`` anywhere in a ``when`` (under ``||`` too)."""
    if node.get("type") == "comparator" and node.get("value") == "eq":
        left, right = node["children"]
        for side, other in ((left, right), (right, left)):
            path = simple_path(side)
            if other["type"] == "literal" and path:
                out.append((path, other["value"]))
    for child in node.get("children", []):
        if isinstance(child, dict):
            _eq_tests(child, out)
    return out


def _good_values(spec, param):
    if param is None:
        return INTERESTING
    if param.allowed:
        return list(param.allowed) + [a.upper() for a in param.allowed if isinstance(a, str)]
    return GOOD.get(param.type, INTERESTING)


def _shape(mapping):
    """Per rule: its discriminators, its `each` path, and (path, good values) for what it reads."""
    from ebi_mapper.catalog import load_catalog
    from ebi_mapper.expressions import parse_expression

    catalog = load_catalog()
    shapes = []
    rules = list(mapping.rules) + (list(mapping.bespoke.rules) if mapping.bespoke else [])
    for rule in rules:
        tests = _eq_tests(parse_expression(rule.when.source), []) if rule.when else []
        each = simple_path(rule.each.source) if rule.each else None
        inner = simple_path(rule.each_inner.source)[1:] if getattr(rule, "each_inner", None) else None  # item.<path>
        event = catalog.events.get(getattr(rule, "event", ""))
        reads = [(rule.customer, CUSTOMERS), (rule.timestamp, VALID_TIMES)]
        for key, spec in {**getattr(rule, "context", {}), **getattr(rule, "attributes", {})}.items():
            reads.append((spec, _good_values(spec, event.params.get(key) if event else None)))
        if getattr(rule, "currency", None) is not None:
            reads.append((rule.currency, CURRENCIES))
        if getattr(rule, "version", None) is not None:
            reads.append((rule.version, VERSIONS))
        reads += [(spec, FLAGS if "to_flag" in spec.expr.source else AMOUNTS) for spec in getattr(rule, "lets", {}).values()]
        root_paths, item_paths, outer_paths = [], [], []
        for spec, good in reads:
            source = spec.source if hasattr(spec, "source") else spec.expr.source
            for path in field_paths(source):
                if path[:1] == ("vars",) or (inner is not None and path[:1] == ("item",) and path[1:] == inner):
                    continue  # named values are computed, not read; the inner array is built below
                if inner is not None and path[:1] == ("outer",):
                    outer_paths.append((path[1:], good))
                elif each is not None and path[:1] == ("item",):
                    item_paths.append((path[1:], good))
                elif each is not None and path[:1] == ("root",):
                    root_paths.append((path[1:], good))
                else:
                    root_paths.append((path, good))
        shapes.append((tests, each, root_paths, item_paths, inner, outer_paths))
    return shapes


def _set(obj, path, value):
    """Put ``value`` at ``path`` inside ``obj``, creating objects and lists; give up on conflicts."""
    if not path:
        return
    step, rest = path[0], path[1:]
    if step in ("[]", "*"):
        if isinstance(obj, list):
            for element in obj:
                _set(element, rest, value)
        return
    if isinstance(step, int):
        if not isinstance(obj, list):
            return
        while len(obj) < (step + 1 if step >= 0 else -step):
            obj.append({})
        if not rest:
            obj[step] = value
        else:
            _set(obj[step], rest, value)
        return
    if not isinstance(obj, dict):
        return
    if not rest:
        obj[step] = value
        return
    if step not in obj or not isinstance(obj[step], (dict, list)):
        nxt = rest[0]
        obj[step] = [{}] if (isinstance(nxt, int) or nxt in ("[]", "*")) else {}
    _set(obj[step], rest, value)


def _leaf(draw, good):
    """Mostly a value the param takes, sometimes an edge case, now and then anything at all."""
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return draw(st.sampled_from(good))
    if kind < 9:
        return draw(st.sampled_from(INTERESTING))
    return draw(json_values)


@st.composite
def shaped_payload(draw, shapes):
    tests, each, root_paths, item_paths, inner, outer_paths = draw(st.sampled_from(shapes))
    payload: dict = {}
    by_path: dict = {}
    for path, literal in tests:
        by_path.setdefault(path, []).append(literal)
    for path, literals in by_path.items():
        _set(payload, path, draw(st.sampled_from(literals)) if draw(st.integers(0, 9)) else _leaf(draw, INTERESTING))
    if each is not None:
        if draw(st.integers(0, 9)) == 0:
            _set(payload, each, _leaf(draw, [[], None, {}, "x"]))  # not an array, or an empty one
        else:
            items = [{} for _ in range(draw(st.integers(0, 3)))]
            _set(payload, each, items)
            if inner is not None:  # a two-level `each`: the outer elements hold the inner arrays
                outers, items = items, []
                for outer in outers:
                    for path, good in outer_paths:
                        if draw(st.integers(0, 9)):
                            _set(outer, path, _leaf(draw, good))
                    if draw(st.integers(0, 9)) == 0:
                        _set(outer, inner, _leaf(draw, [[], None, {}, "x"]))
                    else:
                        elements = [{} for _ in range(draw(st.integers(0, 3)))]
                        _set(outer, inner, elements)
                        items += elements
            for item in items:
                for path, good in item_paths:
                    if draw(st.integers(0, 9)):
                        _set(item, path, _leaf(draw, good))
    for path, good in root_paths:
        if draw(st.integers(0, 9)):
            _set(payload, path, _leaf(draw, good))
        elif draw(st.booleans()):
            _set(payload, path, None)  # an explicit null, not a missing key
    if draw(st.integers(0, 19)) == 0:
        payload = _exotic(payload)  # a non-JSON Python type on the way: the generic fallback
    return payload


def _exotic(value):
    if isinstance(value, dict):
        return OrderedDict((k, _exotic(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_exotic(v) for v in value)
    return value


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_payloads_give_equal_results(mappers, name, data):
    mapping, fast, reference = mappers[name]
    payload = data.draw(shaped_payload(SHAPES.setdefault(name, _shape(mapping))) if data.draw(st.integers(0, 9)) else json_values, label="payload")
    now = data.draw(st.sampled_from(CLOCKS) | st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2101, 1, 1), timezones=st.just(UTC)), label="now")
    _assert_same(fast, reference, payload, now=now)


def test_fast_path_reaches_events_rejections_and_filters(mappers):
    """The generated payloads are not all rejected: each outcome kind occurs (so the test can fail)."""
    mapping, fast, _ = mappers["three_rules"]
    base = {"type": "wallet.deposit", "data": {"player_id": 42, "processed_at": "2026-12-10T10:00:00Z", "currency": "EUR", "tx_id": "t", "amount": "2.5", "method": "card"}}
    assert fast.map_record(base, now=NOW).events
    assert fast.map_record({**base, "data": {**base["data"], "amount": "x"}}, now=NOW).rejections
    assert fast.map_record({**base, "data": {**base["data"], "processed_at": "2026-11-01T00:00:00Z"}}, now=NOW).filtered


def test_trace_uses_the_reference_path_and_gives_the_same_result(mappers):
    from ebi_mapper.engine import Trace

    _, fast, reference = mappers["deposit"]
    payload = {"type": "wallet.deposit", "data": {"player_id": 42, "processed_at": "2026-12-10T10:00:00Z", "currency": "EUR", "tx_id": "t", "amount": "2.5"}}
    trace = Trace()
    assert fast.map_record(payload, now=NOW, trace=trace) == reference.map_record(payload, now=NOW)
    assert trace.steps  # the fast path records nothing; the trace came from the reference path


def test_map_many_equals_map_record(mappers):
    _, fast, reference = mappers["three_rules"]
    payloads = [{"type": "wallet.deposit", "data": {"player_id": i, "processed_at": 1797069600 + i, "currency": "EUR", "tx_id": f"t{i}", "amount": i / 7}} for i in range(20)]
    payloads += [None, {"type": "casino.session", "data": {"rounds": []}}]
    sources = [f"f:{i}" for i in range(len(payloads))]
    expected = [reference.map_record(p, source=s, now=NOW) for p, s in zip(payloads, sources, strict=True)]
    assert fast.map_many(payloads, now=NOW, sources=sources) == expected
    assert reference.map_many(payloads, now=NOW, sources=sources) == expected


def test_swapping_the_dispatcher_is_followed(mappers):
    """Tools (and test_mapper.py) may turn dispatch off; the fast path then tries every rule."""
    _, fast, reference = mappers["three_rules"]
    payload = {"type": "wallet.withdrawal", "data": {"player_id": 1, "at": "2026-12-10T10:00:00Z", "currency": "EUR", "tx_id": "w", "requested_at": "2026-12-10T10:00:00Z"}}
    saved = fast._dispatch, reference._dispatch
    try:
        fast._dispatch = reference._dispatch = None
        assert fast.map_record(payload, now=NOW) == reference.map_record(payload, now=NOW)
        fast._dispatch = lambda p: list(reversed(fast.rules))
        reference._dispatch = lambda p: list(reversed(reference.rules))
        result = fast.map_record(payload, now=NOW)
        assert result == reference.map_record(payload, now=NOW) and result.events
    finally:
        fast._dispatch, reference._dispatch = saved


def test_clock_skew_boundaries(mappers):
    _, fast, reference = mappers["deposit"]
    for delta in (timedelta(minutes=5), timedelta(minutes=5, microseconds=1), timedelta(minutes=4, seconds=59)):
        at = (NOW + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        payload = {"type": "wallet.deposit", "data": {"player_id": 42, "processed_at": at, "currency": "EUR", "tx_id": "t", "amount": 1}}
        _assert_same(fast, reference, payload)


# -- map_many pauses the cyclic collector: the engine must not leave cycles behind ------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_batch_leaves_no_reference_cycles(mappers, name, data):
    """Everything a batch allocates is freed by reference counting (bad records' errors included)."""
    import gc

    mapping, fast, reference = mappers[name]
    shapes = SHAPES.setdefault(name, _shape(mapping))
    payloads = data.draw(st.lists(shaped_payload(shapes) | json_values, min_size=1, max_size=12), label="payloads")
    gc.collect()
    gc.disable()
    try:
        for mapper in (fast, reference):
            results = mapper.map_many(payloads, now=NOW)
            assert not gc.isenabled()  # a paused collector stays paused
            del results
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_map_many_restores_the_collector_whatever_happens(mappers):
    import gc

    _, fast, _ = mappers["deposit"]
    assert gc.isenabled()
    fast.map_many([{"type": "wallet.deposit"}], now=NOW)
    assert gc.isenabled()

    def broken():
        yield {"type": "wallet.deposit"}
        raise RuntimeError("the caller's iterable failed")

    with pytest.raises(RuntimeError):
        fast.map_many(broken(), now=NOW)
    assert gc.isenabled()
