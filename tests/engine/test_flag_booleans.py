"""A JSON boolean into a 0/1 number flag (``ootb_is_live``) is converted losslessly: true -> 1, false -> 0.

Issue #11 item 12: ``ootb_is_live: false`` was rejected (``not an integer``). The catalog marks the
params that are 0/1 flags (``flag: true``, choices.yaml ``boolean_into_flags``); only those take
booleans, an ordinary integer (``ootb_leg_num``) still rejects one. Both engine paths agree.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.catalog import load_catalog

from .conftest import NOW

SPORT = """
ebi_mapping: 1
client: test-sport
vertical: sport
tenant: 567
site_currency: EUR
source_timezone: UTC
rules:
  - name: bet
    when: "type == 'bet'"
    event: ootb_sports_bet_placed
    customer: player
    timestamp: at
    context:
      ootb_betslip_key: slip
      ootb_bet_key: bet
      ootb_is_live: live
      ootb_leg_num: leg
"""


@pytest.fixture(scope="module")
def mappers(tmp_path_factory):
    path = tmp_path_factory.mktemp("flags") / "sport.yaml"
    path.write_text(textwrap.dedent(SPORT))
    fast = compile_mapping(load_mapping(path))
    reference = compile_mapping(load_mapping(path), fast=False)
    return fast, reference


def _payload(live, leg=1):
    return {"type": "bet", "player": "p1", "at": "2026-12-10T10:00:00Z", "slip": "s1", "bet": "b1", "live": live, "leg": leg}


def test_the_catalog_marks_the_0_1_flags():
    flags = {(e.key, p.key) for e in load_catalog().events.values() for p in e.params.values() if p.flag}
    assert flags == {("ootb_sports_bet_placed", "ootb_is_live"), ("ootb_sports_bet_settled", "ootb_is_live")}


@pytest.mark.parametrize(("live", "sent"), [(False, 0), (True, 1), (0, 0), (1, 1)])
def test_a_boolean_into_a_flag_becomes_0_or_1_on_both_paths(mappers, live, sent):
    for mapper in mappers:
        [event] = mapper.map_record(_payload(live), now=NOW).events
        assert event.context["ootb_is_live"] == sent and type(event.context["ootb_is_live"]) is int


def test_a_boolean_into_an_ordinary_integer_is_still_rejected(mappers):
    for mapper in mappers:
        result = mapper.map_record(_payload(False, leg=True), now=NOW)
        assert [(r.code, r.field) for r in result.rejections] == [("coerce_failed", "$.context.ootb_leg_num")]


@settings(max_examples=150, deadline=None)
@given(live=st.one_of(st.booleans(), st.integers(-3, 3), st.sampled_from(["1", "0", "true", "yes", "", "1.0"]), st.floats(allow_nan=False), st.none()))
def test_both_paths_agree_on_any_flag_value(mappers, live):
    fast, reference = mappers
    a, b = (m.map_record(_payload(live), now=NOW) for m in (fast, reference))
    assert [e.to_dict() for e in a.events] == [e.to_dict() for e in b.events]
    assert [r.to_dict() for r in a.rejections] == [r.to_dict() for r in b.rejections]
