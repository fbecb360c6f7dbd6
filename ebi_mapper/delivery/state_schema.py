"""The schema of the state file (``state.sqlite``) and the migration of older files.

Why a module of its own: the tables are the contract every other part of the state (``state_*``
modules) writes against, and one place to read them whole. docs/delivery.md says what each
table guarantees; tests/delivery/test_state.py (``test_a_version_1_state_file_is_migrated`` in
test_group_commit.py, ``test_wrong_schema_version_is_refused``) proves the schema opens, migrates and refuses other versions.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["SCHEMA", "SCHEMA_VERSION", "migrate"]

SCHEMA_VERSION = 3

SCHEMA = """
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
    at REAL NOT NULL,               -- when the request went out (committed before it is sent)
    answered REAL                   -- when its answer settled (NULL: in flight, or its process died first)
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


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a state file of an older schema up to :data:`SCHEMA_VERSION` (in one transaction)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
        return  # a new file
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or row[0] not in ("1", "2"):
        return  # current, or refused below
    conn.execute("BEGIN IMMEDIATE")
    try:
        if row[0] == "1":  # v2: dedup entries carry their last sighting (retention), the outbox its dispatch index.
            conn.execute("ALTER TABLE dedup ADD COLUMN last_seen REAL NOT NULL DEFAULT 0")
            conn.execute("UPDATE dedup SET last_seen = COALESCE(last_sent, first_seen)")
            conn.execute("DROP INDEX IF EXISTS outbox_due")
        # v3: a remembered request's answer time (the limiter counts a request from its answer).
        if "answered" not in {r[1] for r in conn.execute("PRAGMA table_info(recent_sends)")}:
            conn.execute("ALTER TABLE recent_sends ADD COLUMN answered REAL")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
