"""The values the state store hands out and takes in, and the keys and hashes that index it.

Why a module of its own: the pipeline, the ingestor and the tests build and read these records
without needing the SQLite side (``state.py`` and its ``state_*`` parts). The hashes are
content-addressed (blake2b of canonical JSON): tests/delivery/test_state.py
(``test_pk_hash_includes_the_event_name``, ``test_dedup_new_duplicate_update``) and
tests/delivery/test_pk_keys.py prove them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "DELIVERED",
    "FAILED",
    "IN_BATCH",
    "Checkpoint",
    "DeadLetter",
    "OutboxItem",
    "OutboxRow",
    "PendingRecord",
    "content_hash",
    "loads",
    "pk_hash",
    "pk_key",
    "PK_KEYS",
    "PkKey",
]

IN_BATCH = 500  # keys per `IN (...)` lookup: well under SQLite's limit on bound parameters


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def pk_hash(event: str, pk: Iterable[Any]) -> bytes:
    """A 16-byte hash of an event's primary key (event name included: PKs are per event).

    The key of state files made before :func:`pk_key` (``meta.pk_keys = 'hash'``), and the last
    16 bytes of every :func:`pk_key`.
    """
    return _digest(orjson.dumps([event, *pk], option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME, default=str))


_TAGS: dict[str, bytes] = {}
_SEPARATORS = str.maketrans("", "", "-: T")  # "2026-07-01 12:30:05" -> 20260701123005


def pk_key(event: str, pk: Iterable[Any]) -> bytes:
    """The key of an event's primary key in the state: ordered by the PK's time, unique by its hash.

    ``tag (2 bytes, the event name's) + time (6 bytes) + pk_hash (16 bytes)``, the time being the
    first PK value that reads as a timestamp (``YYYY-MM-DD HH:MM:SS`` or ``…T…``), as the decimal
    number ``YYYYMMDDHHMMSS``; a PK without one (``customer`` alone) is ``tag + pk_hash``.

    Why: 8 of the 10 OOTB events have ``timestamp`` in their PK, and a feed arrives roughly in
    time order, so the keys of one chunk land side by side in the dedup B-tree instead of on one
    random page each. Measured on 1M records (bench/bench_run.py's feed): the pages a commit
    writes fell from about one per event to a handful per chunk, the loop's SQLite time from 21 s
    to about 7 s, and the rate stopped falling as the table grows. Two PKs share a key exactly when their
    ``pk_hash`` is the same (the time is a function of the PK's own values, the hash is in the key).
    """
    values = pk if type(pk) is tuple else tuple(pk)
    digest = pk_hash(event, values)
    tag = _TAGS.get(event)
    if tag is None:
        tag = _TAGS[event] = hashlib.blake2b(event.encode(), digest_size=2).digest()
    for v in values:
        if type(v) is str and len(v) >= 19 and v[4] == v[7] == "-" and v[13] == v[16] == ":" and v[10] in " T":
            try:  # at most 14 characters are left: below 10**14 < 2**48, never negative ("-" is dropped)
                return tag + int(v[:19].translate(_SEPARATORS)).to_bytes(6, "big") + digest
            except ValueError:
                break  # looked like a time and was not: the key has none
    return tag + digest


# A state's PK key function, and the schemes a state file may use (its meta ``pk_keys``): new files ``ordered``.
PkKey = Callable[[str, Iterable[Any]], bytes]
PK_KEYS: dict[str, PkKey] = {"ordered": pk_key, "hash": pk_hash}


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
    def from_json(cls, data: list) -> OutboxItem:
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
FAILED = 1
DELIVERED = 2


def loads(blob: bytes | None) -> Any:
    """A stored JSON blob decoded (``None`` stays ``None``)."""
    return None if blob is None else orjson.loads(blob)
