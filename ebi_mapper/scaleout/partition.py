"""One owned partition: its stream read into a DeliveryLoop, each entry acknowledged once its outcome is durable.

A worker runs one :class:`PartitionRunner` (a thread) per partition it holds. The runner starts
from a *fresh* local state (``STATE_DIR/p<N>``, wiped at every takeover: Redis, not the local file,
is the truth about a partition) into which it loads the partition's dedup entries from Redis: per
PK the content the receiver acknowledged and the highest version seen. Then a normal DeliveryLoop
delivers the stream's entries with everything ``run`` guarantees, limited by the shared Redis
limiter. Entries come first from the pending list (XAUTOCLAIM: a dead owner's unacknowledged
entries, in stream order), then new ones (XREADGROUP ``>``).

An entry is acknowledged (XACK) only when the loop's ``on_settled`` hook reports its record
settled: delivered, rejected (dead letter), filtered, duplicate, stale or superseded, after the
commit that made it durable. In the same fenced Lua call (leases.py) the runner first writes the
record's PKs' dedup entries (acknowledged content, version, sighting) and any new dead letters to
Redis, so the next owner of the partition does not send again what the receiver already has and
treats older versions as stale (tests/scaleout/test_scaleout_worker.py::test_dedup_survives_a_worker);
and the merged profiles of the records' customers, so a profile delta after a takeover is merged
into what the previous owner knew instead of going out partial
(tests/scaleout/test_scaleout_worker.py::test_profiles_survive_a_worker).
A worker killed between its delivery and the XACK makes the next owner send those records again:
at-least-once, idempotent at the receiver (same PK, same content), and counted as re-sends.

Entries are acknowledged in stream order only (:class:`AckOrder`): a settled entry waits for every
earlier entry of the partition to settle. Records settle out of order (a later record's events may
be acknowledged while an earlier one's batch is still retried); acknowledging the later one alone
would leave the earlier one pending, and the next owner would replay it *after* the newer version
the receiver already holds, leaving the older one there. With a settled prefix acknowledged, what a
new owner replays is always a suffix of the stream, in order, so the last version is sent last
(tests/scaleout/test_ack_order.py).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from ..delivery.ingest import sighting_time
from ..delivery.source import InputRecord
from ..delivery.state import PK_KEYS, PkKey, open_state
from ..engine.jsonl.decode import decode_line
from .queue import GROUP

__all__ = ["AckOrder", "CaptureMapper", "PartitionRunner", "StreamSource", "decode_entry"]

log = logging.getLogger("ebi_mapper.scaleout")

_READ_COUNT = 500
_BLOCK_MS = 200
_REDIS_RETRY = 0.5  # seconds between attempts while Redis does not answer


def decode_entry(entry_id: str, fields: dict) -> InputRecord:
    """A stream entry as the loop's input record; its source ends with ``#<entry id>`` (the XACK handle).

    A line the producer's reader refused carries that reader's reason and code (``err``, ``code``).
    Any other entry is decoded by the engine's one reader (engine/jsonl/decode.py), as `run` and
    `map` decode a line: an array, a nesting bomb or bad UTF-8 gets the code and reason `run`
    gives it (tests/engine/test_decode.py).
    """
    raw = fields.get(b"d", b"")
    src = fields.get(b"src", b"?").decode("utf-8", "replace")
    source = f"{src}#{entry_id}"
    if b"err" in fields:  # the producer's reader already said why this line is not a record
        return InputRecord(source, raw, None, fields[b"err"].decode("utf-8", "replace"),
                           code=fields.get(b"code", b"malformed").decode())
    payload, refused = decode_line(raw, source=source)
    if refused is not None:
        return InputRecord(source, raw, None, refused.message, code=refused.code)
    return InputRecord(source, raw, payload)


def profile_key(event: Any, key: PkKey) -> bytes:
    """The key of ``event``'s customer in the profile store (as make_profile_merger keys it with the state's ``key``)."""
    return key("profile", [event.tenant, event.customer])


def entry_id_of(source: str) -> str:
    return source.rpartition("#")[2]


class CaptureMapper:
    """The client's mapper, noting for each record the PKs (and sighting times) its events have.

    The runner writes exactly those PKs' dedup entries to Redis when the record settles.
    """

    def __init__(self, mapper: Any, key: PkKey, wall: Callable[[], float] = time.time):
        self._mapper = mapper
        self._key = key  # the cluster's PK key (Worker.pk_keys), as the partition's state keys them
        self._wall = wall
        self.pks: dict[str, list[tuple[bytes, float]]] = {}
        self.profiles: dict[str, list[bytes]] = {}  # source -> keys of the customers' merged profiles

    def __getattr__(self, name: str) -> Any:  # mapping, catalog, …: the loop reads them
        return getattr(self._mapper, name)

    def _note(self, source: str, result: Any) -> None:
        now = self._wall()
        events = getattr(result, "events", ()) or ()
        self.pks[source] = [(self._key(e.event, e.pk), sighting_time(e.timestamp, now)) for e in events if e.pk]
        # Events keyed by the customer alone are merged into the customer's known profile
        # (engine/profiles.py); the key is the one delivery/versions.py gives the profile store.
        keys = [profile_key(e, self._key) for e in events if tuple(e.pk) == (e.customer,)]
        if keys:
            self.profiles[source] = keys

    def map_many(self, payloads: Any, *, now: Any = None, sources: Any = None) -> list:
        sources = list(sources or ())
        results = self._mapper.map_many(payloads, now=now, sources=sources)
        for source, result in zip(sources, results, strict=False):
            self._note(source, result)
        return results

    def map_record(self, payload: Any, *, source: str = "", now: Any = None) -> Any:
        result = self._mapper.map_record(payload, source=source, now=now)
        self._note(source, result)
        return result


class AckOrder:
    """Which settled entries may be acknowledged: the settled prefix of the entries read, in stream order.

    ``read`` is called on the reader's thread as each entry is handed to the loop (stream order);
    ``settle`` on the loop's thread with the entries whose outcome just became durable. It returns
    the entries now acknowledgeable, oldest first: those with no unsettled entry before them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: deque[str] = deque()
        self._settled: dict[str, str] = {}

    def read(self, entry_id: str) -> None:
        with self._lock:
            self._order.append(entry_id)

    def mark(self, entry_id: str, outcome: str) -> None:
        """Note ``entry_id`` settled without acknowledging anything now (the loop's next ``settle`` does)."""
        with self._lock:
            self._settled[entry_id] = outcome

    def settle(self, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
        with self._lock:
            for entry_id, outcome in entries:
                self._settled[entry_id] = outcome
            out: list[tuple[str, str]] = []
            while self._order and self._order[0] in self._settled:
                entry_id = self._order.popleft()
                out.append((entry_id, self._settled.pop(entry_id)))
            return out

    @property
    def waiting(self) -> int:
        """Settled entries held back behind an earlier unsettled one."""
        with self._lock:
            return len(self._settled)


class StreamSource:
    """The partition's stream as the loop's input: pending entries first, then new ones, until stopped."""

    resumable = False

    def __init__(self, client: Any, stream: str, consumer: str, stopping: threading.Event,
                 order: AckOrder | None = None):
        self.order = order or AckOrder()
        self.client = client
        self.stream = stream
        self.consumer = consumer
        self.stopping = stopping
        self.input_id = f"redis:{stream}"

    def _retrying(self, call: Callable[[], Any]) -> Any:
        import redis

        while not self.stopping.is_set():
            try:
                return call()
            except redis.RedisError as exc:
                log.warning("%s: Redis does not answer (%s); retrying", self.stream, type(exc).__name__)
                self.stopping.wait(_REDIS_RETRY)
        return None

    def records(self, *, file: str = "", offset: int = 0, line: int = 0) -> Iterator[InputRecord]:
        # A dead owner's unacknowledged entries become ours (we hold the partition's lease).
        start = "0-0"
        while not self.stopping.is_set():
            got = self._retrying(partial(self.client.xautoclaim, self.stream, GROUP, self.consumer, 0, start,
                                         count=_READ_COUNT))
            if got is None:
                return
            start = got[0].decode() if isinstance(got[0], bytes) else got[0]
            if start == "0-0":
                break
        # Our pending list, in stream order (entries read before and not yet acknowledged), then new ones.
        after = "0-0"
        while not self.stopping.is_set():
            resp = self._retrying(partial(self.client.xreadgroup, GROUP, self.consumer, {self.stream: after},
                                          count=_READ_COUNT))
            entries = resp[0][1] if resp else []
            if not entries:
                break
            for entry_id, fields in entries:
                after = entry_id.decode()
                self.order.read(after)
                if fields:
                    yield decode_entry(after, fields)
                else:  # deleted from the stream while pending: nothing to deliver, nothing to hold back
                    self.order.mark(after, "gone")
        while not self.stopping.is_set():
            resp = self._retrying(partial(self.client.xreadgroup, GROUP, self.consumer, {self.stream: ">"},
                                          count=_READ_COUNT, block=_BLOCK_MS))
            for _, entries in resp or ():
                for entry_id, fields in entries:
                    self.order.read(entry_id.decode())
                    yield decode_entry(entry_id.decode(), fields)


class PartitionRunner:
    """Delivers one partition while this worker holds its lease (``value``)."""

    def __init__(self, worker: Any, p: int, value: str):
        self.worker = worker
        self.p = p
        self.value = value
        self.stopping = threading.Event()
        self.lost = False
        self.error: str | None = None
        self.loop: Any = None
        self.acked = 0
        self._mapper = CaptureMapper(worker.mapper, PK_KEYS[worker.pk_keys])
        self._letters_after = 0
        self._order = AckOrder()  # acknowledgements in stream order (see the module's docstring)
        self.state: Any = None
        self.loaded = 0
        self.thread = threading.Thread(target=self._run, name=f"ebi-mapper-p{p}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Finish soon: read no more, settle what is in flight (the loop's graceful stop)."""
        self.stopping.set()
        if self.loop is not None:
            self.loop.request_stop("partition released")

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        from ..delivery.pipeline import DeliveryLoop

        w = self.worker
        state_dir = Path(w.state_dir) / f"p{self.p}"
        shutil.rmtree(state_dir, ignore_errors=True)  # Redis is the truth: start from it
        sinks: tuple[Any, Any] = (None, None)
        try:
            with open_state(state_dir, pk_keys=w.pk_keys) as state:
                self.state = state
                self._load_dedup(state)
                sinks = w.make_sinks(self.p)
                options = replace(w.options, progress_interval=3600.0)
                self.loop = DeliveryLoop(state=state, mapper=self._mapper, plan=w.plan, event_sink=sinks[0],
                                         bespoke_sink=sinks[1], bespoke_route=w.bespoke_route, options=options,
                                         limiter=w.make_limiter(), on_settled=self._on_settled)
                if self.stopping.is_set():
                    return
                try:
                    self.loop.run_input(StreamSource(w.client, w.keys.stream(self.p), w.me, self.stopping, self._order))
                finally:
                    self.loop.close()
        except Exception as exc:  # noqa: BLE001 - reported by the worker, which gives the partition back
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("partition %d stopped: %s", self.p, self.error)
        finally:
            for s in sinks:
                if s is not None:
                    s.close()

    def _load_dedup(self, state: Any) -> None:
        """The partition's dedup entries from Redis into the fresh local state (expired ones dropped)."""
        k, client = self.worker.keys, self.worker.client
        retention = self.worker.options.retention.dedup
        newest = client.zrevrange(k.dedup_seen(self.p), 0, 0, withscores=True)
        if retention is not None and newest:
            cutoff = newest[0][1] - retention
            old = client.zrangebyscore(k.dedup_seen(self.p), "-inf", f"({cutoff}")
            for start in range(0, len(old), 1000):
                part = old[start:start + 1000]
                client.hdel(k.dedup(self.p), *part)
                client.zrem(k.dedup_seen(self.p), *part)
        now = time.time()
        units, sent, versions, profiles = [], [], [], []
        for pk, value in client.hscan_iter(k.dedup(self.p), count=1000):
            entry = orjson.loads(value)
            if isinstance(entry, dict):  # a customer's merged profile
                profiles.append((pk, entry["profile"], entry["seen"]))
                continue
            acked, version, seen = entry
            if acked is not None:
                units.append((pk, bytes.fromhex(acked), seen))
                sent.append((pk, bytes.fromhex(acked)))
            if version is not None:
                versions.append((pk, version, seen))
        with state.transaction():
            for start in range(0, len(units), 1000):
                state.dedup_decide_many(units[start:start + 1000], now)
            state.dedup_mark_sent(sent, now)
            for pk, version, seen in versions:
                state.version_put(pk, version, seen)
            for key, fields, seen in profiles:
                state.profile_put(key, fields, seen)
        self.loaded = len(units)

    def _on_settled(self, settled: list[tuple[str, str]]) -> None:
        """XACK the settled records, after writing their PKs' dedup entries and new dead letters (fenced)."""
        import redis

        state = self.state
        # Only the settled prefix of the stream is acknowledged; the rest waits for earlier entries.
        now_settled = [(entry_id_of(source), outcome) for source, outcome in settled]
        entries = self._order.settle(now_settled)
        seen: dict[bytes, float] = {}
        for source, _ in settled:
            for pk, at in self._mapper.pks.pop(source, ()):
                seen[pk] = max(at, seen.get(pk, at))
        rows = state.dedup_get_many(list(seen)) if seen else {}
        dedup = []
        for pk, at in seen.items():
            row = rows.get(pk)
            acked = row[1] if row is not None else None
            version = state.version_get(pk)
            if acked is not None or version is not None:
                dedup.append((pk, orjson.dumps([acked.hex() if acked else None, version, at]), at))
        profiles: set[bytes] = set()
        for source, _ in settled:
            profiles.update(self._mapper.profiles.pop(source, ()))
        for key in profiles:
            fields = state.profile_get(key)
            if fields:
                at = sighting_time((fields.get("@timestamp") or [""])[0], time.time())
                dedup.append((key, orjson.dumps({"profile": fields, "seen": at}), at))
        letters, last = [], self._letters_after
        while True:
            page = state.dead_letters(after_id=last, limit=500)
            if not page:
                break
            for dl in page:
                last = dl.id
                event = dl.event if isinstance(dl.event, dict) else {}
                fld = f"{dl.source}|{dl.kind}|{event.get('event', '')}|{orjson.dumps(event.get('context')).decode()[:200]}"
                letters.append((fld, orjson.dumps({**dl.to_dict(), "partition": self.p, "worker": self.worker.me})))
        while True:
            try:
                done = self.worker.leases.settle(self.p, self.value, GROUP, entries, dedup, letters, now_settled)
                break
            except redis.RedisError as exc:
                if self.stopping.is_set():
                    return  # not acknowledged: the next owner processes these entries again
                log.warning("partition %d: Redis does not answer (%s); retrying the acknowledgement", self.p,
                            type(exc).__name__)
                time.sleep(_REDIS_RETRY)
        if done < 0:
            if not self.lost:
                log.warning("partition %d: lease lost (another worker holds it); stopping", self.p)
            self.lost = True
            self.stop()
            return
        self._letters_after = last
        self.acked += done
