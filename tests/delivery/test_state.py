"""The SQLite state store on a real file: dedup, outbox, pending records, dead letters, checkpoint, lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from ebi_mapper.delivery.state import Checkpoint, OutboxItem, content_hash, open_state, pk_hash
from ebi_mapper.errors import StateError


@pytest.fixture
def state(tmp_path):
    with open_state(tmp_path / "st") as st:
        yield st


def test_state_file_is_wal(tmp_path):
    with open_state(tmp_path) as st:
        assert (tmp_path / "state.sqlite").exists()
        assert st._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("sync,expected", [("NORMAL", 1), ("FULL", 2)], ids=["normal", "full"])
def test_synchronous_mode_is_applied(tmp_path, sync, expected):
    with open_state(tmp_path, synchronous=sync) as st:
        assert st._conn.execute("PRAGMA synchronous").fetchone()[0] == expected


def test_dedup_new_duplicate_update(state):
    pk = pk_hash("ootb_deposit", ("c1", "tx1", "2025-01-01 00:00:00.000000 UTC"))
    a, b = content_hash({"x": 1, "y": 2}), content_hash({"x": 2})
    assert content_hash({"y": 2, "x": 1}) == a  # key order does not matter
    with state.transaction():
        assert state.dedup_decide(pk, a, 1.0) == "new"
        assert state.dedup_decide(pk, a, 2.0) == "duplicate"
        assert state.dedup_decide(pk, b, 3.0) == "update"
        assert state.dedup_decide(pk, b, 4.0) == "duplicate"
        assert state.dedup_decide(pk, a, 5.0) == "update"  # against the last committed content


def test_pk_hash_includes_the_event_name():
    assert pk_hash("ootb_registration", ("c1",)) != pk_hash("ootb_user_details_update", ("c1",))


def test_dedup_decision_survives_a_rollback_only_if_committed(state):
    pk, a = pk_hash("e", ("1",)), content_hash({"a": 1})
    with pytest.raises(RuntimeError):
        with state.transaction():
            assert state.dedup_decide(pk, a, 1.0) == "new"
            raise RuntimeError("crash before commit")
    with state.transaction():
        assert state.dedup_decide(pk, a, 1.0) == "new"  # the rolled-back decision left no trace


def test_dedup_forget_falls_back_to_the_last_sent_content(state):
    pk = pk_hash("e", ("1",))
    a, b = content_hash({"v": "a"}), content_hash({"v": "b"})
    with state.transaction():
        state.dedup_decide(pk, a, 1.0)
        state.dedup_mark_sent([(pk, a)], 2.0)
        assert state.dedup_decide(pk, b, 3.0) == "update"
        state.dedup_forget(pk, b)  # b was dead-lettered
    assert state.dedup_get(pk) == (a, a)
    with state.transaction():
        assert state.dedup_decide(pk, b, 4.0) == "update"  # a replay of b is sent again


def test_dedup_forget_of_never_sent_pk_forgets_it(state):
    pk, a = pk_hash("e", ("1",)), content_hash({"v": "a"})
    with state.transaction():
        state.dedup_decide(pk, a, 1.0)
        state.dedup_forget(pk, a)
    assert state.dedup_get(pk) is None


def test_changes_outside_a_transaction_are_refused(state):
    with pytest.raises(StateError):
        state.dedup_decide(b"x" * 16, b"y" * 16, 1.0)


def _items(n, pending=None):
    return [OutboxItem(pk_hash("e", (str(i),)), content_hash({"i": i}), pending, {"i": i}) for i in range(n)]


def test_outbox_due_order_exclude_and_reschedule(state):
    with state.transaction():
        a = state.save_batch(rate_class="default", kind="events", items=_items(3), sealed=True, now=10.0)
        b = state.save_batch(rate_class="default", kind="events", items=_items(2), sealed=True, now=11.0)
        state.save_batch(rate_class="profile", kind="events", items=_items(1), sealed=True, now=9.0)
        state.save_batch(rate_class="default", kind="events", items=_items(1), sealed=False, now=5.0)  # still open
    assert [r.id for r in state.due_batches("default", 20.0, limit=5)] == [a, b]
    assert [r.id for r in state.due_batches("default", 20.0, exclude=[a], limit=5)] == [b]
    assert state.due_batches("default", 10.5, limit=5)[0].items == tuple(_items(3))
    with state.transaction():
        state.reschedule(a, next_attempt_at=30.0, attempts=1, throttled=0, reason="HTTP 500")
    assert [r.id for r in state.due_batches("default", 20.0, limit=5)] == [b]
    row = state.get_batch(a)
    assert (row.attempts, row.last_reason, row.next_attempt_at) == (1, "HTTP 500", 30.0)
    assert state.next_attempt_at("default", exclude=[b]) == 30.0
    assert state.backlog() == {"default": (3, 6), "profile": (1, 1)}
    assert [r.sealed for r in state.open_batches()] == [False]
    with state.transaction():
        state.delete_batch(a)
    assert state.outbox_size() == 3


def test_open_batch_is_rewritten_in_place(state):
    with state.transaction():
        rid = state.save_batch(rate_class="default", kind="events", items=_items(2), sealed=False, now=1.0)
        assert state.save_batch(rate_class="default", kind="events", items=_items(5), sealed=True, now=2.0, row_id=rid) == rid
    assert len(state.get_batch(rid).items) == 5 and state.get_batch(rid).sealed


def test_pending_record_settles_on_its_last_event(state):
    with state.transaction():
        pid = state.add_pending(input_id="in", source="f:1", payload=b'{"a":1}', remaining=2, counted=False)
        assert state.resolve_pending(pid, failed=False) == ("in", None)
        input_id, rec = state.resolve_pending(pid, failed=True)
    assert input_id == "in" and rec.failed and rec.payload == {"a": 1} and rec.source == "f:1"
    assert state.pending_count() == 0


def test_pending_record_knows_whether_any_event_reached_the_receiver(state):
    """delivered if one of its events was delivered (the others superseded); not if all were superseded."""
    with state.transaction():
        one = state.add_pending(input_id="in", source="f:1", payload=b"{}", remaining=2, counted=False)
        none = state.add_pending(input_id="in", source="f:2", payload=b"{}", remaining=2, counted=False)
        settled = state.resolve_pending_many([(one, False, True), (none, False, False), (one, False, False), (none, False, False)])
    finished = [rec for _, rec in settled if rec is not None]
    assert [(r.source, r.delivered, r.failed) for r in finished] == [("f:1", True, False), ("f:2", False, False)]


def test_dead_letters_store_payload_reasons_and_replay_mark(state):
    with state.transaction():
        a = state.add_dead_letter(input_id="in", source="f:1", kind="mapping", reasons=[{"code": "x", "message": "m"}],
                                  payload={"p": 1}, now=1.0)
        b = state.add_dead_letter(input_id="in", source="f:2", kind="malformed", reasons=[{"code": "malformed"}],
                                  payload=None, raw=b"{not json", now=2.0)
    assert state.dead_letter(a).payload == {"p": 1} and state.dead_letter(a).reasons[0]["code"] == "x"
    assert state.dead_letter(b).payload == "{not json"
    assert [d.id for d in state.dead_letters()] == [a, b]
    with state.transaction():
        state.mark_replayed(a, 3.0)
    assert [d.id for d in state.dead_letters()] == [b]
    assert [d.id for d in state.dead_letters(include_replayed=True)] == [a, b]
    assert state.dead_letter_count() == 1 and state.max_dead_letter_id() == b


def test_checkpoint_and_totals(state):
    assert state.checkpoint("in") is None
    with state.transaction():
        state.set_checkpoint(Checkpoint("in", "", 120, 7, 6, "reading"), 1.0)
        state.bump("in", {"records_read": 6, "records_filtered": 2})
        state.bump("in", {"records_read": 1})
    assert state.checkpoint("in") == Checkpoint("in", "", 120, 7, 6, "reading")
    assert state.totals("in") == {"records_read": 7, "records_filtered": 2}
    with state.transaction():
        state.reset_input("in")
    assert state.checkpoint("in") is None and state.totals("in") == {}


def test_runs_are_recorded(state):
    rid = state.start_run(input_id="in", mapping="m.yaml", now=1.0)
    state.end_run(rid, status="complete", counts={"records_read": 3}, now=2.0)
    assert state.runs()[0]["status"] == "complete" and state.runs()[0]["counts"] == {"records_read": 3}


def test_second_open_of_the_same_dir_is_refused(tmp_path):
    with open_state(tmp_path):
        with pytest.raises(StateError, match="in use"):
            open_state(tmp_path)
    with open_state(tmp_path):  # released on close
        pass


def test_lock_of_a_killed_process_is_released(tmp_path):
    code = ("import sys, time; from ebi_mapper.delivery.state import open_state; "
            f"s = open_state({str(tmp_path)!r}); print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StateError):
            open_state(tmp_path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    with open_state(tmp_path):
        pass


def test_wrong_schema_version_is_refused(tmp_path):
    with open_state(tmp_path):
        pass
    conn = sqlite3.connect(tmp_path / "state.sqlite")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="schema version 99"):
        open_state(tmp_path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    (tmp_path / "state.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="not usable"):
        open_state(tmp_path)


def test_a_dead_letter_still_waiting_is_not_stored_twice(tmp_path):
    from ebi_mapper.delivery.state import open_state

    state = open_state(tmp_path)
    try:
        with state.transaction():
            first = state.add_dead_letter(input_id="run-1", source="in.jsonl:3", kind="mapping", reasons=[{"code": "x"}], payload={"a": 1}, now=1.0)
        with state.transaction():
            again = state.add_dead_letter(input_id="run-2", source="in.jsonl:3", kind="mapping", reasons=[{"code": "x"}], payload={"a": 1}, now=2.0)
            other = state.add_dead_letter(input_id="run-2", source="in.jsonl:3", kind="mapping", reasons=[{"code": "x"}], payload={"a": 2}, now=2.0)
        assert again == first and other != first
        assert len(state.dead_letters()) == 2
    finally:
        state.close()
