"""The intake queue: 2xx only after COMMIT, all-or-nothing requests, webhook-id dedup, restart safety."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.errors import StateError
from ebi_mapper.serve.intake import IntakeClosed, IntakeQueue, IntakeReader


def rows_on_disk(path) -> list[tuple]:
    conn = sqlite3.connect(path / "intake.sqlite")  # another connection: sees only what is committed
    try:
        return conn.execute("SELECT id, source, webhook_id, raw FROM intake ORDER BY id").fetchall()
    finally:
        conn.close()


def test_future_resolves_after_commit(tmp_path):
    q = IntakeQueue(tmp_path)
    try:
        fut = q.submit("stripe", "evt_1", [b'{"a":1}', b'{"a":2}'])
        res = fut.result(5)
        # by the time the future resolves, another connection sees the rows
        assert res.status == "stored" and (res.first_id, res.last_id) == (1, 2)
        assert [r[3] for r in rows_on_disk(tmp_path)] == [b'{"a":1}', b'{"a":2}']
    finally:
        q.close()


def test_duplicate_webhook_id(tmp_path):
    q = IntakeQueue(tmp_path)
    try:
        assert q.submit("stripe", "evt_1", [b"{}"]).result(5).status == "stored"
        assert q.submit("stripe", "evt_1", [b"{}", b"{}"]).result(5).status == "duplicate"
        assert q.submit("shop", "evt_1", [b"{}"]).result(5).status == "stored"  # ids are per source
        assert q.submit("stripe", None, [b"{}"]).result(5).status == "stored"  # no id: no dedup
        assert len(rows_on_disk(tmp_path)) == 3
    finally:
        q.close()
    q = IntakeQueue(tmp_path)  # remembered across restarts
    try:
        assert q.submit("stripe", "evt_1", [b"{}"]).result(5).status == "duplicate"
    finally:
        q.close()


def test_request_is_all_or_nothing(tmp_path):
    q = IntakeQueue(tmp_path)
    try:
        q.submit("s", None, [b"{}"]).result(5)
        # a request whose rows cannot all be inserted (a NULL raw violates NOT NULL) commits none of them,
        # and fails every request of its group: their senders retry
        bad = q.submit("s", None, [b"{}", None])  # type: ignore[list-item]
        with pytest.raises(StateError):
            bad.result(5)
        assert len(rows_on_disk(tmp_path)) == 1
        assert q.submit("s", None, [b"{}"]).result(5).last_id == 2  # and the queue goes on
    finally:
        q.close()


def test_restart_skips_consumed(tmp_path):
    q = IntakeQueue(tmp_path)
    q.submit("s", None, [b'{"n":1}', b'{"n":2}', b'{"n":3}']).result(5)
    reader = IntakeReader(q, 0)
    assert [r.id for r in reader.fetch(2, 0)] == [1, 2]
    reader.close()
    q.consumed(2)
    q.close()  # the tidy-up on close deletes the consumed rows
    assert [r[0] for r in rows_on_disk(tmp_path)] == [3]
    q = IntakeQueue(tmp_path)
    try:
        assert q.submit("s", None, [b"{}"]).result(5).first_id == 4  # ids never reused
        reader = IntakeReader(q, 2)  # a checkpoint at 2: starts after it
        assert [r.id for r in reader.fetch(10, 0)] == [3, 4]
        reader.close()
    finally:
        q.close()


def test_closed_and_full_queues_refuse(tmp_path):
    q = IntakeQueue(tmp_path, capacity=1)
    q.close()
    with pytest.raises(IntakeClosed):
        q.submit("s", None, [b"{}"])


def test_reader_wakes_on_commit(tmp_path):
    q = IntakeQueue(tmp_path)
    try:
        reader = IntakeReader(q, 0)
        got = []
        t = threading.Thread(target=lambda: got.extend(reader.fetch(10, 5.0)))
        t.start()
        q.submit("s", None, [b"{}"]).result(5)
        t.join(5)
        assert [r.id for r in got] == [1]
        reader.close()
    finally:
        q.close()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.one_of(st.none(), st.sampled_from(["w1", "w2", "w3"])),
                          st.integers(1, 4)), min_size=1, max_size=30))
def test_every_stored_request_is_on_disk_once(tmp_path_factory, requests):
    """Concurrent submitters: stored requests' rows are all on disk, duplicates add nothing."""
    path = tmp_path_factory.mktemp("q")
    q = IntakeQueue(path)
    try:
        futs = [(src, wid, n, q.submit(src, wid, [f'{{"i":{i}}}'.encode()] * n)) for i, (src, wid, n) in enumerate(requests)]
        expected, seen = 0, set()
        for src, wid, n, fut in futs:
            res = fut.result(5)
            dup = wid is not None and (src, wid) in seen
            assert res.status == ("duplicate" if dup else "stored")
            if not dup:
                expected += n
                if wid is not None:
                    seen.add((src, wid))
        assert len(rows_on_disk(path)) == expected
    finally:
        q.close()
