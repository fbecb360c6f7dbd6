"""Issue 15 in the engine: `let:` named values, `fields:` + `extends:`, and the two-level `each`.

Every case runs on both engine paths (generated runners and the reference interpreter) and
asserts the same result; tests/engine/test_fast_path_differential.py adds random payloads.
"""

from __future__ import annotations

import copy
import textwrap

import pytest

from ebi_mapper import compile_mapping, load_mapping

from .conftest import BASE, NOW

SPORT = BASE.replace("vertical: casino", "vertical: sport")

MAPPING = SPORT + textwrap.dedent(
    """
    fields:
      odds:
        let:
          dec: "coalesce(item.price.dec, odds_decimal(item.price.frac), odds_decimal(item.price.us))"
        context:
          ootb_dec_price: vars.dec
          ootb_american_price: "round(odds_american(vars.dec), `0`)"
          ootb_odds_num: "to_number(split(odds_fraction(vars.dec), '/')[0])"
    rules:
      - name: placed
        when: "type == 'placed'"
        event: ootb_sports_bet_placed
        each: {outer: bets, inner: item.legs}
        extends: [odds]
        let:
          stake: "allocate(outer.stake, length(outer.legs), index)"
        customer: root.player
        timestamp: root.at
        currency: root.currency
        context:
          ootb_betslip_key: to_string(root.ticket)
          ootb_bet_key: "concat(outer.id, '-', to_string(outer_index), '-', to_string(index))"
          ootb_bet_sel_stake: vars.stake
          ootb_leg_num: index
          ootb_num_selections: length(outer.legs)
          ootb_is_live: to_flag(item.live)
      - name: settled
        when: "type == 'settled'"
        event: ootb_sports_bet_settled
        extends: [odds]
        let:
          dec: "odds_decimal(price)"
          phone: contact.phone
        customer: player
        timestamp: at
        currency: currency
        context:
          ootb_betslip_key: to_string(ticket)
          ootb_bet_key: to_string(ticket)
          ootb_american_price: "`1`"
          ootb_betslip_status: {expr: vars.phone, nulls: keep}
    """
)

PLACED = {
    "type": "placed", "player": "p1", "at": "2026-12-10T10:00:00Z", "currency": "EUR", "ticket": 9,
    "bets": [
        {"id": "b1", "stake": "70", "legs": [{"price": {"dec": 2.5}, "live": True}, {"price": {"frac": "5/2"}}, {"price": {"us": "-200"}, "live": "no"}]},
        {"id": "b2", "stake": "10", "legs": []},
        {"id": "b3", "stake": "5", "legs": "x"},
        {"id": "b4", "stake": "5", "legs": [{"price": {"frac": "5/0"}}]},
    ],
}
SETTLED = {"type": "settled", "player": "p1", "at": "2026-12-10T10:00:00Z", "currency": "EUR", "ticket": 9, "price": "10/11", "contact": {}}


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    path = tmp_path_factory.mktemp("lets") / "bets.yaml"
    path.write_text(MAPPING)
    mapping = load_mapping(path)
    return compile_mapping(mapping), compile_mapping(mapping, fast=False)


def both(paths, payload):
    fast, reference = paths
    expected = reference.map_record(copy.deepcopy(payload), now=NOW)
    assert fast.map_record(copy.deepcopy(payload), now=NOW) == expected
    return expected


def test_a_two_level_each_makes_one_event_per_inner_element_with_outer_and_both_indexes(paths):
    result = both(paths, PLACED)
    contexts = [e.context for e in result.events]
    assert [c["ootb_bet_key"] for c in contexts] == ["b1-0-0", "b1-0-1", "b1-0-2"]
    assert [c["ootb_leg_num"] for c in contexts] == [0, 1, 2]
    assert {c["ootb_num_selections"] for c in contexts} == {3}


def test_named_values_are_computed_per_element_and_shared_by_fields(paths):
    contexts = [e.context for e in both(paths, PLACED).events]
    assert [c["ootb_dec_price"] for c in contexts] == [2.5, 3.5, 1.5]
    assert [c["ootb_american_price"] for c in contexts] == [150, 250, -200]
    assert [c["ootb_odds_num"] for c in contexts] == [3, 5, 1]  # 3/2, 5/2, 1/2
    assert [c["ootb_bet_sel_stake"] for c in contexts] == [23.34, 23.33, 23.33]  # sums to 70 exactly
    assert [c.get("ootb_is_live") for c in contexts] == [1, None, 0]  # to_flag: a missing flag stays missing


def test_inner_array_problems_name_the_outer_index_and_the_others_go_on(paths):
    result = both(paths, PLACED)
    assert [f.detail for f in result.filtered] == ["each.inner: 'item.legs' produced an empty array at outer index 1"]
    codes = [(r.code, r.field, r.message) for r in result.rejections]
    assert codes[0] == ("each_not_array", "each.inner", "each.inner: 'item.legs' produced a str at outer index 2, expected an array")
    # a named value that cannot be computed rejects that element's event, naming the value
    assert codes[1] == ("expression_error", "let.dec", "let.dec: odds_decimal(): '5/0' has a zero denominator (outer index 3, index 0)")
    assert len(result.events) == 3


def test_an_outer_array_that_is_missing_is_reported_as_for_one_level(paths):
    result = both(paths, {**PLACED, "bets": None})
    assert [(r.code, r.message) for r in result.rejections] == [("each_not_array", "each: 'bets' produced nothing (missing or null), expected an array")]


def test_the_rules_own_entries_override_the_field_set(paths):
    (event,) = both(paths, SETTLED).events
    assert event.context["ootb_dec_price"] == 1.9090909090909092  # the rule's own `dec` (from the fraction)
    assert event.context["ootb_american_price"] == 1  # the rule's own context entry
    assert event.context["ootb_odds_num"] == 10  # the set's field, reading the rule's value


def test_missing_and_null_stay_apart_through_a_named_value(paths):
    missing = both(paths, SETTLED).events[0].context
    assert "ootb_betslip_status" not in missing  # produced nothing: left out even with nulls: keep
    null = both(paths, {**SETTLED, "contact": {"phone": None}}).events[0].context
    assert null["ootb_betslip_status"] is None  # an explicit null: kept by the field's policy


def test_the_record_itself_is_never_changed(paths):
    for mapper in paths:
        payload = copy.deepcopy(SETTLED)
        mapper.map_record(payload, now=NOW)
        assert payload == SETTLED  # no `vars` key written into the caller's record


def test_explain_traces_the_named_values(paths):
    from ebi_mapper.engine.trace import Trace

    trace = Trace()
    paths[0].map_record(copy.deepcopy(SETTLED), now=NOW, trace=trace)
    text = repr(trace.__dict__)
    assert "let.dec" in text and "let.phone" in text
