"""Bounded state: what the state file forgets, when, and how its size is given back.

Three retention windows (``delivery.retention`` in the mapping, see docs/delivery.md):

* ``dedup`` (default 7 days): a PK's dedup entry is forgotten once the feed has moved on past
  ``last_seen + window``. The clock is the *feed's*: ``last_seen`` is the latest event timestamp
  seen for the PK and the horizon counts back from the latest event timestamp committed (the
  feed clock), not from the wall clock. Read live, the two clocks agree; a backfill of a week read
  in an hour keeps a one-day window of PKs instead of the whole week. A PK seen again after its
  entry expired is sent again, which Optimove's store by PK keeps idempotent. Entries whose
  newest content is not yet acknowledged are never expired (they are still being delivered).
* ``dead_letters`` (default 30 days, wall clock, by creation): after that a dead letter is gone
  for good; ``none`` keeps them until removed by hand.
* ``runs`` (default 90 days, wall clock): ``runs`` rows, and the checkpoint and totals of inputs
  finished (``done``) longer ago than that (a stdin input is a new input every run).

Expiry is incremental (a bounded delete with each ingest chunk, so a big backlog of expired rows
never stalls a run); freed pages are reused by new rows, so the file stays the size of the live
window; :func:`compact` gives free pages back to the operating system (``incremental_vacuum``,
or ``VACUUM`` with ``full=True``: ``ebi-mapper state compact``).
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from ..errors import DeliveryError, StateError
from .state import StateStore

__all__ = ["Retention", "parse_duration", "expire_dedup", "expire_history", "compact", "state_stats", "save_retention"]

DAY = 86400.0
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


@dataclass(frozen=True)
class Retention:
    """Retention windows in seconds (``None``: kept for ever)."""

    dedup: float | None = 7 * DAY
    dead_letters: float | None = 30 * DAY
    runs: float | None = 90 * DAY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_duration(value: Any, what: str) -> float | None:
    """``"7d"``, ``"36h"``, ``"90m"``, ``"3600s"``, a number of seconds, or ``none``/``off`` (→ ``None``)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "off", "forever")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None or float(match.group(1)) <= 0:
        raise DeliveryError(f"{what} must be a duration like 7d, 36h, 90m or 3600s (or none), got {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def save_retention(state: StateStore, retention: Retention) -> None:
    """Remember the windows last used, so ``state stats`` and ``state compact`` know them (inside a transaction)."""
    state._exec("INSERT INTO meta (key, value) VALUES ('retention', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (orjson.dumps(retention.to_dict()).decode(),))


def load_retention(state: StateStore) -> Retention:
    """The windows the last run used (the defaults if none ran yet)."""
    row = state._exec("SELECT value FROM meta WHERE key = 'retention'").fetchone()
    return Retention(**orjson.loads(row[0])) if row else Retention()


def dedup_horizon(state: StateStore, retention: Retention) -> float | None:
    """Entries last seen before this feed time are expired (``None``: nothing expires yet)."""
    clock = state.feed_clock()
    return None if clock is None or retention.dedup is None else clock - retention.dedup


def expire_dedup(state: StateStore, retention: Retention, *, limit: int | None) -> int:
    """Forget up to ``limit`` (all with ``None``) expired, settled dedup entries; return how many."""
    horizon = dedup_horizon(state, retention)
    if horizon is None:
        return 0
    # The last_seen index gives the oldest first; an entry whose newest content is not yet
    # acknowledged (sent_hash differs) is still being delivered and stays. Only the oldest
    # ``limit`` expired entries are looked at: were the filter inside the scan, every call would
    # walk past all the unacknowledged ones again (quadratic on a feed read out of time order).
    sql = ("DELETE FROM dedup WHERE pk_hash IN (SELECT pk_hash FROM (SELECT pk_hash, content_hash, sent_hash FROM dedup "
           "WHERE last_seen < ? ORDER BY last_seen LIMIT ?) WHERE sent_hash IS content_hash)")
    gone = state._exec(sql, (horizon, -1 if limit is None else limit)).rowcount
    # The highest version seen per PK and the known profiles follow the same window: a PK seen
    # again after it is ordered afresh, a customer's next update after it is a cold start.
    for table, key in (("pk_versions", "pk_hash"), ("profiles", "customer_hash")):
        state._exec(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE last_seen < ? ORDER BY last_seen LIMIT ?)",
                    (horizon, -1 if limit is None else limit))
    return gone


def expire_history(state: StateStore, retention: Retention, now: float) -> dict[str, int]:
    """Drop dead letters, runs and finished inputs older than their windows (inside a transaction)."""
    gone = {"dead_letters": 0, "runs": 0, "inputs": 0}
    if retention.dead_letters is not None:
        gone["dead_letters"] = state._exec("DELETE FROM dlq WHERE created_at < ?", (now - retention.dead_letters,)).rowcount
    if retention.runs is not None:
        cutoff = now - retention.runs
        gone["runs"] = state._exec("DELETE FROM runs WHERE started_at < ? AND status != 'running'", (cutoff,)).rowcount
        old = [r[0] for r in state._exec("SELECT input_id FROM checkpoint WHERE status = 'done' AND updated_at < ?", (cutoff,))]
        for input_id in old:
            state.reset_input(input_id)
        gone["inputs"] = len(old)
    return gone


def compact(state: StateStore, *, full: bool = False) -> None:
    """Give free pages back to the file system: ``incremental_vacuum`` (cheap), or ``VACUUM`` with ``full``.

    ``VACUUM`` rewrites the whole file (it needs as much free disk again); it also turns on
    incremental vacuuming for a file made before it existed. Run outside a transaction.
    """
    # As a script: `PRAGMA incremental_vacuum` frees one page per step, and a script runs every step.
    script = "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;" if full else "PRAGMA incremental_vacuum;"
    try:
        state._conn.executescript(script + " PRAGMA wal_checkpoint(TRUNCATE);")
    except sqlite3.Error as exc:
        raise StateError(f"state store {state.path}: compaction failed: {exc}") from exc


_TABLES = ("dedup", "pk_versions", "profiles", "outbox", "pending", "dlq", "checkpoint", "totals", "recent_sends", "runs")


def state_stats(state: StateStore) -> dict[str, Any]:
    """Sizes, rows per table, the retention windows and the oldest/newest entries of a state store."""
    path = state.path
    size = path.stat().st_size if path.exists() else 0
    wal = path.with_name(path.name + "-wal")
    page_size = state._exec("PRAGMA page_size").fetchone()[0]
    free = state._exec("PRAGMA freelist_count").fetchone()[0]
    retention = load_retention(state)
    dedup_span = state._exec("SELECT MIN(last_seen), MAX(last_seen) FROM dedup").fetchone()
    dlq_span = state._exec("SELECT MIN(created_at), MAX(created_at) FROM dlq").fetchone()
    runs_span = state._exec("SELECT MIN(started_at), MAX(started_at) FROM runs").fetchone()
    return {
        "path": str(path),
        "file_bytes": size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
        "free_bytes": free * page_size,
        "auto_vacuum": {0: "none", 1: "full", 2: "incremental"}.get(state._exec("PRAGMA auto_vacuum").fetchone()[0], "?"),
        "rows": {t: state._exec(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in _TABLES},
        "pk_keys": state.pk_keys,
        "retention": retention.to_dict(),
        "feed_clock": state.feed_clock(),
        "dedup_horizon": dedup_horizon(state, retention),
        "dedup_last_seen": {"oldest": dedup_span[0], "newest": dedup_span[1]},
        "dead_letters_created": {"oldest": dlq_span[0], "newest": dlq_span[1]},
        "runs_started": {"oldest": runs_span[0], "newest": runs_span[1]},
    }


def file_bytes(state_dir: str | os.PathLike[str]) -> int:
    """The bytes a state dir's database takes on disk (the file and its write-ahead log)."""
    total = 0
    for name in ("state.sqlite", "state.sqlite-wal"):
        p = os.path.join(state_dir, name)
        if os.path.exists(p):
            total += os.path.getsize(p)
    return total
