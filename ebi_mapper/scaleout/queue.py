"""The cluster's shared queue in Redis: partitioned streams, their fixed partition count, producers.

Every version of a primary key must be delivered in order, so every record of one customer goes
to one partition (``partition = blake2b(customer) % P``; a record without a customer, a broken line
or one no rule maps, by the hash of its raw bytes) and a partition is processed by one worker at a
time (worker.py). ``P`` is fixed when the cluster is first used and stored in ``{prefix}meta``:
a producer or a worker started with another ``--partitions`` refuses with a message, because a
different ``P`` would send one customer's records to two partitions
(tests/scaleout/test_queue.py).

A producer maps each record with the client's mapping only to find its customer, then XADDs the
raw line; :func:`enqueue_input` moves the input's checkpoint (in the producer's local state) only
after the XADDs of a chunk returned, so a producer killed at any moment re-sends at most one chunk
(the workers' dedup makes that harmless) and loses nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ..delivery.state_records import PK_KEYS
from ..errors import DeliveryError

__all__ = ["DEFAULT_PARTITIONS", "GROUP", "Keys", "Producer", "check_url", "connect", "enqueue_input", "enqueue_records",
           "ensure_pk_keys", "partition_of", "patiently"]

T = TypeVar("T")
DEFAULT_PARTITIONS = 16
GROUP = "workers"  # the consumer group every worker reads with


def connect(url: str, *, patience: float = 0.0) -> Any:
    """A Redis client for ``url`` (``redis://host:port/db``); a one-line error if it does not answer
    within ``patience`` seconds (a worker waits a little: Redis may be restarting)."""
    import redis

    check_url(url)
    from urllib.parse import urlparse

    from ..secrets import register

    register(urlparse(url).password)  # never in a log, an error or a dead letter (secrets.redact)
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10)
    deadline = time.monotonic() + patience
    while True:
        try:
            client.ping()
            return client
        except redis.RedisError as exc:
            if time.monotonic() >= deadline:
                client.close()
                raise DeliveryError(f"--queue: Redis at {_safe(url)} does not answer ({type(exc).__name__}: {exc})") from None
            time.sleep(0.2)


def check_url(url: str) -> None:
    """A one-line :class:`DeliveryError` unless ``url`` names a Redis (checked before anything starts)."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise DeliveryError(f"--queue {_safe(url)!r}: expected redis://host:port/db")


def patiently(call: Callable[[], T], what: str, *, patience: float = 60.0) -> T:
    """``call()``, retried while Redis does not answer (a restart, AOF loading) for up to ``patience`` seconds.

    Then a one-line :class:`DeliveryError` (exit 3), never a traceback: Redis being down is an
    operator's matter. A retried write may have been applied before the connection dropped;
    what is retried here is idempotent or harmless twice (a second XADD batch is a duplicate the
    workers' dedup settles as such).
    """
    import redis

    deadline = time.monotonic() + patience
    delay = 0.1
    while True:
        try:
            return call()
        except redis.RedisError as exc:
            if isinstance(exc, redis.ResponseError) and not isinstance(exc, redis.BusyLoadingError):
                raise
            if time.monotonic() >= deadline:
                raise DeliveryError(f"{what}: Redis did not answer for {patience:g} s ({type(exc).__name__}: {exc})") from None
            time.sleep(delay)
            delay = min(1.0, delay * 2)


def _safe(url: str) -> str:
    """The URL without a password (``redis://:secret@host`` → ``redis://***@host``)."""
    head, sep, tail = url.partition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url


@dataclass(frozen=True)
class Keys:
    """The names of a cluster's keys, all under one prefix (one cluster per client mapping)."""

    prefix: str

    def stream(self, p: int) -> str:
        return f"{self.prefix}s:{p}"

    def lease(self, p: int) -> str:
        return f"{self.prefix}lease:{p}"

    def fence(self, p: int) -> str:
        return f"{self.prefix}fence:{p}"

    def dedup(self, p: int) -> str:
        return f"{self.prefix}dd:{p}"

    def dedup_seen(self, p: int) -> str:
        return f"{self.prefix}dds:{p}"

    def first_outcomes(self, p: int) -> str:
        """Outcomes of entries settled but not yet acknowledged (an earlier entry is still open)."""
        return f"{self.prefix}fo:{p}"

    @property
    def meta(self) -> str:
        return f"{self.prefix}meta"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}dlq"

    @property
    def counts(self) -> str:
        return f"{self.prefix}counts"


def default_prefix(client_name: str) -> str:
    """One cluster per client mapping: its keys start with ``ebi:<client>:``."""
    return f"ebi:{client_name}:"


def ensure_pk_keys(client: Any, keys: Keys, partitions: int) -> str:
    """How the cluster keys PKs in Redis and in its workers' state files (state_records.pk_key), stored on first use.

    A cluster whose Redis already holds dedup entries from before the scheme was recorded keeps
    the older ``hash`` keys: those entries are only found again under them.
    """
    have = patiently(lambda: client.hget(keys.meta, "pk_keys"), "the queue's PK key scheme")
    if have is None:
        older = any(patiently(partial(client.exists, keys.dedup(p)), "the queue's PK key scheme") for p in range(partitions))
        patiently(lambda: client.hsetnx(keys.meta, "pk_keys", "hash" if older else "ordered"), "the queue's PK key scheme")
        have = patiently(lambda: client.hget(keys.meta, "pk_keys"), "the queue's PK key scheme")
    scheme = have.decode() if isinstance(have, bytes) else str(have)
    if scheme not in PK_KEYS:
        raise DeliveryError(f"the queue under {keys.prefix!r} keys its PKs as {scheme!r}, which this ebi-mapper does not know")
    return scheme


def ensure_partitions(client: Any, keys: Keys, partitions: int | None) -> int:
    """The cluster's partition count: stored on first use; a different explicit count is refused."""
    want = DEFAULT_PARTITIONS if partitions is None else partitions
    if want < 1:
        raise DeliveryError(f"--partitions must be at least 1, got {want}")
    patiently(lambda: client.hsetnx(keys.meta, "partitions", want), "the queue's partition count")
    have = int(patiently(lambda: client.hget(keys.meta, "partitions"), "the queue's partition count"))
    if partitions is not None and have != partitions:
        raise DeliveryError(f"the queue under {keys.prefix!r} has {have} partitions, not {partitions}: every producer and "
                            "worker must agree (a record's partition depends on it); drop --partitions or pass "
                            f"--partitions {have}")
    import redis

    for p in range(have):
        try:
            patiently(partial(client.xgroup_create, keys.stream(p), GROUP, id="0", mkstream=True), "the queue's groups")
        except redis.ResponseError as exc:  # BUSYGROUP: made before (by us or another process)
            if "BUSYGROUP" not in str(exc):
                raise
    return have


def partition_of(customer: str | None, raw: bytes, partitions: int) -> int:
    """Stable across processes and hosts (not Python's salted ``hash``)."""
    data = customer.encode() if customer else raw
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") % partitions


def customer_of(result: Any) -> str | None:
    """The customer a mapped record is about (its first event's, else its first bespoke row's)."""
    for event in getattr(result, "events", ()) or ():
        if event.customer:
            return str(event.customer)
    for row in getattr(result, "bespoke", ()) or ():
        if getattr(row, "customer", None):
            return str(row.customer)
    return None


class Producer:
    """XADDs raw records to their customer's partition (``enqueue``: the API ``serve --queue`` calls)."""

    def __init__(self, client: Any, keys: Keys, mapper: Any, *, partitions: int | None = None, patience: float = 60.0):
        """``patience``: how long :meth:`enqueue` waits for a Redis that does not answer before its
        one-line error (``serve --queue``'s forwarder asks for little and retries itself)."""
        self.client = client
        self.keys = keys
        self.mapper = mapper
        self.patience = patience
        self.partitions = ensure_partitions(client, keys, partitions)

    def enqueue(self, records: Iterable[tuple[str, bytes, Any]],
                rejections: Iterable[tuple[str, str] | None] | None = None) -> list[int]:
        """Queue ``(source, raw line, payload or None)`` records; returns their partitions.

        ``rejections``, aligned with ``records``, carries the reader's ``(message, code)`` for a
        line that is not a usable record, so the worker rejects it with the same reason ``run`` gives.

        Returns only after Redis answered every XADD (one pipelined round trip for the batch), so
        the caller may then acknowledge its own source (a checkpoint, an HTTP 2xx).
        """
        items = list(records)
        now = datetime.now(UTC)
        payloads = [(i, payload) for i, (_, _, payload) in enumerate(items) if payload is not None]
        customers: dict[int, str | None] = {}
        if payloads:
            many = getattr(self.mapper, "map_many", None)
            try:
                results = many([p for _, p in payloads], now=now) if many is not None else None
            except Exception:  # noqa: BLE001 - one record broke the engine: map one by one below
                results = None
            if results is None:
                results = [self._map_one(p, now) for _, p in payloads]
            customers = {i: customer_of(r) for (i, _), r in zip(payloads, results, strict=True)}
        parts = [partition_of(customers.get(i), raw, self.partitions) for i, (_, raw, _) in enumerate(items)]
        why = list(rejections) if rejections is not None else [None] * len(items)

        def send() -> Any:  # a failed pipeline forgets its commands: build it again for each attempt
            # One MULTI/EXEC: the entries and the cluster's count of enqueued records move together.
            pipe = self.client.pipeline(transaction=True)
            for (source, raw, _), p, rejection in zip(items, parts, why, strict=True):
                fields = {"d": raw, "src": source}
                if rejection is not None:
                    fields["err"], fields["code"] = rejection
                pipe.xadd(self.keys.stream(p), fields)
            pipe.hincrby(self.keys.counts, "enqueued", len(items))
            return pipe.execute()

        patiently(send, "enqueueing", patience=self.patience)
        return parts

    def _map_one(self, payload: Any, now: datetime) -> Any:
        try:
            return self.mapper.map_record(payload, now=now)
        except Exception:  # noqa: BLE001 - the worker maps it again and rejects it with the reason
            return None


def enqueue_records(producer: Producer, records: Sequence[Any]) -> list[int]:
    """Queue delivery ``InputRecord``s (``run --queue``'s file lines, ``serve --queue``'s intake rows).

    A record the reader could not use travels with its reader's ``(message, code)``, so the worker
    rejects it with the reason ``run`` gives (tests/scaleout/test_scaleout_cli.py,
    tests/serve/test_serve_queue_e2e.py). Returns after Redis answered (see :meth:`Producer.enqueue`).
    """
    return producer.enqueue([(r.source, r.raw, r.payload if r.error is None else None) for r in records],
                            [None if r.error is None else (r.error, r.code or "malformed") for r in records])


def enqueue_input(producer: Producer, source: Any, state: Any, *, chunk_size: int = 500,
                  max_records: int | None = None) -> dict[str, Any]:
    """Queue ``source`` (a delivery InputSource) from its checkpoint in ``state``; the checkpoint follows each XADD batch."""
    from ..delivery.state import Checkpoint

    input_id = source.input_id
    cp: Any = state.checkpoint(input_id) if source.resumable else None
    if cp is not None and cp.status == "done":
        return {"input": input_id, "enqueued": 0, "already_done": True, "partitions": producer.partitions}
    cp = cp or Checkpoint(input_id, "", 0, 0, 0, "reading")
    started = time.monotonic()
    enqueued = 0
    chunk: list[Any] = []

    def flush(final: bool) -> None:
        nonlocal cp, enqueued
        if chunk:
            enqueue_records(producer, chunk)
            enqueued += len(chunk)
        last = chunk[-1] if chunk else None
        cp = Checkpoint(input_id, last.file if last else cp.file, last.offset if last else cp.offset,
                        last.line if last else cp.line, cp.records + len(chunk), "done" if final else cp.status)
        with state.transaction():
            state.set_checkpoint(cp, time.time())
        chunk.clear()

    records: Iterator[Any] = source.records(file=cp.file, offset=cp.offset, line=cp.line)
    for rec in records:
        chunk.append(rec)
        if max_records is not None and enqueued + len(chunk) >= max_records:
            break
        if len(chunk) >= chunk_size:
            flush(False)
    flush(max_records is None or enqueued + len(chunk) < max_records)
    return {"input": input_id, "enqueued": enqueued, "partitions": producer.partitions,
            "seconds": round(time.monotonic() - started, 3), "state": str(getattr(state, "path", Path()))}
