"""The core of the state store: the connection, the lock's descriptor, transactions, statements.

Why a module of its own: the parts of the store (``state_dedup``, ``state_outbox``,
``state_ledger``) are mixins over this one base, so each stays small and has one job while
``StateStore`` (``state.py``) remains the single object callers hold. That a change outside a
transaction is refused and a rollback forgets the kept outbox count is proven by
tests/delivery/test_state.py::test_changes_outside_a_transaction_are_refused and
tests/delivery/test_group_commit.py::test_the_kept_outbox_count_follows_commits_and_rollbacks.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import StateError
from .state_records import PkKey, pk_hash

__all__ = ["StoreBase"]


class StoreBase:
    """The SQLite connection of one state dir and the statement helpers its parts share."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fd: int | None):
        self.path = path
        self._conn = conn
        self._lock_fd = lock_fd
        self._in_txn = False
        self._outbox_rows: int | None = None  # cached COUNT(*) of the outbox (see outbox_size)
        self._decided: Any = None  # dedup decisions not yet written (StateStore.dedup_write_decided)
        # How this file keys PKs (state_records.pk_key): open_state sets the file's own scheme.
        self.pk_keys = "hash"
        self.pk_key: PkKey = pk_hash

    def _forget_cached(self) -> None:
        """What this store keeps of its rows may be wrong (a rollback): read them again when asked."""
        self._outbox_rows = None
        self._decided = None

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database and release the lock."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[StoreBase]:
        """One atomic unit: everything inside commits together or not at all."""
        if self._in_txn:
            raise StateError("nested state transactions are not supported")
        self._exec("BEGIN IMMEDIATE")
        self._in_txn = True
        try:
            yield self
        except BaseException:
            self._in_txn = False
            self._forget_cached()  # the rolled-back inserts and deletes counted in it, decisions not written
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
