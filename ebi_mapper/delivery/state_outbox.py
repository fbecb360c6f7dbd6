"""The outbox and pending parts of the state store: batches not yet acknowledged, and the input
records some of whose events are still in them.

Why a module of its own: these rows are what makes "acknowledged only once durable" hold (a
batch is deleted only when its answer settles; a record is counted when its last event does).
Proven by tests/delivery/test_state.py (``test_outbox_due_order_exclude_and_reschedule``,
``test_pending_record_settles_on_its_last_event``) and
tests/delivery/test_group_commit.py::test_batched_settlement_finishes_each_record_at_its_last_event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from ..secrets import redact
from .state_base import StoreBase
from .state_records import (
    DELIVERED,
    FAILED,
    IN_BATCH,
    OutboxItem,
    OutboxRow,
    PendingRecord,
    loads,
)

__all__ = ["OutboxStore"]


class OutboxStore(StoreBase):
    """Batches in the outbox and the records waiting on them."""

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
            return int(cur.lastrowid or 0)  # an INSERT always sets it
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
                   (next_attempt_at, attempts, throttled, redact(reason), row_id))  # no secret in the state

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
        out: list[tuple[bytes, bytes]] = []
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

    def add_pending_many(self, rows: Sequence[tuple[str, str, bytes | None, int, bool] | tuple[str, str, bytes | None, int, bool, int]]
                         ) -> list[int]:
        """:meth:`add_pending` for ``(input_id, source, payload, remaining, counted[, bits])`` rows; their ids, in order.

        ``bits``: what the record's events that already settled did (``pending.failed``; 0 when
        none did). The ids are handed out here (one past the highest ever given, as AUTOINCREMENT
        would) so the rows go in with one ``executemany``: the store's lock makes this process the
        only writer.
        """
        self._require_txn()
        if not rows:
            return []
        top = self._exec("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'pending'), 0), "
                         "COALESCE((SELECT MAX(id) FROM pending), 0))").fetchone()[0]
        ids = list(range(top + 1, top + 1 + len(rows)))
        values = [(i, r[0], r[1], r[2], r[3], int(r[4]), r[5] if len(r) > 5 else 0) for i, r in zip(ids, rows, strict=True)]
        self._execmany("INSERT INTO pending (id, input_id, source, payload, remaining, counted, failed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       values)
        return ids

    def get_pending(self, pending_id: int) -> PendingRecord | None:
        """The record behind an outbox item (for a dead letter's original payload)."""
        r = self._exec("SELECT input_id, source, payload, failed, counted FROM pending WHERE id = ?", (pending_id,)).fetchone()
        return None if r is None else PendingRecord(r[0], r[1], loads(r[2]), bool(r[3] & FAILED), bool(r[4]), bool(r[3] & DELIVERED))

    def resolve_pending(self, pending_id: int, *, failed: bool, delivered: bool = False) -> tuple[str, PendingRecord | None]:
        """One of the record's events is settled: return its input id, and the record when it was the last.

        The last settlement deletes the pending row; an unknown id gives ``("", None)``.
        """
        return self.resolve_pending_many([(pending_id, failed, delivered)])[0]

    def resolve_pending_many(self, settled: Sequence[tuple[int, bool] | tuple[int, bool, bool]]) -> list[tuple[str, PendingRecord | None]]:
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
            entry[1] |= (FAILED if failed else 0) | (DELIVERED if delivered and delivered[0] else 0)
        self._execmany("UPDATE pending SET remaining = remaining - ?, failed = failed | ? WHERE id = ?",
                       [(n, f, pid) for pid, (n, f) in per_id.items()])
        rows: dict[int, tuple] = {}
        ids = list(per_id)
        for start in range(0, len(ids), IN_BATCH):
            part = ids[start:start + IN_BATCH]
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
            out.append((r[1], PendingRecord(r[1], r[2], loads(r[3]), bool(r[4] & FAILED), bool(r[5]), bool(r[4] & DELIVERED))
                            if last else None))
        return out

    def pending_count(self, input_id: str | None = None) -> int:
        """Records (of ``input_id``, or all) still waiting for some of their events to settle."""
        if input_id is None:
            return self._exec("SELECT COUNT(*) FROM pending").fetchone()[0]
        return self._exec("SELECT COUNT(*) FROM pending WHERE input_id = ?", (input_id,)).fetchone()[0]
