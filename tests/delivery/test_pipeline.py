"""The delivery loop in-process, with the real engine and state store and sink doubles at the sink edge."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from delivery_helpers import RecordingSink, ScriptedSink, reached, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state
from ebi_mapper.extensions import SendResult

FAST = DeliveryOptions(linger=0.02, chunk_size=100, concurrency=4, seed=7,
                       retry=RetryPolicy(base_delay=0.001, max_delay=0.01, max_attempts=3))


def run(tmp_path, mapper, catalog, source, sink, bespoke=None, options=FAST, limits=None, replay=False):
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=limits),
                            event_sink=sink, bespoke_sink=bespoke, bespoke_route="data_studio" if bespoke else None,
                            options=options)
        try:
            if replay:
                return loop.replay_dead_letters("replay")
            return loop.run_input(make_source(str(source)))
        finally:
            loop.close()


def sent_pks(batches):
    return Counter(orjson.dumps([e["event"], e["customer"], e["timestamp"], e["context"]]) for b in batches for e in b)


def test_mixed_input_accounting_adds_up(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 1500, seed=3)
    sink, bespoke = RecordingSink(), RecordingSink()
    s = run(tmp_path, mapper, catalog, src, sink, bespoke)
    r = s.records
    assert s.status == "complete" and s.adds_up and s.backlog == 0 and r["pending"] == 0
    assert r["read"] == expected["records"] == r["delivered"] + r["superseded"] + r["rejected"] + r["filtered"] + r["duplicate"]
    for outcome, count in expected["outcomes"].items():
        assert reached(r, outcome) == count, outcome
    # Events: everything queued was delivered or superseded by a newer version of its PK.
    e = s.events
    assert e["new"] + e["update"] == e["delivered"] + e["superseded"] and e["dead_lettered"] == 0
    assert e["new"] == expected["event_pks"]
    # Batches: ≤ 10 events, one rate class each; bespoke rows only in the bespoke sink.
    plan = make_rate_plan(catalog)
    assert all(1 <= len(b) <= 10 for b in sink.batches)
    assert all(len({plan.class_of(ev["event"]) for ev in b}) == 1 for b in sink.batches)
    assert all("event" in ev for b in sink.batches for ev in b)
    assert all("attributes" in row and "event" not in row for b in bespoke.batches for row in b)
    assert sum(map(len, bespoke.batches)) == expected["bespoke_rows"]
    # Nothing sent twice.
    assert max(sent_pks(sink.batches).values()) == 1


def test_running_the_same_input_again_sends_nothing(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 400, seed=5, kinds={"deposit": 5, "signup": 2, "bet": 2, "no_rule": 1})
    run(tmp_path, mapper, catalog, src, RecordingSink())
    sink = RecordingSink()
    s = run(tmp_path, mapper, catalog, src, sink)
    assert sink.batches == []
    assert s.records["duplicate"] == expected["records"] - expected["outcomes"].get("filtered", 0)


def test_max_records_stops_and_the_next_run_resumes(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 700, seed=11)
    sinks = []
    for _ in range(3):
        sinks.append(RecordingSink())
        s = run(tmp_path, mapper, catalog, src, sinks[-1], RecordingSink(),
                options=DeliveryOptions(linger=0.02, chunk_size=50, max_records=300))
    assert [len(x.batches) > 0 for x in sinks] == [True, True, True]
    assert s.status == "complete" and s.records["read"] == 700 and s.adds_up
    for outcome, count in expected["outcomes"].items():
        assert reached(s.records, outcome) == count
    assert max(sent_pks([b for x in sinks for b in x.batches]).values()) == 1


def _poison(batch, n):
    for i, ev in enumerate(batch):
        if ev["event"] == "ootb_sports_bet_placed":
            return SendResult("rejected", reason=f"event {i} refused: poison", http_status=400)
    return SendResult("ok")


def _poison_indexed(batch, n):
    for i, ev in enumerate(batch):
        if ev["event"] == "ootb_sports_bet_placed":
            return SendResult("rejected", reason="poison", http_status=400, rejected_index=i)
    return SendResult("ok")


def _ten_with_one_poison(path):
    lines = [{"type": "deposit", "player": 1, "tx": f"t{i}", "amount": 10, "currency": "EUR", "at": "2025-01-01T00:00:00Z"}
             for i in range(9)]
    lines.insert(4, {"type": "bet", "player": 1, "tx": "b1", "at": "2025-01-01T00:00:00Z"})
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


@pytest.mark.parametrize("script,requests", [(_poison, 9), (_poison_indexed, 2)], ids=["bisect", "rejected-index"])
def test_one_poison_event_in_a_batch_of_ten(tmp_path, mapper, catalog, script, requests):
    src = tmp_path / "in.jsonl"
    _ten_with_one_poison(src)
    sink = ScriptedSink(script)
    s = run(tmp_path, mapper, catalog, src, sink)
    assert len(sink.batches[0]) == 10
    assert len(sink.accepted) == 9 and all(e["event"] == "ootb_deposit" for e in sink.accepted)
    assert s.events["delivered"] == 9 and s.events["dead_lettered"] == 1
    assert s.records == {"read": 10, "delivered": 9, "rejected": 1, "filtered": 0, "duplicate": 0, "stale": 0, "superseded": 0, "pending": 0}
    assert sink.calls == requests
    with open_state(tmp_path / "state") as state:
        [dl] = state.dead_letters()
    assert dl.kind == "sink" and "poison" in dl.reasons[0]["message"] and dl.payload["tx"] == "b1"
    assert dl.event["event"] == "ootb_sports_bet_placed"


def test_transient_failures_are_retried(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 100, seed=2, kinds={"deposit": 1})
    sink = ScriptedSink(lambda b, n: SendResult("retry", http_status=500, reason="HTTP 500") if n % 3 else SendResult("ok"))
    s = run(tmp_path, mapper, catalog, src, sink,
            options=DeliveryOptions(linger=0.01, seed=1, retry=RetryPolicy(base_delay=0.001, max_delay=0.005, max_attempts=50)))
    assert s.records["delivered"] == 100 and s.this_run["requests_retry"] > 0
    assert len({e["context"]["ootb_transaction_id"] for e in sink.accepted}) == 100


def test_a_sink_exception_is_a_retry(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 20, seed=2, kinds={"deposit": 1})

    def script(batch, n):
        if n == 1:
            raise ConnectionResetError("peer went away")
        return SendResult("ok")

    s = run(tmp_path, mapper, catalog, src, ScriptedSink(script))
    assert s.records["delivered"] == 20 and s.this_run["requests_ok"] >= 2


def test_give_up_dead_letters_then_replay_delivers_once(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 30, seed=4, kinds={"deposit": 1})
    down = ScriptedSink(lambda b, n: SendResult("retry", reason="connection refused"))
    s = run(tmp_path, mapper, catalog, src, down)
    assert s.records["rejected"] == 30 and s.events["dead_lettered"] == 30
    assert down.calls == 3 * 3  # 3 batches × max_attempts
    up = RecordingSink()
    r = run(tmp_path, mapper, catalog, src, up, replay=True)
    assert r.records["delivered"] == 30 and sum(map(len, up.batches)) == 30
    again = RecordingSink()
    r2 = run(tmp_path, mapper, catalog, src, again, replay=True)
    assert r2.this_run.get("records_read", 0) == 0 and again.batches == []
    with open_state(tmp_path / "state") as state:
        assert state.dead_letter_count() == 0 and state.dead_letter_count(include_replayed=True) == 30


def test_a_replay_the_sink_refuses_again_leaves_each_record_a_waiting_dead_letter(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 12, seed=5, kinds={"deposit": 1})
    down = ScriptedSink(lambda b, n: SendResult("retry", reason="connection refused"))
    assert run(tmp_path, mapper, catalog, src, down).records["rejected"] == 12
    still_down = ScriptedSink(lambda b, n: SendResult("retry", reason="connection refused"))
    r = run(tmp_path, mapper, catalog, src, still_down, replay=True)
    assert r.records["rejected"] == 12 and r.events["dead_lettered"] == 12
    with open_state(tmp_path / "state") as state:
        waiting = state.dead_letters()
        assert len(waiting) == 12 and {d.kind for d in waiting} == {"sink"}
        assert state.dead_letter_count(include_replayed=True) == 24


def test_replay_after_a_mapping_fix_sends_only_what_was_missing(tmp_path, mapper, catalog, mapping):
    from dataclasses import replace

    from ebi_mapper import compile_mapping
    from ebi_mapper.mapping.model import Expr, FieldSpec, Loc

    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in [
        {"type": "deposit", "player": 1, "tx": "a", "amount": "12,50", "currency": "EUR", "at": "2025-01-01T00:00:00Z"},
        {"type": "deposit", "player": 1, "tx": "b", "amount": 3, "currency": "EUR", "at": "2025-01-01T00:00:00Z"},
    ]))
    first = RecordingSink()
    s = run(tmp_path, mapper, catalog, src, first)
    assert s.records["rejected"] == 1 and s.records["delivered"] == 1
    # The fix: amounts with a decimal comma.
    rule = mapping.rules[0]
    amount = FieldSpec(Expr("to_number(replace(to_string(amount), ',', '.'))", Loc("fix", 1, 1)))
    fixed = replace(mapping, rules=(replace(rule, context={**rule.context, "ootb_deposit_amount": amount}), *mapping.rules[1:]))
    second = RecordingSink()
    r = run(tmp_path, compile_mapping(fixed), catalog, src, second, replay=True)
    assert [e["context"]["ootb_transaction_id"] for b in second.batches for e in b] == ["a"]
    assert second.batches[0][0]["context"]["ootb_deposit_amount"] == 12.5
    assert r.records["delivered"] == 1


def test_malformed_lines_are_dead_lettered_with_their_text(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"type": "noise"}\n\n{broken\n' + b"\xff\xfe\n")
    s = run(tmp_path, mapper, catalog, src, RecordingSink())
    assert s.records == {"read": 3, "delivered": 0, "rejected": 2, "filtered": 1, "duplicate": 0, "stale": 0, "superseded": 0, "pending": 0}
    with open_state(tmp_path / "state") as state:
        letters = state.dead_letters()
    assert [d.kind for d in letters] == ["malformed", "malformed"] and letters[0].payload == "{broken"
    assert letters[0].source.endswith(":3")


def test_folder_input_is_read_in_name_order_and_resumed(tmp_path, mapper, catalog):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, start in (("b.jsonl", 100), ("a.jsonl", 0), ("c.jsonl", 200)):
        (folder / name).write_bytes(b"".join(
            orjson.dumps({"type": "deposit", "player": 1, "tx": f"t{start + i}", "amount": 1, "currency": "EUR",
                          "at": "2025-01-01T00:00:00Z"}) + b"\n" for i in range(40)))
    sinks = [RecordingSink() for _ in range(3)]
    for sink in sinks:
        s = run(tmp_path, mapper, catalog, folder, sink, options=DeliveryOptions(linger=0.01, chunk_size=25, max_records=50))
    order = [int(e["context"]["ootb_transaction_id"][1:]) for x in sinks for b in x.batches for e in b]
    assert sorted(order) == list(range(0, 40)) + list(range(100, 140)) + list(range(200, 240))
    assert order[:40] == list(range(40))  # a.jsonl first
    assert s.status == "complete" and s.records["delivered"] == 120


def test_profile_requests_respect_a_small_limit(tmp_path, mapper, catalog):
    import time

    src = tmp_path / "in.jsonl"
    write_mixed(src, 120, seed=9, kinds={"signup": 1})
    stamps = []

    def script(batch, n):
        stamps.append(time.monotonic())
        return SendResult("ok")

    s = run(tmp_path, mapper, catalog, src, ScriptedSink(script), limits={"profile": "4/0.5s"},
            options=DeliveryOptions(linger=0.01, chunk_size=200, concurrency=4))
    assert s.records["delivered"] == 120 and len(stamps) == 12
    stamps.sort()
    assert all(stamps[i + 4] - stamps[i] >= 0.5 for i in range(len(stamps) - 4))


def test_a_restarted_run_remembers_the_profile_window(tmp_path, mapper, catalog):
    """Sends of a previous process count in the window, so a quick restart cannot double the burst."""
    import time

    stamps = []

    def script(batch, n):
        stamps.append(time.monotonic())
        return SendResult("ok")

    for part in range(2):
        src = tmp_path / f"in{part}.jsonl"
        src.write_bytes(b"".join(orjson.dumps({"type": "signup", "player": f"p{part}-{i}", "email": "a@b.c",
                                               "at": "2025-01-01T00:00:00Z"}) + b"\n" for i in range(40)))
        run(tmp_path, mapper, catalog, src, ScriptedSink(script), limits={"profile": "4/1s"},
            options=DeliveryOptions(linger=0.01, chunk_size=200, concurrency=4))
    assert len(stamps) == 8
    assert stamps[4] - stamps[0] >= 1.0  # the second run's first request waited for the first run's window
