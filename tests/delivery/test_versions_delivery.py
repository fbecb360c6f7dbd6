"""Source versions, stale arrivals and profile deltas through `run`'s pipeline to the real sandbox (issue #10 item 5, #11 item 11)."""

from __future__ import annotations

import orjson
import pytest

from delivery_helpers import sportsbook_mapping
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state

AT = "2025-03-01T12:00:00Z"

pytestmark = pytest.mark.usefixtures("optimove_token")  # sandbox and token: conftest.py


def make_mapper(tmp_path, *, extra="", version=""):
    from ebi_mapper import compile_mapping, load_mapping

    path = tmp_path / "m.yaml"
    path.write_text(sportsbook_mapping(extra=extra, version=version))
    return compile_mapping(load_mapping(path))


def deliver(sandbox, tmp_path, mapper, lines, *, name="in.jsonl", linger=0.5):
    from ebi_mapper.catalog import load_catalog
    from ebi_mapper.plugins import make_registry

    src = tmp_path / name
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    sink = make_registry(entry_points=False).sink("optimove").factory({"url": sandbox.endpoint, "timeout": 5.0, "trust_env": False})
    opts = DeliveryOptions(linger=linger, concurrency=4, seed=1, retry=RetryPolicy(base_delay=0.02, max_delay=0.2))
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(load_catalog()), event_sink=sink, options=opts)
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
            sink.close()
    assert summary.adds_up, summary.to_dict()
    return summary


def settled(version, result, payout):
    return {"type": "settled", "player": 9, "slip": "S1", "leg": "L1", "placed_at": AT, "currency": "EUR",
            "settlement": {"version": version, "result": result, "payout": payout}}


def stored(sandbox, event):
    return [e["data"] for e in sandbox.events(event=event)]


def test_an_outdated_resettlement_is_stale_and_never_sent(sandbox, tmp_path):
    mapper = make_mapper(tmp_path)
    s = deliver(sandbox, tmp_path, mapper, [settled(1, "lost", 0), settled(2, "won", 35.5), settled(1, "lost", 0)])
    (leg,) = stored(sandbox, "ootb_sports_bet_settled")
    assert leg["context"]["ootb_leg_status"] == "won" and leg["context"]["ootb_bet_payout"] == 35.5
    assert s.records["stale"] == 1 and s.events["stale"] == 1
    # The highest version is durable: v1 redelivered in a later run (a new input, a reopened state) is still stale.
    s2 = deliver(sandbox, tmp_path, mapper, [settled(1, "lost", 0)], name="redelivered.jsonl")
    assert s2.records == {"read": 1, "delivered": 0, "rejected": 0, "filtered": 0, "duplicate": 0, "stale": 1, "superseded": 0, "pending": 0}
    assert stored(sandbox, "ootb_sports_bet_settled")[0]["context"]["ootb_leg_status"] == "won"
    assert sandbox.events(event="ootb_sports_bet_settled")[0]["updates"] == 0  # v1 never reached it after v2


def test_the_highest_version_wins_whatever_the_arrival_order(sandbox, tmp_path):
    mapper = make_mapper(tmp_path)
    deliver(sandbox, tmp_path, mapper, [settled("2026-01-02T10:00:00+02:00", "won", 10), settled("2026-01-02T07:59:59Z", "lost", 0)])
    assert stored(sandbox, "ootb_sports_bet_settled")[0]["context"]["ootb_leg_status"] == "won"  # 08:00Z > 07:59:59Z


def test_a_version_of_another_kind_is_refused_with_a_reason(sandbox, tmp_path):
    mapper = make_mapper(tmp_path)
    s = deliver(sandbox, tmp_path, mapper, [settled(2, "won", 10), settled("2026-01-02T10:00:00Z", "lost", 0)])
    assert s.records["rejected"] == 1 and s.records["delivered"] == 1
    with open_state(tmp_path / "state") as state:
        (dl,) = state.dead_letters()
    assert dl.reasons[0]["code"] == "version_incomparable"


def profile(player, **fields):
    return {"type": "player_updated", "player": player, "at": AT, **fields}


def test_unsent_profile_updates_merge_field_by_field(sandbox, tmp_path):
    """A self-exclusion followed by an update that only removes the mobile number: the receiver ends with both."""
    mapper = make_mapper(tmp_path)
    signup = {"type": "signup", "player": 5, "email": "p5@example.com", "at": AT}
    s = deliver(sandbox, tmp_path, mapper, [signup, profile(5, blocked=True), profile(5, mobile=None)])
    (update,) = stored(sandbox, "ootb_user_details_update")
    assert update["context"] == {"ootb_is_blocked": True, "ootb_mobile_number": None, "ootb_email": "p5@example.com", "ootb_allow_email": "Yes"}
    # The first update's event was superseded by the merged one (which carries its fields): the
    # record line says so, as the event line does.
    assert (s.records["delivered"], s.records["superseded"], s.events["superseded"]) == (2, 1, 1) and s.events["partial"] == 0


def test_a_delta_after_an_acknowledged_one_still_carries_its_fields(sandbox, tmp_path):
    mapper = make_mapper(tmp_path)
    deliver(sandbox, tmp_path, mapper, [{"type": "signup", "player": 6, "email": "p6@example.com", "at": AT}, profile(6, blocked=True)], name="a.jsonl")
    deliver(sandbox, tmp_path, mapper, [profile(6, city="Valletta")], name="b.jsonl")
    (update,) = stored(sandbox, "ootb_user_details_update")
    assert update["context"] == {"ootb_is_blocked": True, "ootb_city": "Valletta", "ootb_email": "p6@example.com", "ootb_allow_email": "Yes"}


def test_with_versions_a_late_older_delta_fills_only_what_newer_ones_never_set(sandbox, tmp_path):
    mapper = make_mapper(tmp_path, version="version: seq")
    lines = [profile(7, email="p7@example.com", city="Rome", seq=2), profile(7, city="Paris", blocked=True, seq=1),
             profile(7, city="Oslo", seq=1)]
    s = deliver(sandbox, tmp_path, mapper, lines)
    (update,) = stored(sandbox, "ootb_user_details_update")
    assert update["context"] == {"ootb_email": "p7@example.com", "ootb_city": "Rome", "ootb_is_blocked": True}
    assert s.records["stale"] == 1  # the third brings nothing newer than what is known


@pytest.mark.parametrize("policy", ["send", "reject"])
def test_a_partial_update_of_an_unknown_customer_follows_the_policy(sandbox, tmp_path, policy):
    mapper = make_mapper(tmp_path, extra=f"partial_profiles: {policy}")
    s = deliver(sandbox, tmp_path, mapper, [profile(8, city="Riga")])
    if policy == "send":
        assert stored(sandbox, "ootb_user_details_update")[0]["context"] == {"ootb_city": "Riga"}
        assert s.records["delivered"] == 1 and s.events["partial"] == 1
    else:
        assert stored(sandbox, "ootb_user_details_update") == []
        assert s.records["rejected"] == 1
        with open_state(tmp_path / "state") as state:
            (dl,) = state.dead_letters()
        assert dl.reasons[0]["code"] == "profile_unknown" and "ootb_email" in dl.reasons[0]["message"]


def test_a_partial_update_is_completed_from_the_known_profile(sandbox, tmp_path):
    mapper = make_mapper(tmp_path, extra="partial_profiles: reject")
    deliver(sandbox, tmp_path, mapper, [{"type": "signup", "player": 4, "email": "p4@example.com", "at": AT}], name="a.jsonl")
    s = deliver(sandbox, tmp_path, mapper, [profile(4, city="Riga")], name="b.jsonl")
    assert s.records["delivered"] == 1
    assert stored(sandbox, "ootb_user_details_update")[0]["context"] == {"ootb_city": "Riga", "ootb_email": "p4@example.com", "ootb_allow_email": "Yes"}
