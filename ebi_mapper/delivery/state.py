"""The durable state of delivery runs: one SQLite file, ``<state-dir>/state.sqlite``.

``StateStore`` is assembled here from its parts, one job each: ``state_schema`` (tables,
migration), ``state_base`` (connection, transactions), ``state_dedup``, ``state_outbox``,
``state_ledger``; ``state_records`` holds the values they exchange. Callers import everything
from this module.

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

import os
import sqlite3
from pathlib import Path

from ..errors import StateError
from .state_dedup import DedupStore
from .state_ledger import LedgerStore
from .state_outbox import OutboxStore
from .state_records import (
    PK_KEYS,
    Checkpoint,
    DeadLetter,
    OutboxItem,
    OutboxRow,
    PendingRecord,
    PkKey,
    content_hash,
    pk_hash,
    pk_key,
)
from .state_schema import SCHEMA, SCHEMA_VERSION, migrate

try:  # POSIX only; elsewhere the lock degrades to SQLite's own locking.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "PK_KEYS",
    "SCHEMA_VERSION",
    "Checkpoint",
    "DeadLetter",
    "OutboxItem",
    "OutboxRow",
    "PendingRecord",
    "PkKey",
    "StateStore",
    "content_hash",
    "open_state",
    "pk_hash",
    "pk_key",
]


class StateStore(DedupStore, OutboxStore, LedgerStore):
    """The SQLite state of one state dir. Use as a context manager, or call :meth:`close`."""

    def __enter__(self) -> StateStore:
        return self


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


def open_state(state_dir: str | os.PathLike[str], *, synchronous: str = "NORMAL", create: bool = True,
               shared: bool = False, pk_keys: str | None = None) -> StateStore:
    """Open (creating if needed, unless ``create`` is false) the state in ``state_dir`` and lock it for this process.

    :param synchronous: ``NORMAL`` (default; safe against the process being killed) or ``FULL``
        (also against power loss; used when the input cannot be re-read).
    :param shared: for commands that only read (``dlq list``, ``state stats``): when another
        process holds the lock (``serve`` runs), open the file read-only beside it instead of failing.
    :param pk_keys: the PK key scheme a new file takes (``ordered``, the default, or ``hash``); an
        existing file must have it (scale-out workers follow their cluster's: scaleout/partition.py).
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
    try:
        lock_fd = _take_lock(directory / "state.lock")
    except StateError:
        if not shared:
            raise
        return _open_beside(directory / "state.sqlite")
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
        migrate(conn, path)
        conn.executescript(SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StateError(f"state store {path} has schema version {row[0]}; this ebi-mapper uses {SCHEMA_VERSION}")
        keys = _key_scheme(conn, path, new=row is None, wanted=pk_keys)
    except sqlite3.Error as exc:
        if lock_fd is not None:
            os.close(lock_fd)
        raise StateError(f"state store {path} is not usable: {exc}") from exc
    except StateError:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    store = StateStore(path, conn, lock_fd)
    store.pk_keys, store.pk_key = keys, PK_KEYS[keys]
    return store


def _key_scheme(conn: sqlite3.Connection, path: Path, *, new: bool, wanted: str | None) -> str:
    """The file's PK key scheme (``meta.pk_keys``), written once: ``wanted``, or ``ordered`` for a new file.

    A file made before the scheme existed keys by ``pk_hash`` and keeps it: its dedup entries are
    only found again under the keys they were written with (state_records.pk_key).
    """
    row = conn.execute("SELECT value FROM meta WHERE key = 'pk_keys'").fetchone()
    if row is None:
        scheme = wanted or ("ordered" if new else "hash")
        conn.execute("INSERT INTO meta (key, value) VALUES ('pk_keys', ?)", (scheme,))
        return scheme
    if row[0] not in PK_KEYS:
        raise StateError(f"state store {path} keys its PKs as {row[0]!r}, which this ebi-mapper does not know")
    if wanted is not None and row[0] != wanted:
        raise StateError(f"state store {path} keys its PKs as {row[0]!r}, not {wanted!r}")
    return str(row[0])


def _open_beside(path: Path) -> StateStore:
    """The state file read-only, while its owner (a ``serve``) holds the lock: WAL lets both read."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=5.0, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        row = conn.execute("SELECT value FROM meta WHERE key = 'pk_keys'").fetchone()
    except sqlite3.Error as exc:
        raise StateError(f"state store {path} is in use and cannot be read beside its owner: {exc}") from exc
    store = StateStore(path, conn, None)
    if row is not None and row[0] in PK_KEYS:
        store.pk_keys, store.pk_key = row[0], PK_KEYS[row[0]]
    return store
