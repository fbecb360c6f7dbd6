"""A plugin's guard keeps its rule on the fast path, with the interpreter's results.

The guard hook declares a fast form (``GuardDef(..., fast=...)`` returning a ``FastGuard``,
ebi_mapper/extensions.py). Here, as a third party would:

- the bundled webhook plugin's ``convert_currency`` guard (an installed plugin, found by its entry
  point) declares one, written separately from its reference check and adjusting the context;
- a local plugin module (a mapping's ``plugins:``) registers ``cap`` with a fast form (rejects,
  filters, raises for a poison value) and ``legacy`` without one (called through its reference
  check from the generated code).

Each rule's generated runner does everything itself (no hand-over to the interpreter's tail,
``_finish``), a guard with a fast form builds no ``GuardContext``, and on generated payloads the
fast path's ``RecordResult`` equals the interpreter's (``fast=False``) exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebi_mapper import compile_mapping, load_mapping

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)

PLUGIN = '''
from ebi_mapper import FastGuard, Filtered, GuardDef, Rejection, hookimpl


def _outcomes(name, event, context, limit):
    amount = context.get("ootb_deposit_amount")
    if amount is None:
        return []
    if amount == 13:
        raise ValueError("unlucky amount")
    if amount == 0:
        return [Filtered("zero_amount", name, event, "nothing was deposited")]
    if amount > limit:
        return [Rejection("over_cap", f"amount {amount} is over the cap {limit}", name, event, "$.context.ootb_deposit_amount", "", amount)]
    return []


def cap(options, mapping):
    limit = float(options.get("max", 100))

    def check(event, ctx):
        return _outcomes(ctx.rule.name, event.event, event.context, limit)

    return check


def cap_fast(options, mapping):
    limit = float(options.get("max", 100))

    def for_rule(rule, event_def):
        if "ootb_deposit_amount" not in event_def.params:
            return None
        name, event = rule.name, event_def.key
        return lambda customer, timestamp, event_time, context, now, currency: _outcomes(name, event, context, limit)

    return FastGuard(for_rule)


def legacy(options, mapping):
    def check(event, ctx):
        if event.customer.startswith("x"):
            yield Rejection("legacy_customer", f"customer {event.customer} is a legacy id", ctx.rule.name, event.event, "$.customer")

    return check


@hookimpl
def register_guards(register):
    register(GuardDef("cap", cap, default_on=False, fast=cap_fast))
    register(GuardDef("legacy", legacy, default_on=False))
'''

MAPPING = """
ebi_mapping: 1
client: plug
vertical: casino
tenant: 7
site_currency: EUR
go_live: "2026-12-01T00:00:00Z"
plugins: [cap_plugin.py]
guards:
  currency: false
  convert_currency: {rates: {USD: 0.5, GBP: 1.25}}
  cap: {max: 50}
  {legacy}
rules:
  - name: deposit
    when: "kind == 'deposit'"
    event: ootb_deposit
    customer: id
    timestamp: at
    currency: cur
    context:
      ootb_transaction_id: tx
      ootb_deposit_timestamp: at
      ootb_deposit_amount: amount
  - name: signup
    when: "kind == 'signup'"
    event: ootb_registration
    customer: id
    timestamp: at
"""


def _mappers(tmp_path, legacy: bool = True):
    (tmp_path / "cap_plugin.py").write_text(PLUGIN)
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING.replace("{legacy}", "legacy: true" if legacy else ""))
    mapping = load_mapping(path)
    return compile_mapping(mapping, clock=lambda: NOW), compile_mapping(mapping, fast=False, clock=lambda: NOW)


def test_rules_with_plugin_guards_run_wholly_in_generated_code(tmp_path):
    fast, reference = _mappers(tmp_path)
    assert fast.fast and not reference.fast
    for crule in fast.rules:
        assert crule.run is not None and "_finish(" not in crule.python_source, crule.rule.name
        assert "_gctx" in crule.python_source  # `legacy` has no fast form: its reference check is called there
    fast_only, _ = _mappers(tmp_path, legacy=False)
    for crule in fast_only.rules:
        # Only fast forms (and built-ins): no OotbEvent/GuardContext is built for a guard.
        assert "_finish(" not in crule.python_source and "_gctx" not in crule.python_source, crule.rule.name


def test_each_kind_of_outcome_matches(tmp_path):
    fast, reference = _mappers(tmp_path)
    base = {"kind": "deposit", "id": 1, "at": "2026-12-10T10:00:00Z", "tx": "t1", "cur": "USD"}
    cases = {
        "converted": {**base, "amount": "40.00"},  # 20.0 after conversion: under the cap
        "over the cap": {**base, "amount": "400"},
        "zero": {**base, "amount": 0},
        "poison": {**base, "amount": 26},  # 13 after conversion: the guard raises
        "no rate": {**base, "cur": "JPY", "amount": 5},
        "legacy": {**base, "id": "x9", "amount": 1},
        "signup": {"kind": "signup", "id": "x1", "at": "2026-12-10T10:00:00Z"},
    }
    seen = set()
    for label, payload in cases.items():
        got, want = fast.map_record(payload, source="in:1"), reference.map_record(payload, source="in:1")
        assert got == want, label
        seen |= {r.code for r in got.rejections} | {f.reason for f in got.filtered} | ({"event"} if got.events else set())
    assert {"event", "over_cap", "zero_amount", "guard_failed", "no_rate", "legacy_customer"} <= seen
    [event] = fast.map_record(cases["converted"]).events
    assert event.context["ootb_deposit_amount"] == 20.0


_amounts = st.one_of(st.none(), st.integers(-5, 200), st.floats(-10, 500, allow_nan=False), st.sampled_from(["12.5", "abc", "", "26", "0"]))
_payloads = st.fixed_dictionaries(
    {"kind": st.sampled_from(["deposit", "signup", "other"]), "id": st.one_of(st.integers(1, 10**6), st.sampled_from(["x1", "p2", "", None]))},
    optional={
        "at": st.sampled_from(["2026-12-10T10:00:00Z", "2026-11-01T00:00:00Z", "2027-06-01T00:00:00Z", "yesterday", None]),
        "tx": st.one_of(st.text(max_size=5), st.integers()),
        "cur": st.sampled_from(["USD", "EUR", "GBP", "JPY", " usd ", "", None]),
        "amount": _amounts,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(_payloads, min_size=1, max_size=5))
def test_fast_path_equals_the_interpreter_on_generated_payloads(tmp_path, payloads):
    fast, reference = _mappers(tmp_path)
    sources = [f"in:{i}" for i in range(len(payloads))]
    assert fast.map_many(payloads, now=NOW, sources=sources) == reference.map_many(payloads, now=NOW, sources=sources)
