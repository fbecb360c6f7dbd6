"""The ledger parts of the state store: dead letters, remembered send times, checkpoints,
cumulative totals and runs.

Why a module of its own: these are what an operator reads back (``dlq``, ``state stats``, the
summary of a resumed run); none is on the per-event hot path. Proven by
tests/delivery/test_state.py (``test_dead_letters_store_payload_reasons_and_replay_mark``,
``test_checkpoint_and_totals``, ``test_runs_are_recorded``,
``test_a_dead_letter_still_waiting_is_not_stored_twice``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..errors import StateError
from ..secrets import redact_bytes, redact_value
from .state_base import StoreBase
from .state_records import Checkpoint, DeadLetter, loads

__all__ = ["LedgerStore"]


class LedgerStore(StoreBase):
    """Dead letters, send times, checkpoints, totals and runs."""

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
        # Nothing a secret registered with ebi_mapper.secrets may reach the state (an upstream that
        # echoes the token in its error body): reasons and copies are redacted on the way in.
        reasons = redact_value(reasons)
        blob = raw if raw is not None else (None if payload is None else orjson.dumps(payload))
        blob = None if blob is None else redact_bytes(blob)
        event_blob = None if event is None else redact_bytes(orjson.dumps(event))
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
        return int(cur.lastrowid or 0)  # an INSERT always sets it

    def _dead_letter(self, r: tuple) -> DeadLetter:
        try:
            payload = loads(r[5])
        except orjson.JSONDecodeError:
            payload = bytes(r[5]).decode("utf-8", "replace")  # a malformed line kept as text
        return DeadLetter(r[0], r[1], r[2], r[3], orjson.loads(r[4]), payload, loads(r[6]), r[7], r[8])

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
    def record_send(self, rate_class: str, at: float, *, keep_seconds: float = 3600.0) -> int:
        """Remember that a request of ``rate_class`` goes out at ``at`` (committed before it is sent); its id."""
        if self._in_txn:
            raise StateError("record_send commits on its own; call it outside a transaction")
        cur = self._exec("INSERT INTO recent_sends (rate_class, at) VALUES (?, ?)", (rate_class, at))
        if int(at) % 60 == 0:  # now and then, forget sends far older than any window
            self._exec("DELETE FROM recent_sends WHERE at < ?", (at - keep_seconds,))
        return int(cur.lastrowid or 0)

    def answer_send(self, send_id: int, at: float) -> None:
        """The request ``send_id`` (of :meth:`record_send`) was answered at ``at``."""
        self._require_txn()
        self._exec("UPDATE recent_sends SET answered = ? WHERE rowid = ?", (at, send_id))

    def recent_sends(self, since: float, *, in_flight_for: float = 300.0) -> list[tuple[str, float, float | None]]:
        """``(rate_class, sent at, answered at or None)`` of the remembered requests answered at or after
        ``since``, or never answered and sent less than ``in_flight_for`` seconds before it; oldest first."""
        sql = "SELECT rate_class, at, answered FROM recent_sends WHERE COALESCE(answered, at + ?) >= ? ORDER BY at"
        return [(r[0], r[1], r[2]) for r in self._exec(sql, (in_flight_for, since)).fetchall()]

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
        return int(cur.lastrowid or 0)  # an INSERT always sets it

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
        return [dict(zip(keys, r[:6] + (loads(r[6].encode()) if r[6] else None,), strict=True)) for r in rows]
