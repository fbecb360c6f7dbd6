"""Group commit: a chunk's state writes are a few batched statements, with the record-by-record outcome.

The batched state calls (``dedup_decide_many``, ``resolve_pending_many``, ``add_pending_many``)
are checked against the one-at-a-time calls they replace, and the whole loop is checked to issue a
small constant number of SQLite statements per record, whatever the input size.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from itertools import pairwise

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_helpers import RecordingSink, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import InputRecord, make_source
from ebi_mapper.delivery.state import SCHEMA_VERSION, open_state
from ebi_mapper.extensions import SendResult


class CountingConnection:
    """Wraps a sqlite3 connection and counts the statements the store hands it (execute, executemany)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self.calls: Counter = Counter()

    def execute(self, sql, params=()):
        self.calls["execute"] += 1
        return self._conn.execute(sql, params)

    def executemany(self, sql, rows):
        self.calls["executemany"] += 1
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _deliver_counting(tmp_path, mapper, catalog, n):
    src = tmp_path / f"in{n}.jsonl"
    # No profile-class events: their 50 requests / 10 s limit would make this test wait.
    write_mixed(src, n, seed=11, kinds={"deposit": 6, "duplicate": 1, "update": 1, "bet": 2, "vip": 1, "bad_amount": 1,
                                        "malformed": 1, "no_rule": 1})
    with open_state(tmp_path / f"state{n}") as state:
        counting = CountingConnection(state._conn)
        state._conn = counting
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=RecordingSink(),
                            bespoke_sink=RecordingSink(), bespoke_route="data_studio",
                            options=DeliveryOptions(linger=0.01, chunk_size=500, concurrency=8, seed=1))
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
        state._conn = counting._conn
    assert summary.adds_up and summary.records["read"] == n
    return sum(counting.calls.values()) / n


def test_statements_per_record_are_a_small_constant(tmp_path, mapper, catalog):
    # Record by record the loop issued about 6 statements per record (dedup lookup and insert,
    # pending insert, three per settled event, one lookup per event before sending...).
    small = _deliver_counting(tmp_path, mapper, catalog, 600)
    large = _deliver_counting(tmp_path, mapper, catalog, 2400)
    print(f"statements per record: {small:.2f} at 600 records, {large:.2f} at 2400")
    assert small < 2.0 and large < 2.0, (small, large)
    assert large <= small * 1.25  # does not grow with the input


units = st.lists(st.tuples(st.sampled_from([b"a" * 16, b"b" * 16, b"c" * 16]),
                           st.sampled_from([b"1" * 16, b"2" * 16, b"3" * 16]),
                           st.floats(0, 100)), max_size=30)


@settings(max_examples=30, deadline=None)
@given(units=units, cuts=st.lists(st.integers(0, 30), max_size=4))
def test_batched_dedup_decides_as_one_unit_at_a_time(tmp_path_factory, units, cuts):
    model: dict[bytes, list] = {}  # pk -> [content, last_seen]
    expected = []
    for pk, content, seen in units:
        if pk not in model:
            model[pk] = [content, seen]
            expected.append("new")
            continue
        model[pk][1] = max(model[pk][1], seen)
        expected.append("duplicate" if model[pk][0] == content else "update")
        model[pk][0] = content
    bounds = sorted({0, len(units), *(c for c in cuts if c <= len(units))})
    got = []
    with open_state(tmp_path_factory.mktemp("dedup")) as state:
        for lo, hi in pairwise(bounds):
            with state.transaction():
                got += state.dedup_decide_many(units[lo:hi], 1.0)
        assert got == expected
        for pk, (content, seen) in model.items():
            assert state.dedup_get(pk)[0] == content
            assert state._exec("SELECT last_seen FROM dedup WHERE pk_hash = ?", (pk,)).fetchone()[0] == seen
        if units:
            assert state.feed_clock() == max(u[2] for u in units)


@settings(max_examples=25, deadline=None)
@given(plan=st.lists(st.integers(1, 3), min_size=1, max_size=5), order=st.randoms(use_true_random=False),
       failed=st.lists(st.booleans(), min_size=15, max_size=15))
def test_batched_settlement_finishes_each_record_at_its_last_event(tmp_path_factory, plan, order, failed):
    settlements = [(rec, i) for rec, n in enumerate(plan) for i in range(n)]
    order.shuffle(settlements)
    with open_state(tmp_path_factory.mktemp("pending")) as one, open_state(tmp_path_factory.mktemp("pending")) as many:
        ids = {}
        for store in (one, many):
            with store.transaction():
                ids[id(store)] = store.add_pending_many([("in", f"f:{r}", orjson.dumps({"r": r}), n, False) for r, n in enumerate(plan)])
        calls = [(ids[id(one)][rec], failed[k]) for k, (rec, _) in enumerate(settlements)]
        with one.transaction():
            expected = [one.resolve_pending(pid, failed=f) for pid, f in calls]
        with many.transaction():
            got = many.resolve_pending_many(calls)
        assert got == expected
        assert many.pending_count() == one.pending_count() == 0


def test_pending_ids_keep_growing_after_rows_are_deleted(tmp_path):
    with open_state(tmp_path) as state:
        with state.transaction():
            first = state.add_pending_many([("in", "f:1", None, 1, False), ("in", "f:2", None, 1, False)])
            state.resolve_pending_many([(first[0], False), (first[1], False)])
        with state.transaction():
            later = state.add_pending(input_id="in", source="f:3", payload=None, remaining=1, counted=False)
    assert later > max(first)  # an id is never handed out twice (a stale outbox item cannot hit a new record)


def test_a_version_1_state_file_is_migrated(tmp_path):
    with open_state(tmp_path) as state:
        with state.transaction():
            state.dedup_decide(b"p" * 16, b"c" * 16, 5.0)
            state.dedup_mark_sent([(b"p" * 16, b"c" * 16)], 7.0)
    conn = sqlite3.connect(tmp_path / "state.sqlite")
    conn.execute("DROP INDEX dedup_last_seen")
    conn.execute("ALTER TABLE dedup DROP COLUMN last_seen")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with open_state(tmp_path) as state:
        assert state._exec("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert state._exec("SELECT last_seen FROM dedup").fetchone()[0] == 7.0
        assert state.dedup_get(b"p" * 16) == (b"c" * 16, b"c" * 16)


class _SlowSource:
    """Lines handed over one by one with a pause, so a later version arrives while an earlier one is in flight."""

    input_id = "slow"
    resumable = False

    def __init__(self, payloads, pause):
        self.payloads, self.pause = payloads, pause

    def records(self, *, file="", offset=0, line=0):
        for n, p in enumerate(self.payloads, 1):
            time.sleep(self.pause)
            yield InputRecord(f"slow:{n}", orjson.dumps(p), p, line=n)


class _OverlapSink(RecordingSink):
    """Answers slowly and notes whether two requests carrying one PK were ever in flight together."""

    def __init__(self):
        super().__init__()
        self.flying: Counter = Counter()
        self.overlaps = 0

    def send(self, batch):
        keys = [e["context"]["ootb_transaction_id"] for e in batch]
        with self.lock:
            self.overlaps += sum(1 for k in keys if self.flying[k])
            self.flying.update(keys)
        time.sleep(0.15)
        with self.lock:
            self.flying.subtract(keys)
            self.batches.append(list(batch))
        return SendResult("ok")


def test_two_versions_of_one_pk_are_never_in_flight_together(tmp_path, mapper, catalog):
    versions = [{"type": "deposit", "player": 1, "tx": "t1", "amount": a, "currency": "EUR", "at": "2025-03-01T12:00:00Z"}
                for a in (10, 20, 30)]
    sink = _OverlapSink()
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=sink,
                            options=DeliveryOptions(linger=0.0, chunk_size=1, concurrency=4, seed=1))
        try:
            summary = loop.run_input(_SlowSource(versions, 0.03))
        finally:
            loop.close()
    assert sink.overlaps == 0
    assert summary.adds_up
    assert sink.batches[-1][0]["context"]["ootb_deposit_amount"] == 30  # the last version is the last one sent


class _ThreadNotingSink(RecordingSink):
    def __init__(self, inline, fail_first=0):
        super().__init__()
        self.inline, self.threads, self.fail_first = inline, set(), fail_first

    def send(self, batch):
        import threading

        self.threads.add(threading.current_thread().name)
        if self.fail_first:
            self.fail_first -= 1
            raise OSError("disk hiccup")
        return super().send(batch)


def test_an_inline_sink_is_called_on_the_loops_thread_and_its_exceptions_are_retried(tmp_path, mapper, catalog):
    import threading

    src = tmp_path / "in.jsonl"
    write_mixed(src, 200, seed=4, kinds={"deposit": 5, "bet": 1})
    for inline in (True, False):
        sink = _ThreadNotingSink(inline, fail_first=2)
        with open_state(tmp_path / f"state-{inline}") as state:
            loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=sink,
                                options=DeliveryOptions(linger=0.01, chunk_size=50, concurrency=4, seed=1,
                                                        retry=RetryPolicy(base_delay=0.001, max_delay=0.01)))
            try:
                summary = loop.run_input(make_source(str(src)))
            finally:
                loop.close()
        assert summary.adds_up and summary.records["delivered"] == 200 and summary.this_run["requests_retry"] == 2
        if inline:
            assert sink.threads == {threading.current_thread().name}
        else:
            assert all(name.startswith("ebi-mapper-send") for name in sink.threads)


def test_the_kept_outbox_count_follows_commits_and_rollbacks(tmp_path):
    from ebi_mapper.delivery.state import OutboxItem

    item = OutboxItem(b"p" * 16, b"c" * 16, None, {"event": "x"})
    with open_state(tmp_path) as state:
        assert state.outbox_size() == 0
        with state.transaction():
            first = state.save_batch(rate_class="default", kind="events", items=[item], sealed=True, now=1.0)
            state.save_batch(rate_class="default", kind="events", items=[item], sealed=True, now=1.0)
        assert state.outbox_size() == 2
        try:
            with state.transaction():
                state.delete_batch(first)
                state.save_batch(rate_class="bespoke", kind="bespoke", items=[item], sealed=True, now=1.0)
                state.save_batch(rate_class="bespoke", kind="bespoke", items=[item], sealed=True, now=1.0)
                assert state.outbox_size() == 3
                raise RuntimeError("crash inside the transaction")
        except RuntimeError:
            pass
        assert state.outbox_size() == 2 and state.outbox_size(kind="bespoke") == 0  # the rolled-back changes are not counted
        with state.transaction():
            state.delete_batch(first)
            state.delete_batch(first)  # already gone: not counted twice
        assert state.outbox_size() == 1
@settings(max_examples=25, deadline=None)
@given(units=st.lists(st.tuples(st.sampled_from([b"p" * 16, b"q" * 16, b"r" * 16]), st.sampled_from([b"A" * 16, b"B" * 16]),
                                st.floats(0, 100)), min_size=1, max_size=8),
       acked=st.sets(st.sampled_from([b"p" * 16, b"q" * 16, b"r" * 16])))
def test_decisions_written_later_with_their_acknowledgements_equal_writing_then_marking_sent(tmp_path_factory, units, acked):
    """The direct path decides without writing, then writes each entry once with the sink's answer."""
    with open_state(tmp_path_factory.mktemp("now")) as now, open_state(tmp_path_factory.mktemp("later")) as later:
        with now.transaction(), later.transaction():  # two files: two independent transactions
            for store in (now, later):
                store.dedup_decide_many([(b"q" * 16, b"A" * 16, 1.0)], 1.0)  # one PK known before
                store.dedup_mark_sent([(b"q" * 16, b"A" * 16)], 1.0)
        with now.transaction():
            expected = now.dedup_decide_many(units, 5.0)
            final = {pk: now.dedup_get(pk)[0] for pk, _, _ in units}
            now.dedup_mark_sent([(pk, final[pk]) for pk in acked if pk in final], 5.0)
        with later.transaction():
            known: dict = {}
            assert later.dedup_decide_many(units, 5.0, known, write=False) == expected
            assert {pk: c for pk, (c, _) in known.items()} == {pk: final[pk] for pk in known}
            later.dedup_write_decided({pk: final[pk] for pk in acked if pk in final})
        rows = "SELECT pk_hash, content_hash, sent_hash, last_seen, last_sent IS NULL FROM dedup ORDER BY pk_hash"
        assert later._exec(rows).fetchall() == now._exec(rows).fetchall()
        assert later.feed_clock() == now.feed_clock()
        try:
            with later.transaction():
                later.dedup_decide_many(units, 6.0, write=False)
                raise RuntimeError("crash before the write")
        except RuntimeError:
            pass
        with later.transaction():
            with pytest.raises(Exception, match="without a dedup_decide_many"):
                later.dedup_write_decided({})  # the rolled-back decisions are not written by a later call
