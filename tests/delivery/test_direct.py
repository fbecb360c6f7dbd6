"""The direct path (delivery/direct.py): an inline sink gets a chunk's events inside the chunk's
transaction. It must end where the outbox path ends: the same counts, the same content per PK at
the receiver, the same dedup state, also on a second pass and when the sink refuses part-way.

"The same counts" up to one timing choice the outbox path makes too: an event whose PK gets a newer
version is ``superseded`` if that version was read before the event's batch went out, else
``delivered`` (then the newer one follows it). The outbox path's batches wait for more events
(linger), the direct path sends at the end of each chunk, so the split between the two counters
may differ; their sum, every other counter and the receiver's final content per PK may not."""

from __future__ import annotations

import sqlite3
from collections import Counter

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_helpers import MAPPING, RecordingSink, ScriptedSink, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state
from ebi_mapper.errors import SinkBugError
from ebi_mapper.extensions import SendResult

NO_LIMITS = {"profile": "none", "default": "none", "global": "none"}


class InlineSink(ScriptedSink):
    inline = True


class ThreadedSink(ScriptedSink):
    """Not inline: its batches go out on the loop's workers, several in flight, answered in any order.

    Remembers how many were in flight at once and whether two of them ever held one PK."""

    def __init__(self, script, *, jitter: float = 0.002, seed: int = 0):
        super().__init__(script)
        import random
        import threading

        self.rng = random.Random(seed)
        self.flying: list[set] = []
        self.most = 0
        self.shared_pk = False
        self.guard = threading.Lock()
        self.jitter = jitter

    def send(self, batch):
        import time

        keys = {_key(e) for e in batch}
        with self.guard:
            self.shared_pk |= any(keys & other for other in self.flying)
            self.flying.append(keys)
            self.most = max(self.most, len(self.flying))
            pause = self.rng.uniform(0, self.jitter)
        try:
            time.sleep(pause)  # answers come back out of order
            return super().send(batch)
        finally:
            with self.guard:
                self.flying.remove(keys)


def _key(event):
    ctx = event.get("context", {})
    return (event["event"], event.get("customer"), ctx.get("ootb_transaction_id") or ctx.get("ootb_bet_key"))


def _run(tmp_path, name, mapper, catalog, src, sink, *, direct, bespoke=None, passes=1, chunk=37, concurrency=2, limits=None):
    summaries = []
    with open_state(tmp_path / name) as state:
        for _ in range(passes):
            loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=limits or NO_LIMITS), event_sink=sink,
                                bespoke_sink=bespoke, bespoke_route="data_studio" if bespoke is not None else None,
                                options=DeliveryOptions(linger=0.01, chunk_size=chunk, concurrency=concurrency, seed=1, direct=direct,
                                                        retry=RetryPolicy(base_delay=0.001, max_delay=0.01)))
            try:
                summaries.append(loop.run_input(make_source(str(src))))
            finally:
                loop.close()
    conn = sqlite3.connect(tmp_path / name / "state.sqlite")
    dedup = sorted(conn.execute("SELECT pk_hash, content_hash, sent_hash FROM dedup").fetchall())
    left = conn.execute("SELECT (SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM pending)").fetchone()
    conn.close()
    return summaries, dedup, left


def _at_receiver(sink) -> dict:
    """The receiver's content per PK (event, customer, transaction or the whole context): the last one it took."""
    return {_key(event): event for event in sink.accepted}


def _merged(totals: dict) -> dict:
    """The counters with delivered and superseded as one (see the module's docstring)."""
    out = dict(totals)
    for prefix in ("records", "events"):
        out[f"{prefix}_reached"] = out.pop(f"{prefix}_delivered", 0) + out.pop(f"{prefix}_superseded", 0)
    return out


def _ok(batch, n):
    return SendResult("ok")


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([1, 7, 37, 500]))
def test_the_direct_path_ends_where_the_outbox_path_ends(tmp_path_factory, mapper, catalog, seed, chunk):
    tmp_path = tmp_path_factory.mktemp("direct")
    src = tmp_path / "in.jsonl"
    write_mixed(src, 300, seed=seed)
    runs = {}
    for direct in (True, False):
        sink, bespoke = InlineSink(_ok), RecordingSink()
        summaries, dedup, left = _run(tmp_path, f"state-{direct}", mapper, catalog, src, sink, direct=direct, bespoke=bespoke,
                                      passes=2, chunk=chunk)
        runs[direct] = ([_merged(s.totals) for s in summaries], dedup, left, _at_receiver(sink), sorted(repr(row) for batch in bespoke.batches for row in batch))
        assert all(s.adds_up for s in summaries)
    assert runs[True][0] == runs[False][0]  # every counter of both passes
    assert runs[True][1] == runs[False][1]  # the dedup entries: content committed and acknowledged
    assert runs[True][2] == runs[False][2] == (0, 0)  # nothing left in the outbox or pending
    assert runs[True][3] == runs[False][3]  # the receiver holds the same content per PK
    assert runs[True][4] == runs[False][4]  # the same bespoke rows went through their own sink


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([1, 7, 37, 500]), concurrency=st.sampled_from([1, 4, 16]))
def test_a_threaded_sink_with_many_requests_in_flight_ends_where_the_outbox_path_ends(tmp_path_factory, mapper, catalog, seed,
                                                                                     chunk, concurrency):
    tmp_path = tmp_path_factory.mktemp("threaded")
    src = tmp_path / "in.jsonl"
    write_mixed(src, 300, seed=seed)
    runs = {}
    for direct in (True, False):
        sink, bespoke = ThreadedSink(_ok, seed=seed), RecordingSink()
        summaries, dedup, left = _run(tmp_path, f"state-{direct}", mapper, catalog, src, sink, direct=direct, bespoke=bespoke,
                                      passes=2, chunk=chunk, concurrency=concurrency)
        runs[direct] = ([_merged(s.totals) for s in summaries], dedup, left, _at_receiver(sink), sorted(repr(row) for batch in bespoke.batches for row in batch))
        assert all(s.adds_up for s in summaries)
        assert not sink.shared_pk  # never two batches holding one PK in flight at once
        if direct and concurrency > 1 and chunk == 500:
            assert sink.most > 1  # the chunk's requests really overlapped
    assert runs[True][0] == runs[False][0]
    assert runs[True][1] == runs[False][1]
    assert runs[True][2] == runs[False][2] == (0, 0)
    assert runs[True][3] == runs[False][3]
    assert runs[True][4] == runs[False][4]


def test_threaded_refusals_part_way_go_to_the_outbox_with_every_record_accounted_for(tmp_path, mapper, catalog):
    """Several answers of one chunk are not ``ok`` (a retry, a refusal of one event, a 503): each is
    settled as the outbox path settles it, the rest of the chunk is delivered, nothing is lost."""
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 400, seed=9, kinds={"deposit": 6, "update": 2, "duplicate": 1, "bet": 2, "no_rule": 1})

    def script(batch, n):
        if n in (3, 4):
            return SendResult("retry", reason="busy for a moment", http_status=503)
        if n == 6:
            return SendResult("rejected", reason="bad event", rejected_index=0)
        return SendResult("ok")

    sink = ThreadedSink(script, seed=4)
    summaries, _, left = _run(tmp_path, "state", mapper, catalog, src, sink, direct=True, chunk=200, concurrency=8)
    summary = summaries[0]
    assert summary.adds_up and left == (0, 0)
    assert summary.this_run["requests_retry"] == 2 and summary.this_run["requests_rejected"] >= 1
    assert summary.records["rejected"] >= 1 and summary.records["pending"] == 0
    assert summary.records["read"] == expected["records"]
    assert not sink.shared_pk
    # Every PK reached the receiver but, at most, the refused event's (dead-lettered when it was its PK's only version).
    held = _at_receiver(sink)
    assert expected["event_pks"] - 1 <= len(held) <= expected["event_pks"]
    with open_state(tmp_path / "state") as state:
        letters = state.dead_letters(after_id=0, limit=100)
    assert any(dl.kind == "sink" and dl.event == sink.batches[5][0] for dl in letters)


def test_a_busy_class_waits_in_the_outbox_while_the_others_go_direct(tmp_path, mapper, catalog):
    """Profile updates under a small limit queue in the outbox; deposits and bets keep going straight
    to the sink (a PK's event decides its class, so per-PK order holds per class)."""
    src = tmp_path / "in.jsonl"
    write_mixed(src, 300, seed=11, kinds={"deposit": 5, "bet": 2, "profile": 2, "signup": 1})
    sink = ThreadedSink(_ok, jitter=0.0)
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, event_sink=sink,
                            plan=make_rate_plan(catalog, overrides={"profile": "100/1s", "default": "none", "global": "none"}),
                            options=DeliveryOptions(linger=5.0, chunk_size=50, concurrency=4, seed=1))
        saved = []
        original = state.save_batch
        state.save_batch = lambda **kw: saved.append(kw["rate_class"]) or original(**kw)  # type: ignore[method-assign]
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
    assert summary.adds_up and summary.records["pending"] == 0 and summary.backlog == 0
    assert saved and set(saved) == {"profile"}  # only the remembered, limited class went through the outbox
    # Its events filled open batches across chunks (as the outbox path does): full requests, the last one aside.
    profile = [len(b) for b in sink.batches if b[0]["event"] == "ootb_user_details_update"]
    assert len(profile) >= 2 and all(n == 10 for n in profile[:-1]), profile


def test_a_refusal_part_way_hands_the_rest_to_the_outbox_with_every_record_accounted_for(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 400, seed=7, kinds={"deposit": 6, "update": 2, "duplicate": 1, "bet": 2, "no_rule": 1})

    def script(batch, n):
        if n == 3:
            return SendResult("retry", reason="disk full for a moment")
        if n == 5:
            return SendResult("rejected", reason="bad event", rejected_index=0)
        return SendResult("ok")

    sink = InlineSink(script)
    summaries, _, left = _run(tmp_path, "state", mapper, catalog, src, sink, direct=True, chunk=50)
    summary = summaries[0]
    assert summary.adds_up and left == (0, 0)
    assert summary.this_run["requests_retry"] == 1 and summary.this_run["requests_rejected"] >= 1
    assert summary.records["rejected"] >= 1  # the refused event's record, dead-lettered with its payload
    assert summary.records["read"] == expected["records"] and summary.records["pending"] == 0
    # The receiver holds the input's last version of every PK (the refused event's PK aside, when
    # the refused event was that last version).
    refused = sink.batches[4][0]
    last = {}
    for line in src.read_bytes().splitlines():
        try:
            p = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if p.get("type") == "deposit":
            last[("ootb_deposit", str(p["player"]), str(p["tx"]))] = p["amount"]
        elif p.get("type") == "bet":
            last[("ootb_sports_bet_placed", str(p["player"]), str(p["tx"]))] = None
    held = {key: event["context"].get("ootb_deposit_amount") for key, event in _at_receiver(sink).items()}
    for key, amount in last.items():
        if key[0] == "ootb_deposit" and refused["event"] == "ootb_deposit" and str(refused["context"]["ootb_transaction_id"]) == key[2] \
                and refused["context"]["ootb_deposit_amount"] == amount:
            continue
        assert held.get(key, "missing") == amount, key


def test_a_sink_bug_stops_the_run_without_acknowledging_the_chunk(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 120, seed=3, kinds={"deposit": 1})

    def script(batch, n):
        if n == 4:
            raise KeyError("a bug in the sink")
        return SendResult("ok")

    sink = InlineSink(script)
    with pytest.raises(SinkBugError):
        _run(tmp_path, "state", mapper, catalog, src, sink, direct=True, chunk=50)
    # The chunk whose batch raised was rolled back with its checkpoint: the next run sends it again.
    again = InlineSink(_ok)
    summaries, _, left = _run(tmp_path, "state", mapper, catalog, src, again, direct=True, chunk=50)
    assert summaries[0].adds_up and left == (0, 0)
    assert summaries[0].records["delivered"] == 120
    delivered = {e["context"]["ootb_transaction_id"] for e in sink.accepted} | {e["context"]["ootb_transaction_id"] for e in again.accepted}
    assert len(delivered) == 120  # every event reached the receiver (some twice: at-least-once)


@pytest.mark.parametrize("sink_type", [InlineSink, ThreadedSink])
def test_the_direct_path_uses_no_outbox_rows_when_nothing_waits(tmp_path, mapper, catalog, sink_type):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 200, seed=5, kinds={"deposit": 3, "bet": 1})
    sink = sink_type(_ok)
    heard: Counter = Counter()

    class Observer:  # serve's metrics hear what the direct path settles, as from the outbox path
        def limiter_held(self, rate_class):
            pass

        def settled(self, outcome, events):
            heard[outcome] += len(events)

    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=sink,
                            options=DeliveryOptions(linger=0.01, chunk_size=50, seed=1), observer=Observer())
        saved = []
        original = state.save_batch
        state.save_batch = lambda **kw: saved.append(kw) or original(**kw)  # type: ignore[method-assign]
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
    assert summary.adds_up and summary.records["delivered"] == 200
    assert saved == []  # every batch went straight to the sink
    assert heard["events_delivered"] == summary.events["delivered"] == 200


@pytest.mark.slow
def test_killed_at_random_moments_the_file_ends_with_every_pks_last_version(tmp_path):
    """SIGKILL while chunks go straight to the jsonl sink, then a run to the end: every record is
    accounted for once, and the file's last line of every PK is the input's last version of it."""
    import json
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(2)
    src, out = tmp_path / "in.jsonl", tmp_path / "events.jsonl"
    last: dict[tuple[str, str], int] = {}
    with open(src, "wb") as fh:
        for i in range(20_000):
            player, tx = rng.randrange(40), f"tx{rng.randrange(300)}"  # many PKs come twice or more, with a new amount each time
            last[(str(player), tx)] = i
            fh.write(orjson.dumps({"type": "deposit", "player": player, "tx": tx, "amount": i, "currency": "EUR",
                                   "at": "2025-03-01T12:00:00Z"}) + b"\n")
    cmd = [sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--input", str(src), "--state-dir", str(tmp_path / "state"),
           "--sink", "jsonl", "--sink-option", f"path={out}", "--no-progress", "--format", "json",
           "--limit", "default=none", "--limit", "global=none"]
    for _ in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        time.sleep(rng.uniform(0.8, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    final = subprocess.run(cmd, capture_output=True, cwd=tmp_path, timeout=300)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["status"] == "complete" and summary["adds_up"] and summary["records"]["read"] == 20_000
    assert summary["records"]["pending"] == 0 and summary["backlog"] == 0
    held: dict[tuple[str, str], int] = {}  # the PK of ootb_deposit: customer and transaction
    for line in out.read_bytes().splitlines():
        event = json.loads(line)
        held[(event["customer"], event["context"]["ootb_transaction_id"])] = event["context"]["ootb_deposit_amount"]
    assert held == last
