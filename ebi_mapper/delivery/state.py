"""The durable state of delivery runs: one SQLite file, ``<state-dir>/state.sqlite``.

Tables (see docs/delivery.md for the guarantees they carry):

* ``dedup``: per primary key (hashed), the content last *committed* for sending and the content
  last *acknowledged* by the sink. Identical content again → duplicate; changed → update.
* ``outbox``: batches not yet acknowledged, per rate class; ``sealed = 0`` while still filling.
* ``pending``: input records some of whose events are still in the outbox, with the original
  payload (needed if one of them is dead-lettered) and how many are left.
* ``dlq``: dead letters: the original payload, the reasons (JSON), where it came from.
* ``checkpoint``: per input, the file and byte offset of the next unread record.
* ``totals``: per input, cumulative counters, so a run resumed after a crash still reports
  counts that add up to the whole input. ``runs``: one row per invocation.

Journal mode is WAL. ``synchronous=NORMAL`` is the default: in WAL mode a commit is durable
against the process being killed at any moment (the WAL is in the OS page cache, which survives
the process); only an OS crash or power loss can lose the last few commits, and because every
side effect outside the file (reading input, sending) is replayable (the input is re-read from
the older checkpoint, the sink stores idempotently by PK), the rolled-back state is consistent
and nothing is lost. Input that cannot be re-read (stdin) is the exception: there the
pipeline asks for ``FULL`` (fsync on every commit).

A second process opening the same state dir gets :class:`~ebi_mapper.errors.StateError`: an
exclusive ``flock`` on ``state.lock`` is held for the store's lifetime (the OS drops it when the
process dies, even by SIGKILL, so a crashed run never leaves a stale lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import orjson

from ..errors import StateError

try:  # POSIX only; elsewhere the lock degrades to SQLite's own locking.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "SCHEMA_VERSION",
    "StateStore",
    "OutboxItem",
    "OutboxRow",
    "DeadLetter",
    "Checkpoint",
    "PendingRecord",
    "open_state",
    "pk_hash",
    "content_hash",
]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dedup (
    pk_hash BLOB PRIMARY KEY,
    content_hash BLOB NOT NULL,     -- content last committed for sending
    sent_hash BLOB,                 -- content last acknowledged by the sink (NULL: never)
    first_seen REAL NOT NULL,
    last_sent REAL,
    last_seen REAL NOT NULL DEFAULT 0  -- the feed's time of the PK's latest sighting (retention, see _RETENTION)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pk_versions (  -- the highest source version seen per PK (rules with `version:`)
    pk_hash BLOB PRIMARY KEY,
    version BLOB NOT NULL,          -- JSON order key (engine/versioning.py)
    last_seen REAL NOT NULL         -- the feed's time of the PK's latest version (expires with dedup)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pk_versions_last_seen ON pk_versions (last_seen);
CREATE TABLE IF NOT EXISTS profiles (  -- the last known profile per customer (delta events, see delivery/versions.py)
    customer_hash BLOB PRIMARY KEY,
    fields BLOB NOT NULL,           -- JSON {param: [value, version key or null, event that wrote it]}
    last_seen REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS profiles_last_seen ON profiles (last_seen);
CREATE INDEX IF NOT EXISTS dedup_last_seen ON dedup (last_seen);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rate_class TEXT NOT NULL,
    kind TEXT NOT NULL,             -- 'events' | 'bespoke'
    payload BLOB NOT NULL,          -- JSON [[pk_hash hex, content_hash hex, pending id, body], ...]
    size INTEGER NOT NULL,
    sealed INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    throttled INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    last_reason TEXT
);
-- The dispatcher asks per rate class for the next due sealed batch: this index answers it
-- in order without sorting, however long the outbox (the older outbox_due could not: `kind`
-- sat between `sealed` and `rate_class`).
CREATE INDEX IF NOT EXISTS outbox_ready ON outbox (rate_class, sealed, next_attempt_at, id);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind);  -- "bespoke rows waiting?" without a scan
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    input_id TEXT NOT NULL,
    source TEXT NOT NULL,
    payload BLOB,
    remaining INTEGER NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,  -- bits: 1 an event failed, 2 an event reached the receiver
    counted INTEGER NOT NULL DEFAULT 0  -- 1: the record's outcome was already counted (rejected)
);
CREATE TABLE IF NOT EXISTS dlq (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    input_id TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,             -- 'mapping' | 'malformed' | 'sink'
    reason TEXT NOT NULL,           -- JSON list of reasons
    payload BLOB,                   -- the original input record (JSON), or the raw line if malformed
    event BLOB,                     -- the event (or bespoke row) the sink refused, if any
    created_at REAL NOT NULL,
    replayed_at REAL
);
CREATE INDEX IF NOT EXISTS dlq_unreplayed ON dlq (replayed_at, id);
CREATE INDEX IF NOT EXISTS dlq_source ON dlq (source);
CREATE TABLE IF NOT EXISTS checkpoint (
    input_id TEXT PRIMARY KEY,
    file TEXT NOT NULL DEFAULT '',  -- for a folder input: the file being read
    offset INTEGER NOT NULL DEFAULT 0,  -- byte offset of the next unread line in that file
    line INTEGER NOT NULL DEFAULT 0,    -- line number at that offset (for messages)
    records INTEGER NOT NULL DEFAULT 0, -- records committed so far
    status TEXT NOT NULL,           -- 'reading' | 'read' (input exhausted) | 'done' (all accounted)
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
    input_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (input_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recent_sends (  -- send times of small rate classes, so a restart keeps the window
    rate_class TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS recent_sends_at ON recent_sends (at);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    input_id TEXT NOT NULL,
    mapping TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL,           -- 'running' | 'complete' | 'stopped' (max-records) | 'failed'
    counts TEXT
);
"""


_IN_BATCH = 500  # keys per `IN (...)` lookup: well under SQLite's limit on bound parameters


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def pk_hash(event: str, pk: Iterable[Any]) -> bytes:
    """A 16-byte key for an event's primary key (event name included: PKs are per event)."""
    return _digest(orjson.dumps([event, *pk], option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME, default=str))


def content_hash(body: Mapping[str, Any]) -> bytes:
    """A 16-byte hash of what is sent, independent of key order."""
    return _digest(orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str))


@dataclass(frozen=True)
class OutboxItem:
    """One event (or bespoke row) in a batch, with what is needed to account for it."""

    pk_hash: bytes
    content_hash: bytes
    pending_id: int | None
    body: dict[str, Any]

    def to_json(self) -> list:
        return [self.pk_hash.hex(), self.content_hash.hex(), self.pending_id, self.body]

    @classmethod
    def from_json(cls, data: list) -> "OutboxItem":
        return cls(bytes.fromhex(data[0]), bytes.fromhex(data[1]), data[2], data[3])


@dataclass(frozen=True)
class OutboxRow:
    """A stored batch."""

    id: int
    rate_class: str
    kind: str
    items: tuple[OutboxItem, ...]
    sealed: bool
    attempts: int
    throttled: int
    next_attempt_at: float
    last_reason: str | None


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered record (or one of its events)."""

    id: int
    input_id: str
    source: str
    kind: str
    reasons: list[Any]
    payload: Any
    event: Any
    created_at: float
    replayed_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "input_id": self.input_id, "source": self.source, "kind": self.kind,
            "reasons": self.reasons, "payload": self.payload, "event": self.event,
            "created_at": self.created_at, "replayed_at": self.replayed_at,
        }


@dataclass(frozen=True)
class Checkpoint:
    """Where reading an input stopped."""

    input_id: str
    file: str
    offset: int
    line: int
    records: int
    status: str


@dataclass(frozen=True)
class PendingRecord:
    """A record whose last outstanding event was just resolved."""

    input_id: str
    source: str
    payload: Any
    failed: bool
    counted: bool
    delivered: bool = False  # one of its events reached the receiver (else all were superseded or failed)


# Bits of ``pending.failed`` (files written before the delivered bit hold 0/1: same meaning for bit 1).
_FAILED = 1
_DELIVERED = 2


def _loads(blob: bytes | None) -> Any:
    return None if blob is None else orjson.loads(blob)


class StateStore:
    """The SQLite state of one state dir. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int | None):
        self.path = path
        self._conn = conn
        self._lock_fd = lock_fd
        self._in_txn = False
        self._outbox_rows: int | None = None  # cached COUNT(*) of the outbox (see outbox_size)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database and release the lock."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def __enter__(self) -> "StateStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator["StateStore"]:
        """One atomic unit: everything inside commits together or not at all."""
        if self._in_txn:
            raise StateError("nested state transactions are not supported")
        self._exec("BEGIN IMMEDIATE")
        self._in_txn = True
        try:
            yield self
        except BaseException:
            self._in_txn = False
            self._outbox_rows = None  # the rolled-back inserts and deletes counted in it
            self._conn.execute("ROLLBACK")
            raise
        self._in_txn = False
        self._exec("COMMIT")

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StateError(f"state store {self.path}: {exc}") from exc

    def _execmany(self, sql: str, rows: list[tuple]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise StateError(f"state store {self.path}: {exc}") from exc

    def _require_txn(self) -> None:
        if not self._in_txn:
            raise StateError("this state change must run inside StateStore.transaction()")

    # -- dedup -------------------------------------------------------------------------------
    def dedup_decide(self, pk: bytes, content: bytes, now: float, seen: float | None = None) -> str:
        """Record ``content`` for ``pk`` and say what it is: ``new``, ``update`` or ``duplicate``.

        One unit of :meth:`dedup_decide_many` (which see).
        """
        return self.dedup_decide_many([(pk, content, now if seen is None else seen)], now)[0]

    def dedup_decide_many(self, units: list[tuple[bytes, bytes, float]], now: float) -> list[str]:
        """Decide ``(pk_hash, content_hash, seen)`` units in order: ``new``, ``update`` or ``duplicate`` each.

        Compared with the content last committed for the PK (whether or not it was sent yet), so
        reading the same input again after a crash gives ``duplicate``, never a second send. Units
        of one PK inside the list are decided one after the other, exactly as if each had its own
        call. ``seen`` is the feed's time of the sighting (the event's timestamp): the PK's
        ``last_seen`` moves up to it, which is what retention expires by. A constant number of
        statements for the whole list (one lookup per 500 PKs, one ``executemany`` per kind of
        write), so the cost per record does not depend on the chunk or on the table's size.
        """
        self._require_txn()
        known: dict[bytes, list] = {}  # pk -> [content, last_seen, existed, changed]
        distinct = list(dict.fromkeys(u[0] for u in units))
        for start in range(0, len(distinct), _IN_BATCH):
            part = distinct[start:start + _IN_BATCH]
            sql = f"SELECT pk_hash, content_hash, last_seen FROM dedup WHERE pk_hash IN ({','.join('?' * len(part))})"
            for pk, content, last_seen in self._exec(sql, part).fetchall():
                known[pk] = [content, last_seen, True, False]
        decisions = []
        newest = None
        for pk, content, seen in units:
            newest = seen if newest is None or seen > newest else newest
            entry = known.get(pk)
            if entry is None:
                known[pk] = [content, seen, False, True]
                decisions.append("new")
                continue
            if seen > entry[1]:
                entry[1] = seen
                entry[3] = True
            if entry[0] == content:
                decisions.append("duplicate")
            else:
                entry[0] = content
                entry[3] = True
                decisions.append("update")
        inserts = [(pk, e[0], now, e[1]) for pk, e in known.items() if not e[2]]
        updates = [(e[0], e[1], pk) for pk, e in known.items() if e[2] and e[3]]
        if inserts:
            self._execmany("INSERT INTO dedup (pk_hash, content_hash, first_seen, last_seen) VALUES (?, ?, ?, ?)", inserts)
        if updates:
            self._execmany("UPDATE dedup SET content_hash = ?, last_seen = ? WHERE pk_hash = ?", updates)
        if newest is not None:
            self._advance_clock(newest)
        return decisions

    def _advance_clock(self, seen: float) -> None:
        # The feed's clock: the latest sighting time committed. Retention counts back from it.
        self._exec("INSERT INTO meta (key, value) VALUES ('feed_clock', ?) ON CONFLICT (key) DO UPDATE SET value = "
                   "CASE WHEN CAST(excluded.value AS REAL) > CAST(value AS REAL) THEN excluded.value ELSE value END", (repr(float(seen)),))

    def feed_clock(self) -> float | None:
        """The latest sighting time committed (the feed's clock), or ``None`` before the first event."""
        row = self._exec("SELECT value FROM meta WHERE key = 'feed_clock'").fetchone()
        return None if row is None else float(row[0])

    def dedup_mark_sent(self, pairs: Iterable[tuple[bytes, bytes]], now: float) -> None:
        """The sink acknowledged these ``(pk_hash, content_hash)`` pairs."""
        self._require_txn()
        self._execmany("UPDATE dedup SET sent_hash = ?, last_sent = ? WHERE pk_hash = ?", [(c, now, p) for p, c in pairs])

    def dedup_forget(self, pk: bytes, content: bytes) -> None:
        """Content ``content`` of ``pk`` was dead-lettered: it no longer counts as sent-or-sending.

        The PK falls back to its last acknowledged content (or is forgotten if none), so replaying
        the same record later sends it instead of calling it a duplicate. A newer content already
        committed for the PK is left alone.
        """
        self._require_txn()
        self._exec("DELETE FROM dedup WHERE pk_hash = ? AND content_hash = ? AND sent_hash IS NULL", (pk, content))
        self._exec("UPDATE dedup SET content_hash = sent_hash WHERE pk_hash = ? AND content_hash = ?", (pk, content))

    # -- source versions and known profiles (delivery/versions.py decides) ---------------------
    def version_get(self, pk: bytes) -> Any:
        """The highest version key committed for ``pk`` (``None``: none yet)."""
        row = self._exec("SELECT version FROM pk_versions WHERE pk_hash = ?", (pk,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def version_put(self, pk: bytes, key: Any, seen: float) -> None:
        """Remember ``key`` as the highest version of ``pk``."""
        self._require_txn()
        self._exec("INSERT INTO pk_versions (pk_hash, version, last_seen) VALUES (?, ?, ?) ON CONFLICT (pk_hash) "
                   "DO UPDATE SET version = excluded.version, last_seen = excluded.last_seen", (pk, orjson.dumps(key), seen))

    def profile_get(self, customer: bytes) -> dict[str, list] | None:
        """The last known profile of a customer: ``{param: [value, version key or None]}``."""
        row = self._exec("SELECT fields FROM profiles WHERE customer_hash = ?", (customer,)).fetchone()
        return None if row is None else orjson.loads(row[0])

    def profile_put(self, customer: bytes, fields: Mapping[str, list], seen: float) -> None:
        """Store a customer's profile as now known."""
        self._require_txn()
        self._exec("INSERT INTO profiles (customer_hash, fields, last_seen) VALUES (?, ?, ?) ON CONFLICT (customer_hash) "
                   "DO UPDATE SET fields = excluded.fields, last_seen = excluded.last_seen", (customer, orjson.dumps(dict(fields)), seen))

    def dedup_unknown_at_receiver(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """Content ``c`` of PK ``p`` may have been stored by the sink without an acknowledgement.

        The PK's acknowledged content is no longer known (``sent_hash`` → NULL) unless it is
        ``c`` itself, so a later version equal to the earlier acknowledged one is sent again.
        """
        self._require_txn()
        self._execmany("UPDATE dedup SET sent_hash = NULL WHERE pk_hash = ? AND sent_hash IS NOT NULL AND sent_hash != ?",
                       [(p, c) for p, c in pairs])

    def dedup_get(self, pk: bytes) -> tuple[bytes, bytes | None] | None:
        """``(content_hash, sent_hash)`` of ``pk``, or ``None`` if unknown."""
        return self.dedup_get_many([pk]).get(pk)

    def dedup_get_many(self, pks: Iterable[bytes]) -> dict[bytes, tuple[bytes, bytes | None]]:
        """``{pk_hash: (content_hash, sent_hash)}`` of the known ones among ``pks`` (one lookup per 500)."""
        distinct = list(dict.fromkeys(pks))
        found: dict[bytes, tuple[bytes, bytes | None]] = {}
        for start in range(0, len(distinct), _IN_BATCH):
            part = distinct[start:start + _IN_BATCH]
            sql = f"SELECT pk_hash, content_hash, sent_hash FROM dedup WHERE pk_hash IN ({','.join('?' * len(part))})"
            for pk, content, sent in self._exec(sql, part).fetchall():
                found[pk] = (content, sent)
        return found

    # -- outbox ------------------------------------------------------------------------------
    def save_batch(self, *, rate_class: str, kind: str, items: Iterable[OutboxItem], sealed: bool, now: float, row_id: int | None = None) -> int:
        """Insert a batch (``row_id=None``) or rewrite a still-open one; return its row id."""
        self._require_txn()
        items = list(items)
        payload = orjson.dumps([i.to_json() for i in items])
        if row_id is None:
            cur = self._exec(
                "INSERT INTO outbox (rate_class, kind, payload, size, sealed, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (rate_class, kind, payload, len(items), int(sealed), now, now),
            )
            if self._outbox_rows is not None:
                self._outbox_rows += 1
            return int(cur.lastrowid)
        self._exec("UPDATE outbox SET payload = ?, size = ?, sealed = ?, next_attempt_at = ? WHERE id = ?",
                   (payload, len(items), int(sealed), now, row_id))
        return row_id

    def _row(self, r: tuple) -> OutboxRow:
        items = tuple(OutboxItem.from_json(x) for x in orjson.loads(r[3]))
        return OutboxRow(r[0], r[1], r[2], items, bool(r[4]), r[5], r[6], r[7], r[8])

    _ROW_COLS = "id, rate_class, kind, payload, sealed, attempts, throttled, next_attempt_at, last_reason"

    def due_batches(self, rate_class: str, now: float, *, exclude: Iterable[int] = (), limit: int = 1) -> list[OutboxRow]:
        """Sealed batches of ``rate_class`` whose time has come, oldest first, skipping ``exclude``."""
        skip = tuple(exclude)
        sql = (f"SELECT {self._ROW_COLS} FROM outbox WHERE sealed = 1 AND rate_class = ? AND next_attempt_at <= ?"
               + (f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else "")
               + " ORDER BY next_attempt_at, id LIMIT ?")
        return [self._row(r) for r in self._exec(sql, (rate_class, now, *skip, limit)).fetchall()]

    def next_attempt_at(self, rate_class: str, *, exclude: Iterable[int] = ()) -> float | None:
        """When the earliest sealed batch of ``rate_class`` (not in ``exclude``) becomes due."""
        skip = tuple(exclude)
        sql = ("SELECT MIN(next_attempt_at) FROM outbox WHERE sealed = 1 AND rate_class = ?"
               + (f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else ""))
        return self._exec(sql, (rate_class, *skip)).fetchone()[0]

    def get_batch(self, row_id: int) -> OutboxRow | None:
        """One stored batch by id."""
        r = self._exec(f"SELECT {self._ROW_COLS} FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return None if r is None else self._row(r)

    def open_batches(self) -> list[OutboxRow]:
        """Batches a previous run left still filling (to be adopted by the batcher)."""
        return [self._row(r) for r in self._exec(f"SELECT {self._ROW_COLS} FROM outbox WHERE sealed = 0 ORDER BY id").fetchall()]

    def delete_batch(self, row_id: int) -> None:
        """Remove a batch (acknowledged, or replaced by its parts after a split)."""
        self._require_txn()
        if self._exec("DELETE FROM outbox WHERE id = ?", (row_id,)).rowcount and self._outbox_rows is not None:
            self._outbox_rows -= 1

    def reschedule(self, row_id: int, *, next_attempt_at: float, attempts: int, throttled: int, reason: str) -> None:
        """Put a batch back to be tried again at ``next_attempt_at``."""
        self._require_txn()
        self._exec("UPDATE outbox SET next_attempt_at = ?, attempts = ?, throttled = ?, last_reason = ? WHERE id = ?",
                   (next_attempt_at, attempts, throttled, reason, row_id))

    def backlog(self) -> dict[str, tuple[int, int]]:
        """Per rate class: (batches, items) still in the outbox."""
        rows = self._exec("SELECT rate_class, COUNT(*), COALESCE(SUM(size), 0) FROM outbox GROUP BY rate_class").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def outbox_size(self, *, kind: str | None = None) -> int:
        """How many batches the outbox holds (open ones included), of one ``kind`` or all.

        The total is counted once and then kept up to date by the inserts and deletes of this
        store (forgotten when a transaction rolls back): the loop asks for it at every turn, and
        a ``COUNT(*)`` costs as much as the outbox is long.
        """
        if kind is None:
            if self._outbox_rows is None:
                self._outbox_rows = self._exec("SELECT COUNT(*) FROM outbox").fetchone()[0]
            return self._outbox_rows
        return self._exec("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)).fetchone()[0]

    def outbox_items(self) -> list[tuple[bytes, bytes]]:
        """``(pk_hash, content_hash)`` of every item in the outbox (read once at start-up)."""
        out = []
        for (payload,) in self._exec("SELECT payload FROM outbox").fetchall():
            out.extend((bytes.fromhex(x[0]), bytes.fromhex(x[1])) for x in orjson.loads(payload))
        return out

    def outbox_classes(self) -> list[str]:
        """Rate classes that have batches in the outbox."""
        return [r[0] for r in self._exec("SELECT DISTINCT rate_class FROM outbox").fetchall()]

    # -- pending records ---------------------------------------------------------------------
    def add_pending(self, *, input_id: str, source: str, payload: bytes | None, remaining: int, counted: bool) -> int:
        """Remember a record with ``remaining`` events in the outbox; return its id."""
        return self.add_pending_many([(input_id, source, payload, remaining, counted)])[0]

    def add_pending_many(self, rows: list[tuple[str, str, bytes | None, int, bool]]) -> list[int]:
        """:meth:`add_pending` for ``(input_id, source, payload, remaining, counted)`` rows; their ids, in order.

        The ids are handed out here (one past the highest ever given, as AUTOINCREMENT would) so
        the rows go in with one ``executemany``: the store's lock makes this process the only writer.
        """
        self._require_txn()
        if not rows:
            return []
        top = self._exec("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'pending'), 0), "
                         "COALESCE((SELECT MAX(id) FROM pending), 0))").fetchone()[0]
        ids = list(range(top + 1, top + 1 + len(rows)))
        self._execmany("INSERT INTO pending (id, input_id, source, payload, remaining, counted) VALUES (?, ?, ?, ?, ?, ?)",
                       [(i, r[0], r[1], r[2], r[3], int(r[4])) for i, r in zip(ids, rows)])
        return ids

    def get_pending(self, pending_id: int) -> PendingRecord | None:
        """The record behind an outbox item (for a dead letter's original payload)."""
        r = self._exec("SELECT input_id, source, payload, failed, counted FROM pending WHERE id = ?", (pending_id,)).fetchone()
        return None if r is None else PendingRecord(r[0], r[1], _loads(r[2]), bool(r[3] & _FAILED), bool(r[4]), bool(r[3] & _DELIVERED))

    def resolve_pending(self, pending_id: int, *, failed: bool, delivered: bool = False) -> tuple[str, PendingRecord | None]:
        """One of the record's events is settled: return its input id, and the record when it was the last.

        The last settlement deletes the pending row; an unknown id gives ``("", None)``.
        """
        return self.resolve_pending_many([(pending_id, failed, delivered)])[0]

    def resolve_pending_many(self, settled: list[tuple[int, bool] | tuple[int, bool, bool]]) -> list[tuple[str, PendingRecord | None]]:
        """:meth:`resolve_pending` for each ``(pending_id, failed[, delivered])``, in order, with a constant number of statements.

        ``delivered``: the event reached the receiver (not superseded), so the record's outcome
        can say whether any of its events was delivered.

        When several events of one record settle together, the record comes back (as finished)
        with the last of them, exactly as one call per event would give.
        """
        self._require_txn()
        if not settled:
            return []
        per_id: dict[int, list[int]] = {}  # id -> [events settled, failed]
        for pid, failed, *delivered in settled:
            entry = per_id.setdefault(pid, [0, 0])
            entry[0] += 1
            entry[1] |= (_FAILED if failed else 0) | (_DELIVERED if delivered and delivered[0] else 0)
        self._execmany("UPDATE pending SET remaining = remaining - ?, failed = failed | ? WHERE id = ?",
                       [(n, f, pid) for pid, (n, f) in per_id.items()])
        rows: dict[int, tuple] = {}
        ids = list(per_id)
        for start in range(0, len(ids), _IN_BATCH):
            part = ids[start:start + _IN_BATCH]
            sql = ("SELECT id, input_id, source, CASE WHEN remaining <= 0 THEN payload END, failed, counted, remaining "
                   f"FROM pending WHERE id IN ({','.join('?' * len(part))})")
            for r in self._exec(sql, part).fetchall():
                rows[r[0]] = r
        finished = [(pid,) for pid, r in rows.items() if r[6] <= 0]
        if finished:
            self._execmany("DELETE FROM pending WHERE id = ?", finished)
        # Replay the settlements in order: the record is "finished" at its last settled event.
        left = {pid: n for pid, (n, _) in per_id.items()}
        out: list[tuple[str, PendingRecord | None]] = []
        for pid, *_ in settled:
            r = rows.get(pid)
            if r is None:
                out.append(("", None))
                continue
            left[pid] -= 1
            last = r[6] <= 0 and left[pid] == 0
            out.append((r[1], PendingRecord(r[1], r[2], _loads(r[3]), bool(r[4] & _FAILED), bool(r[5]), bool(r[4] & _DELIVERED))
                            if last else None))
        return out

    def pending_count(self, input_id: str | None = None) -> int:
        """Records (of ``input_id``, or all) still waiting for some of their events to settle."""
        if input_id is None:
            return self._exec("SELECT COUNT(*) FROM pending").fetchone()[0]
        return self._exec("SELECT COUNT(*) FROM pending WHERE input_id = ?", (input_id,)).fetchone()[0]

    # -- dead letters ------------------------------------------------------------------------
    def add_dead_letter(self, *, input_id: str, source: str, kind: str, reasons: list[Any], payload: Any, event: Any = None, now: float,
                        raw: bytes | None = None, replaces: int | None = None) -> int:
        """Store a dead letter; ``raw`` stores undecodable input as-is instead of ``payload``.

        ``replaces``: the dead letter being replayed that failed again. It is marked replayed first,
        so the failure is stored as a new letter (with the new reasons) instead of being merged
        into the one about to be marked replayed, which would leave nothing visible.
        """
        self._require_txn()
        if replaces is not None:
            self.mark_replayed(replaces, now)
        blob = raw if raw is not None else (None if payload is None else orjson.dumps(payload))
        event_blob = None if event is None else orjson.dumps(event)
        # A second pass over the same input (or a replay that fails the same way) must not pile up
        # copies of a dead letter that is still waiting: keep the one already there.
        same = self._exec(
            "SELECT id FROM dlq WHERE source = ? AND kind = ? AND replayed_at IS NULL AND payload IS ? AND event IS ? LIMIT 1",
            (source, kind, blob, event_blob),
        ).fetchone()
        if same is not None:
            return int(same[0])
        cur = self._exec(
            "INSERT INTO dlq (input_id, source, kind, reason, payload, event, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (input_id, source, kind, orjson.dumps(reasons, default=str).decode(), blob, event_blob, now),
        )
        return int(cur.lastrowid)

    def _dead_letter(self, r: tuple) -> DeadLetter:
        try:
            payload = _loads(r[5])
        except orjson.JSONDecodeError:
            payload = bytes(r[5]).decode("utf-8", "replace")  # a malformed line kept as text
        return DeadLetter(r[0], r[1], r[2], r[3], orjson.loads(r[4]), payload, _loads(r[6]), r[7], r[8])

    _DLQ_COLS = "id, input_id, source, kind, reason, payload, event, created_at, replayed_at"

    def dead_letters(self, *, include_replayed: bool = False, after_id: int = 0, limit: int = 100) -> list[DeadLetter]:
        """Dead letters in id order, ``limit`` at a time after ``after_id`` (stream them page by page)."""
        where = "id > ?" + ("" if include_replayed else " AND replayed_at IS NULL")
        rows = self._exec(f"SELECT {self._DLQ_COLS} FROM dlq WHERE {where} ORDER BY id LIMIT ?", (after_id, limit)).fetchall()
        return [self._dead_letter(r) for r in rows]

    def max_dead_letter_id(self) -> int:
        """The newest dead letter's id (0 when there is none)."""
        return self._exec("SELECT COALESCE(MAX(id), 0) FROM dlq").fetchone()[0]

    def dead_letter(self, dlq_id: int) -> DeadLetter | None:
        """One dead letter by id."""
        r = self._exec(f"SELECT {self._DLQ_COLS} FROM dlq WHERE id = ?", (dlq_id,)).fetchone()
        return None if r is None else self._dead_letter(r)

    def mark_replayed(self, dlq_id: int, now: float) -> None:
        """The dead letter was fed through the mapping again."""
        self._require_txn()
        self._exec("UPDATE dlq SET replayed_at = ? WHERE id = ?", (now, dlq_id))

    def dead_letter_count(self, *, include_replayed: bool = False) -> int:
        """How many dead letters there are (not yet replayed, unless asked)."""
        where = "" if include_replayed else " WHERE replayed_at IS NULL"
        return self._exec(f"SELECT COUNT(*) FROM dlq{where}").fetchone()[0]

    # -- rate-limit memory -------------------------------------------------------------------
    def record_send(self, rate_class: str, at: float, *, keep_seconds: float = 3600.0) -> None:
        """Remember that a request of ``rate_class`` goes out at ``at`` (committed before it is sent)."""
        if self._in_txn:
            raise StateError("record_send commits on its own; call it outside a transaction")
        self._exec("INSERT INTO recent_sends (rate_class, at) VALUES (?, ?)", (rate_class, at))
        if int(at) % 60 == 0:  # now and then, forget sends far older than any window
            self._exec("DELETE FROM recent_sends WHERE at < ?", (at - keep_seconds,))

    def recent_sends(self, since: float) -> list[tuple[str, float]]:
        """``(rate_class, at)`` of the remembered requests sent at or after ``since``, oldest first."""
        return [tuple(r) for r in self._exec("SELECT rate_class, at FROM recent_sends WHERE at >= ? ORDER BY at", (since,)).fetchall()]

    # -- checkpoint, totals, runs ------------------------------------------------------------
    def checkpoint(self, input_id: str) -> Checkpoint | None:
        """Where reading ``input_id`` stopped, if it was ever read."""
        r = self._exec("SELECT input_id, file, offset, line, records, status FROM checkpoint WHERE input_id = ?", (input_id,)).fetchone()
        return None if r is None else Checkpoint(*r)

    def set_checkpoint(self, cp: Checkpoint, now: float) -> None:
        """Store the checkpoint (inside the transaction that commits the records before it)."""
        self._require_txn()
        self._exec(
            "INSERT INTO checkpoint (input_id, file, offset, line, records, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (input_id) DO UPDATE SET file = excluded.file, offset = excluded.offset, line = excluded.line, "
            "records = excluded.records, status = excluded.status, updated_at = excluded.updated_at",
            (cp.input_id, cp.file, cp.offset, cp.line, cp.records, cp.status, now),
        )

    def bump(self, input_id: str, counts: Mapping[str, int]) -> None:
        """Add ``counts`` to the input's cumulative totals."""
        self._require_txn()
        self._execmany(
            "INSERT INTO totals (input_id, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT (input_id, name) DO UPDATE SET value = value + excluded.value",
            [(input_id, k, int(v)) for k, v in counts.items() if v],
        )

    def totals(self, input_id: str) -> dict[str, int]:
        """The input's cumulative counters."""
        return dict(self._exec("SELECT name, value FROM totals WHERE input_id = ?", (input_id,)).fetchall())

    def reset_input(self, input_id: str) -> None:
        """Forget an input's checkpoint and totals (a new pass over an input read before)."""
        self._require_txn()
        self._exec("DELETE FROM totals WHERE input_id = ?", (input_id,))
        self._exec("DELETE FROM checkpoint WHERE input_id = ?", (input_id,))

    def start_run(self, *, input_id: str, mapping: str, now: float) -> int:
        """Record the start of an invocation; return its id."""
        with self.transaction():
            cur = self._exec("INSERT INTO runs (input_id, mapping, started_at, status) VALUES (?, ?, ?, 'running')",
                             (input_id, mapping, now))
        return int(cur.lastrowid)

    def end_run(self, run_id: int, *, status: str, counts: Mapping[str, Any], now: float) -> None:
        """Record how an invocation ended."""
        with self.transaction():
            self._exec("UPDATE runs SET ended_at = ?, status = ?, counts = ? WHERE id = ?",
                       (now, status, orjson.dumps(dict(counts), default=str).decode(), run_id))

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest invocations, newest first."""
        rows = self._exec("SELECT id, input_id, mapping, started_at, ended_at, status, counts FROM runs ORDER BY id DESC LIMIT ?",
                          (limit,)).fetchall()
        keys = ("id", "input_id", "mapping", "started_at", "ended_at", "status", "counts")
        return [dict(zip(keys, r[:6] + (_loads(r[6].encode()) if r[6] else None,))) for r in rows]


def _take_lock(path: Path) -> int | None:
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"state dir {path.parent}: cannot open its lock file {path.name}: {exc.strerror} (the state dir must be writable)") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        raise StateError(f"state dir {path.parent} is in use by another ebi-mapper run (lock {path.name} is held)") from exc
    return fd


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a state file of an older schema up to :data:`SCHEMA_VERSION` (in one transaction)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return  # a new file
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or row[0] != "1":
        return  # current, or refused below
    conn.execute("BEGIN IMMEDIATE")
    try:
        # v2: dedup entries carry their last sighting (retention), the outbox its dispatch index.
        conn.execute("ALTER TABLE dedup ADD COLUMN last_seen REAL NOT NULL DEFAULT 0")
        conn.execute("UPDATE dedup SET last_seen = COALESCE(last_sent, first_seen)")
        conn.execute("DROP INDEX IF EXISTS outbox_due")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_state(state_dir: str | os.PathLike[str], *, synchronous: str = "NORMAL", create: bool = True) -> StateStore:
    """Open (creating if needed, unless ``create`` is false) the state in ``state_dir`` and lock it for this process.

    :param synchronous: ``NORMAL`` (default; safe against the process being killed) or ``FULL``
        (also against power loss; used when the input cannot be re-read).
    :raises StateError: the dir is locked by another run, or the file is not a usable state store.
    """
    sync = synchronous.upper()
    if sync not in ("NORMAL", "FULL"):
        raise StateError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
    directory = Path(state_dir)
    if not create and not (directory / "state.sqlite").is_file():  # reading commands: never make an empty store
        raise StateError(f"{directory} holds no state store (no state.sqlite): give the --state-dir a run used")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create state dir {directory}: {exc}") from exc
    lock_fd = _take_lock(directory / "state.lock")
    path = directory / "state.sqlite"
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
        # A new file gives pages freed by retention back to the OS bit by bit (compact_state runs
        # `PRAGMA incremental_vacuum`); it must be set before the first table exists.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={sync}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_size_limit=67108864")  # the WAL is truncated back to 64 MiB after a checkpoint
        conn.execute("PRAGMA wal_autocheckpoint=16384")
        conn.execute("PRAGMA cache_size=-16384")  # 16 MiB of pages: memory stays flat whatever the state size
        _migrate(conn, path)
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StateError(f"state store {path} has schema version {row[0]}; this ebi-mapper uses {SCHEMA_VERSION}")
    except sqlite3.Error as exc:
        if lock_fd is not None:
            os.close(lock_fd)
        raise StateError(f"state store {path} is not usable: {exc}") from exc
    except StateError:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    return StateStore(path, conn, lock_fd)

