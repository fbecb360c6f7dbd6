"""The durable intake queue of one served mapping: ``intake.sqlite`` in its state dir.

Why a file of its own (not a table in ``state.sqlite``): the HTTP side must never wait on the
delivery loop's transactions, and SQLite has one writer per file. Here one writer thread owns
the file and does *group commit*: request handlers hand it their rows and await a future that is
resolved only after the ``COMMIT`` (WAL, ``synchronous=FULL``), so a 2xx always means "on disk"
(tests/serve/test_intake.py::test_future_resolves_after_commit). A request's rows commit
all-or-nothing (they are in one transaction; test_intake.py::test_request_is_all_or_nothing).

Intake dedup: a webhook's own id (``source``, ``webhook_id``) is kept in ``webhooks`` for the
retention window; a repeat answers "duplicate" and stores nothing (test_intake.py::test_duplicate_webhook_id).

The delivery loop reads rows after its checkpoint with :class:`IntakeReader` (its own
connection) and, once the checkpoint (= the last intake id it ingested) is committed in
``state.sqlite``, calls :meth:`IntakeQueue.consumed`; the writer deletes those rows later. A
crash between the two leaves rows ≤ the checkpoint in the file: they are skipped on restart
(the reader starts after the checkpoint) and deleted then (test_intake.py::test_restart_skips_consumed).

Memory is bounded: the hand-over queue has a fixed size (a full one is refused with 503 by the
app), and the per-minute timeline counters flush into the ``timeline`` table.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StateError

__all__ = ["IntakeQueue", "IntakeReader", "IntakeRow", "Submitted", "IntakeClosed", "INTAKE_FILE"]

INTAKE_FILE = "intake.sqlite"
_TIMELINE_KEEP = 25 * 3600  # seconds of per-minute buckets kept (the status page shows 24 h)
_MAX_GROUP = 512  # requests committed in one transaction at most

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    webhook_id TEXT,
    received_at REAL NOT NULL,
    raw BLOB NOT NULL,        -- the bytes of ONE record (or of a whole refused body, with error)
    error TEXT,               -- why the body was refused (400): the loop dead-letters it as kind 'intake'
    code TEXT
);
CREATE TABLE IF NOT EXISTS webhooks (
    source TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (source, webhook_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhooks_received ON webhooks (received_at);
CREATE TABLE IF NOT EXISTS timeline (
    minute INTEGER NOT NULL,
    series TEXT NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (minute, series, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class IntakeClosed(StateError):
    """The intake queue is closed or full: the request is refused (503), nothing was stored."""


@dataclass(frozen=True)
class Submitted:
    """What became of one request's rows."""

    status: str  # 'stored' | 'duplicate'
    first_id: int = 0
    last_id: int = 0


@dataclass(frozen=True)
class IntakeRow:
    id: int
    source: str
    webhook_id: str | None
    received_at: float
    raw: bytes
    error: str | None
    code: str | None


@dataclass
class _Request:
    source: str
    webhook_id: str | None
    records: list[bytes]
    error: tuple[str, str] | None  # (code, message) of a refused body
    received_at: float
    future: Future


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a 2xx is a promise: survive power loss, not only a kill
    return conn


class IntakeQueue:
    """Owns ``intake.sqlite``: one writer thread, group commit, bounded hand-over.

    :param dedup_window: seconds a webhook id is remembered (a repeat inside it is a duplicate).
    :param capacity: requests waiting for the writer at most (more → :class:`IntakeClosed`).
    """

    def __init__(self, state_dir: Path, *, dedup_window: float = 7 * 86400.0, capacity: int = 4096,
                 clock: Callable[[], float] = time.time):
        self.path = Path(state_dir) / INTAKE_FILE
        self.dedup_window = dedup_window
        self.clock = clock
        try:
            Path(state_dir).mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path)
            conn.executescript(_SCHEMA)
            self.last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM intake").fetchone()[0]
            seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'intake'").fetchone()
            self.last_id = max(self.last_id, seq[0] if seq else 0)
        except sqlite3.Error as exc:
            raise StateError(f"intake queue {self.path} is not usable: {exc}") from exc
        self._conn = conn
        self._q: queue.Queue[_Request | None] = queue.Queue(maxsize=capacity)
        self._cond = threading.Condition()
        self._consumed = 0  # rows ≤ this are ingested and committed in state.sqlite: deletable
        self._deleted = 0
        self._notes: dict[tuple[int, str, str], int] = {}
        self._notes_lock = threading.Lock()
        self._closed = False
        self.healthy = True
        self.last_error = ""
        self._thread = threading.Thread(target=self._run, name="ebi-mapper-intake", daemon=True)
        self._thread.start()

    # -- the HTTP side ------------------------------------------------------------------------
    def submit(self, source: str, webhook_id: str | None, records: list[bytes], *,
               error: tuple[str, str] | None = None) -> Future:
        """Hand one request's rows to the writer; the future gives a :class:`Submitted` after COMMIT."""
        fut: Future = Future()
        if self._closed:
            raise IntakeClosed("the intake queue is closed")
        try:
            self._q.put_nowait(_Request(source, webhook_id, records, error, self.clock(), fut))
        except queue.Full:
            raise IntakeClosed("the intake queue is full") from None
        return fut

    def note(self, series: str, key: str, n: int = 1, at: float | None = None) -> None:
        """Count ``n`` into the per-minute ``timeline`` (flushed by the writer, at least once a second)."""
        minute = int((self.clock() if at is None else at) // 60) * 60
        with self._notes_lock:
            k = (minute, series, key)
            self._notes[k] = self._notes.get(k, 0) + n

    def backlog(self) -> int:
        """Records accepted and not yet ingested by the delivery loop."""
        return max(0, self.last_id - self._consumed)

    def consumed(self, upto_id: int) -> None:
        """The delivery loop committed its checkpoint at ``upto_id``: those rows may go."""
        self._consumed = max(self._consumed, upto_id)

    @property
    def consumed_id(self) -> int:
        return self._consumed

    def wait_for(self, after_id: int, timeout: float) -> bool:
        """Block until a row after ``after_id`` is committed, or ``timeout`` passes."""
        with self._cond:
            if self.last_id > after_id:
                return True
            self._cond.wait(timeout)
            return self.last_id > after_id

    def alive(self) -> bool:
        return self._thread.is_alive() and self.healthy and not self._closed

    def close(self, timeout: float = 10.0) -> None:
        """Commit what was handed over, then stop the writer (the HTTP side stopped first)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._q.put(None, timeout=timeout)
        except queue.Full:  # pragma: no cover - the writer is stuck
            pass
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._conn.close()

    # -- the writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        last_tidy = 0.0
        stop = False
        while not stop:
            try:
                first = self._q.get(timeout=1.0)
            except queue.Empty:
                first = None if self._closed else _IDLE
            if first is None:
                stop = True
                group: list[_Request] = []
            elif first is _IDLE:
                group = []
            else:
                group = [first]
            while not stop and len(group) < _MAX_GROUP:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
            now = self.clock()
            tidy = stop or now - last_tidy >= 1.0
            if group or tidy:
                self._commit(group, tidy, now)
            if tidy:
                last_tidy = now

    def _commit(self, group: list[_Request], tidy: bool, now: float) -> None:
        conn = self._conn
        results: list[Submitted] = []
        last = self.last_id
        try:
            conn.execute("BEGIN IMMEDIATE")
            for req in group:
                if req.webhook_id is not None and req.error is None:
                    cur = conn.execute("INSERT OR IGNORE INTO webhooks (source, webhook_id, received_at) VALUES (?, ?, ?)",
                                       (req.source, req.webhook_id, req.received_at))
                    if cur.rowcount == 0:
                        results.append(Submitted("duplicate"))
                        continue
                rows: list[tuple[str, str | None, float, bytes, str | None, str | None]]
                if req.error is not None:
                    rows = [(req.source, req.webhook_id, req.received_at, req.records[0] if req.records else b"",
                             req.error[1], req.error[0])]
                else:
                    rows = [(req.source, req.webhook_id, req.received_at, raw, None, None) for raw in req.records]
                first = last + 1
                conn.executemany("INSERT INTO intake (source, webhook_id, received_at, raw, error, code) VALUES (?, ?, ?, ?, ?, ?)", rows)
                last += len(rows)
                results.append(Submitted("stored", first, last))
            if tidy:
                self._flush_notes(conn)
                if self._consumed > self._deleted:
                    conn.execute("DELETE FROM intake WHERE id <= ?", (self._consumed,))
                    self._deleted = self._consumed
                conn.execute("DELETE FROM webhooks WHERE received_at < ?", (now - self.dedup_window,))
                conn.execute("DELETE FROM timeline WHERE minute < ?", (now - _TIMELINE_KEEP,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self.healthy = False
            self.last_error = f"intake queue {self.path}: {exc}"
            for req in group:
                req.future.set_exception(StateError(self.last_error))
            return
        self.healthy = True
        # AUTOINCREMENT ids are consecutive within one writer's transaction: check, don't assume.
        real = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'intake'").fetchone()
        if real is not None and real[0] != last:  # pragma: no cover - defensive
            last = real[0]
        with self._cond:
            self.last_id = last
            self._cond.notify_all()
        for req, res in zip(group, results, strict=True):
            req.future.set_result(res)

    def _flush_notes(self, conn: sqlite3.Connection) -> None:
        with self._notes_lock:
            notes, self._notes = self._notes, {}
        if notes:
            conn.executemany("INSERT INTO timeline (minute, series, key, n) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (minute, series, key) DO UPDATE SET n = n + excluded.n",
                             [(m, s, k, n) for (m, s, k), n in notes.items()])

    # -- reading (status page) ------------------------------------------------------------------
    def timeline(self, since: float) -> list[tuple[int, str, str, int]]:
        """``(minute, series, key, n)`` rows from ``since`` on (a reader connection of its own)."""
        conn = _connect(self.path)
        try:
            return conn.execute("SELECT minute, series, key, n FROM timeline WHERE minute >= ? ORDER BY minute",
                                (int(since),)).fetchall()
        finally:
            conn.close()

    def oldest_waiting(self) -> float | None:
        """When the oldest row not yet ingested was received (``None``: none waits)."""
        conn = _connect(self.path)
        try:
            row = conn.execute("SELECT received_at FROM intake WHERE id > ? ORDER BY id LIMIT 1", (self._consumed,)).fetchone()
            return None if row is None else float(row[0])
        finally:
            conn.close()


_IDLE: Any = object()


class IntakeReader:
    """Rows after a checkpoint, for the delivery loop (runs on the loop's thread, own connection)."""

    def __init__(self, intake: IntakeQueue, after_id: int):
        self.intake = intake
        self.after = after_id
        self._conn = _connect(intake.path)
        self._conn.execute("PRAGMA query_only=ON")

    def fetch(self, n: int, timeout: float) -> list[IntakeRow]:
        rows = self._query(n)
        if not rows and timeout > 0 and self.intake.wait_for(self.after, timeout):
            rows = self._query(n)
        if rows:
            self.after = rows[-1].id
        return rows

    def _query(self, n: int) -> list[IntakeRow]:
        cur = self._conn.execute("SELECT id, source, webhook_id, received_at, raw, error, code FROM intake "
                                 "WHERE id > ? ORDER BY id LIMIT ?", (self.after, n))
        return [IntakeRow(*r) for r in cur.fetchall()]

    def close(self) -> None:
        self._conn.close()
