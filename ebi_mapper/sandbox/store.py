"""Where the sandbox keeps what it accepted: SQLite (WAL), idempotent by primary key.

An event is identified by its name plus the values of its catalog primary key. Storing the same
PK again with identical content is a *duplicate* (no new row, a counter goes up); with different
content it is an *update* (the row takes the new content). Bespoke attribute rows keep the
latest value per customer and attribute, by timestamp.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from ..errors import StateError

__all__ = ["SandboxStore", "event_hash"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event TEXT NOT NULL,
    pk TEXT NOT NULL,
    customer TEXT,
    timestamp TEXT,
    body BLOB NOT NULL,
    hash TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0,
    updates INTEGER NOT NULL DEFAULT 0,
    first_received REAL NOT NULL,
    last_received REAL NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (event, pk)
);
CREATE INDEX IF NOT EXISTS events_customer ON events (customer);
CREATE INDEX IF NOT EXISTS events_seq ON events (seq);
CREATE TABLE IF NOT EXISTS attributes (
    customer TEXT NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    timestamp TEXT NOT NULL,
    received REAL NOT NULL,
    PRIMARY KEY (customer, name)
);
"""


def event_hash(event: Any) -> str:
    """A content hash independent of key order."""
    return hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()


class SandboxStore:
    """One SQLite connection shared by the server's threads behind a lock.

    Writes are one transaction per request, so a request's events are stored all or nothing.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path else ":memory:"
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateError(f"sandbox database {self.path!r} is unusable: {exc}") from exc
        self._lock = threading.Lock()
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._seq = row[0]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def store_events(self, items: Iterable[tuple[str, str, dict]]) -> list[str]:
        """Store ``(event_name, pk_json, event)`` items in one transaction.

        Returns one outcome per item: ``accepted`` (new PK), ``duplicate`` (same PK, same
        content) or ``update`` (same PK, new content).
        """
        # The request is decided in memory against one lookup of its PKs and written with one
        # statement per kind: a request is a handful of events, and per-event statements were
        # most of the sandbox's time per request (bench/bench_run.py puts it under load).
        # Items of one PK inside the request are decided one after the other, as if sent apart.
        hashed = [(name, pk, event, event_hash(event)) for name, pk, event in items]
        outcomes: list[str] = []
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                current: dict[tuple[str, str], str | None] = {}
                for name in {i[0] for i in hashed}:
                    pks = list({i[1] for i in hashed if i[0] == name})
                    for start in range(0, len(pks), 500):
                        part = pks[start:start + 500]
                        for pk, digest in db.execute(
                                f"SELECT pk, hash FROM events WHERE event = ? AND pk IN ({','.join('?' * len(part))})",
                                (name, *part)):
                            current[(name, pk)] = digest
                inserts: dict[tuple[str, str], list] = {}  # rows new to the table (a later item of the PK overwrites)
                duplicates: list[tuple[float, str, str]] = []
                updates: list[tuple] = []
                for name, pk, event, digest in hashed:
                    key = (name, pk)
                    known = current.get(key)
                    self._seq += 1
                    row = (name, pk, _text(event.get("customer")), _text(event.get("timestamp")), orjson.dumps(event),
                           digest, now, now, self._seq)
                    if known is None:
                        inserts[key] = [*row, 0, 0]
                        outcomes.append("accepted")
                    elif known == digest:
                        if key in inserts:
                            inserts[key][9] += 1
                        else:
                            duplicates.append((now, name, pk))
                        outcomes.append("duplicate")
                    else:
                        if key in inserts:  # new in this request and changed in it again
                            inserts[key] = [*row, inserts[key][9], inserts[key][10] + 1]
                        else:
                            updates.append((row[4], digest, row[2], row[3], now, self._seq, name, pk))
                        outcomes.append("update")
                    current[key] = digest
                if inserts:
                    db.executemany(
                        "INSERT INTO events (event, pk, customer, timestamp, body, hash, first_received, last_received,"
                        " seq, duplicates, updates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(inserts.values()))
                if duplicates:
                    db.executemany("UPDATE events SET duplicates = duplicates + 1, last_received = ? WHERE event = ? AND pk = ?",
                                   duplicates)
                if updates:
                    db.executemany(
                        "UPDATE events SET body = ?, hash = ?, customer = ?, timestamp = ?,"
                        " updates = updates + 1, last_received = ?, seq = ? WHERE event = ? AND pk = ?", updates)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return outcomes

    def store_attributes(self, rows: Iterable[dict]) -> int:
        """Keep the latest value per (customer, attribute) by timestamp; return attributes written."""
        written = 0
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    for name, value in row["attributes"].items():
                        cur = db.execute(
                            "INSERT INTO attributes (customer, name, value, timestamp, received)"
                            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (customer, name) DO UPDATE SET"
                            " value = excluded.value, timestamp = excluded.timestamp, received = excluded.received"
                            " WHERE excluded.timestamp >= attributes.timestamp",
                            (row["customer"], name, orjson.dumps(value), row["timestamp"], now),
                        )
                        written += cur.rowcount
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return written

    def events(self, *, event: str | None = None, customer: str | None = None,
               limit: int | None = None) -> list[dict]:
        """Stored events, oldest change first, optionally filtered by event name and customer."""
        sql = "SELECT event, pk, body, duplicates, updates, first_received, last_received FROM events"
        where: list[str] = []
        args: list[Any] = []
        if event:
            where.append("event = ?")
            args.append(event)
        if customer:
            where.append("customer = ?")
            args.append(customer)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [
            {"event": r[0], "pk": orjson.loads(r[1]), "data": orjson.loads(r[2]), "duplicates": r[3],
             "updates": r[4], "first_received": r[5], "last_received": r[6]}
            for r in rows
        ]

    def attributes(self, *, customer: str | None = None, limit: int | None = None) -> list[dict]:
        """Stored bespoke attributes, one row per customer with every attribute's latest value."""
        sql = "SELECT customer, name, value, timestamp FROM attributes"
        args: list[Any] = []
        if customer:
            sql += " WHERE customer = ?"
            args.append(customer)
        sql += " ORDER BY customer, name"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out: dict[str, dict] = {}
        for cust, name, value, ts in rows:
            entry = out.setdefault(cust, {"customer": cust, "attributes": {}, "timestamps": {}})
            entry["attributes"][name] = orjson.loads(value)
            entry["timestamps"][name] = ts
        result = list(out.values())
        return result[: int(limit)] if limit is not None else result

    def counts(self) -> dict[str, Any]:
        """Rows stored: total and by event; customers with attributes."""
        with self._lock:
            by_event = dict(self._db.execute("SELECT event, COUNT(*) FROM events GROUP BY event ORDER BY event"))
            customers = self._db.execute("SELECT COUNT(DISTINCT customer) FROM attributes").fetchone()[0]
        return {"events": sum(by_event.values()), "by_event": by_event, "attribute_customers": customers}

    def clear(self) -> None:
        """Delete everything stored."""
        with self._lock:
            self._db.execute("DELETE FROM events")
            self._db.execute("DELETE FROM attributes")
            self._seq = 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))
