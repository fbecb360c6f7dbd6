"""The values the state store hands out and takes in, and the two hashes that key it.

Why a module of its own: the pipeline, the ingestor and the tests build and read these records
without needing the SQLite side (``state.py`` and its ``state_*`` parts). The hashes are
content-addressed (blake2b of canonical JSON): tests/delivery/test_state.py
(``test_pk_hash_includes_the_event_name``, ``test_dedup_new_duplicate_update``) proves them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
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
]

IN_BATCH = 500  # keys per `IN (...)` lookup: well under SQLite's limit on bound parameters


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
