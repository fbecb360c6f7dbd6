"""Built-in guards: go-live, currency, string length, future skew; and turning them off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ebi_mapper import make_registry

from .conftest import DEPOSIT_RULE, NOW, deposit_payload


def test_builtin_guards_are_registered_through_the_public_hook():
    registry = make_registry(entry_points=False)
    assert {"go_live", "currency", "string_length", "future_skew"} <= set(registry.guards)
    assert registry.provided_by[("guards", "currency")] == "ebi_mapper.default_plugins.guards"


def test_currency_mismatch_is_rejected_with_a_reason(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    [rej] = mapper.map_record(deposit_payload(currency="USD"), now=NOW).rejections
    assert rej.code == "currency_mismatch"
    assert "USD" in rej.message and "EUR" in rej.message and "does not convert" in rej.message
    assert rej.expression == "data.currency"


def test_currency_is_compared_case_insensitively(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    assert mapper.map_record(deposit_payload(currency=" eur "), now=NOW).events


def test_money_with_unknown_currency_is_rejected(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    [rej] = mapper.map_record(deposit_payload(currency=None), now=NOW).rejections
    assert rej.code == "currency_missing"


def test_monetary_rule_without_currency_expression_is_rejected_at_runtime(tmp_path):
    from ebi_mapper import compile_mapping, load_mapping

    from .conftest import BASE

    path = tmp_path / "m.yaml"
    path.write_text(BASE + "rules:\n" + DEPOSIT_RULE.replace("    currency: data.currency\n", ""))
    # lint refuses it ...
    import pytest

    from ebi_mapper import MappingError

    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert any(f.code == "monetary-without-currency" for f in info.value.findings)
    # ... and a mapping loaded without lint is still guarded at runtime
    mapper = compile_mapping(load_mapping(path, lint=False))
    [rej] = mapper.map_record(deposit_payload(), now=NOW).rejections
    assert rej.code == "currency_missing"


def test_no_money_no_currency_check(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(amount=..., currency="USD"), now=NOW)
    assert result.events and not result.rejections


def test_future_skew_rejects_events_ahead_of_the_clock(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    ahead = (NOW + timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    [rej] = mapper.map_record(deposit_payload(processed_at=ahead), now=NOW).rejections
    assert rej.code == "future_timestamp" and rej.field == "$.timestamp"
    just_ahead = (NOW + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert mapper.map_record(deposit_payload(processed_at=just_ahead), now=NOW).events


def test_future_skew_is_configurable_and_can_be_turned_off(make_mapper):
    ahead = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    wide = make_mapper(DEPOSIT_RULE, extra="guards:\n  future_skew: {seconds: 7200}\n")
    assert wide.map_record(deposit_payload(processed_at=ahead), now=NOW).events
    off = make_mapper(DEPOSIT_RULE, extra="guards:\n  future_skew: false\n")
    assert off.map_record(deposit_payload(processed_at=ahead), now=NOW).events


def test_string_length_guard_checks_the_customer_id(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    result = mapper.map_record(deposit_payload(player_id="x" * 256), now=NOW)
    assert [r.code for r in result.rejections] in (["string_too_long"], ["coerce_failed"])
    assert result.rejections[0].field == "$.customer"


def test_go_live_uses_event_time_not_processing_time(make_mapper):
    mapper = make_mapper(DEPOSIT_RULE)
    late_arrival = datetime(2027, 6, 1, tzinfo=UTC)  # processed long after, event before go-live
    result = mapper.map_record(deposit_payload(processed_at="2026-11-01T00:00:00Z"), now=late_arrival)
    assert [f.reason for f in result.filtered] == ["pre_go_live"]
    result = mapper.map_record(deposit_payload(processed_at="2026-12-01T00:00:00Z"), now=late_arrival)
    assert result.events  # exactly at go-live passes


def test_a_local_plugin_can_add_a_guard_and_a_function(make_mapper, tmp_path):
    (tmp_path / "my_plugin.py").write_text(
        '''
from ebi_mapper import FunctionDef, GuardDef, Rejection, hookimpl

@hookimpl
def register_functions(register):
    register(FunctionDef("shout", lambda s: s.upper() + "!", (("string",),)))

def no_test_players(options, mapping):
    def check(event, ctx):
        if event.customer.startswith("test-"):
            yield Rejection("test_player", "test players are not sent", ctx.rule.name, event.event, "$.customer")
    return check

@hookimpl
def register_guards(register):
    register(GuardDef("no_test_players", no_test_players))
'''
    )
    rule = DEPOSIT_RULE.replace("ootb_deposit_method: data.method", "ootb_deposit_method: shout(data.method)")
    mapper = make_mapper(rule, extra="plugins: [my_plugin.py]\n")
    assert mapper.map_record(deposit_payload(), now=NOW).events[0].context["ootb_deposit_method"] == "CARD!"
    [rej] = mapper.map_record(deposit_payload(player_id="test-1"), now=NOW).rejections
    assert rej.code == "test_player"


def test_lookup_enricher_sets_a_param_from_a_table(make_mapper):
    extra = """
tables:
  brands: {"1": "AcmeBet", "2": "AcmeSlots"}
enrichers:
  - name: lookup
    options: {table: brands, key: data.brand_id, param: ootb_brand}
"""
    mapper = make_mapper(DEPOSIT_RULE, extra=extra)
    assert mapper.map_record(deposit_payload(brand_id=2), now=NOW).events[0].context["ootb_brand"] == "AcmeSlots"
    assert "ootb_brand" not in mapper.map_record(deposit_payload(brand_id=9), now=NOW).events[0].context


def test_constant_enricher(make_mapper):
    extra = """
enrichers:
  - name: constant
    options: {params: {ootb_brand: AcmeBet, ootb_platform: web}}
"""
    mapper = make_mapper(DEPOSIT_RULE, extra=extra)
    context = mapper.map_record(deposit_payload(), now=NOW).events[0].context
    assert context["ootb_brand"] == "AcmeBet" and context["ootb_platform"] == "web"


def test_a_third_party_enricher_runs_when_the_mapping_names_it(make_mapper, tmp_path):
    (tmp_path / "enrich_plugin.py").write_text(
        '''
from ebi_mapper import EnricherDef, hookimpl

def channel_from_platform(options, mapping):
    def enrich(event, ctx):
        platform = (ctx.payload.get("data") or {}).get("platform")
        return {"ootb_channel": "mobile" if platform in ("ios", "android") else "web"}
    return enrich

@hookimpl
def register_enrichers(register):
    register(EnricherDef("channel_from_platform", channel_from_platform))
'''
    )
    extra = "plugins: [enrich_plugin.py]\nenrichers:\n  - name: channel_from_platform\n"
    mapper = make_mapper(DEPOSIT_RULE, extra=extra)
    assert mapper.registry.provided_by[("enrichers", "channel_from_platform")].startswith("local:")
    assert mapper.map_record(deposit_payload(platform="ios"), now=NOW).events[0].context["ootb_channel"] == "mobile"


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_a_guard_that_raises_is_named_as_registered(make_mapper, tmp_path, fast):
    """guard_failed names the guard as the docs and the mapping do (`buggy`), not its Python function."""
    (tmp_path / "buggy_plugin.py").write_text(
        '''
from ebi_mapper import GuardDef, hookimpl

def buggy(options, mapping):
    def check(event, ctx):
        raise KeyError("oops")
    return check

@hookimpl
def register_guards(register):
    register(GuardDef("buggy", buggy))
'''
    )
    mapper = make_mapper(DEPOSIT_RULE, extra="plugins: [buggy_plugin.py]\n")
    mapper.fast = fast
    [rej] = mapper.map_record(deposit_payload(), now=NOW).rejections
    assert rej.code == "guard_failed" and rej.message.startswith("guard 'buggy' raised KeyError")


def test_a_trace_names_guards_as_the_docs_do(make_mapper):
    from ebi_mapper.engine import Trace

    trace = Trace()
    make_mapper(DEPOSIT_RULE).map_record(deposit_payload(), now=NOW, trace=trace)
    guards = [s.name for s in trace.steps if s.name.startswith("guard ")]
    assert guards == ["guard go_live", "guard currency", "guard string_length", "guard future_skew"]
