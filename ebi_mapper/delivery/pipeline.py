"""The delivery loop: input → mapping → dedup → outbox → batches → rate limits → sinks → ack.

One coordinating thread owns the state store and does everything but two things: a reader
thread decodes input lines into a small bounded queue (so a slow stdin never stalls sending),
and a pool of ``concurrency`` worker threads performs ``sink.send`` calls (a sink marked
``inline``, a local file, is called on the coordinating thread itself). Every state change
happens in a transaction on the coordinating thread:

1. *ingest*: a chunk of records is mapped and deduplicated; new/changed events go into the
   open batch of their rate class; batches, dead letters, counters and the checkpoint commit
   together;
2. *dispatch*: a due, sealed batch whose rate class (and the global limit) admits one more
   request is handed to a worker; it holds its place in the limiter's windows until its answer, and counts from then;
3. *settle*: the answer decides (``retry.decide``): acknowledge (delete the batch, mark its PKs
   sent, settle its records), reschedule, split, or dead-letter.

A batch is deleted only after the sink acknowledged it, so a crash between a send and its
acknowledgement makes the batch go again after a restart (at-least-once; the PK makes it
effectively once at an idempotent receiver). See docs/delivery.md.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from ..extensions import SendResult, Sink
from .batcher import Batch, Batcher
from .direct import DirectPath
from .inflight import PkGate, forget_acknowledged, forget_acknowledged_of_outbox, superseded
from .ingest import COUNTER_NAMES, Ingestor, MapperLike
from .observer import DeliveryObserver, NullObserver
from .premap import open_reader
from .ratelimit import DEFAULT_SAFETY, RateLimiter, make_rate_limiter
from .rateplan import BESPOKE_CLASS, RatePlan
from .readers import DirectReader
from .retention import Retention, compact, expire_dedup, expire_history, save_retention
from .retry import RetryPolicy, decide
from .send_log import remembered_classes, seed_limiters
from .sink_calls import result_of_send
from .source import InputRecord, InputSource
from .state import Checkpoint, OutboxItem, OutboxRow, StateStore
from .summary import Progress, RunSummary, record_outcome
from .units import gc_paused

__all__ = ["DeliveryOptions", "Progress", "RunSummary", "DeliveryLoop"]

_INLINE_GROUP = 64  # answers of inline sinks settled in one transaction
# Seconds the loop waits for a whole chunk once a record is there: a file read in bulk comes in
# whole chunks, so which versions of a PK share a chunk (and so are superseded before any is sent
# on the direct path) does not depend on thread timing; a trickling stdin waits at most this.
_FILL = 0.2


@dataclass(frozen=True)
class DeliveryOptions:
    """Tuning of one run (defaults suit Optimove; tests shrink them)."""

    chunk_size: int = 2000  # records per ingest transaction (bench/bench_run.py: 2,000 did ~10% better than 500)
    linger: float = 1.0  # seconds an open batch waits for more events
    concurrency: int = 4  # sends in flight at once (--concurrency; more to fill Optimove's global limit over a slow link)
    max_backlog_batches: int = 5_000  # stop reading input while this many batches wait
    max_records: int | None = None  # stop reading after this many records (the next run resumes)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    safety: float = DEFAULT_SAFETY  # window stretch of the limiters (see ratelimit)
    progress_interval: float = 1.0
    stop_grace: float = 10.0  # seconds a graceful stop waits for the answers of requests in flight
    seed: int | None = None  # for the jitter (tests)
    retention: Retention = field(default_factory=Retention)  # what the state forgets, and when (retention.py)
    direct: bool = True  # a chunk's events go to the sink inside its transaction while nothing of their class waits (direct.py)
    map_process: str = "auto"  # run_input maps files and stdin in a child process: auto (2+ cores) | on | off (premap.py)


class DeliveryLoop:
    """Runs inputs (or dead-letter replays) through the pipeline into the sinks.

    :param event_sink: where OOTB event batches go.
    :param bespoke_sink: where bespoke attribute rows go (``None`` = bespoke rows are dropped).
    :param wall: wall clock for stored times (``next_attempt_at`` survives restarts).
    :param monotonic: clock of the rate limiters and the batcher's linger.
    :param on_progress: called with a :class:`Progress` every ``options.progress_interval``.
    :param on_settled: called, after the commit that made them durable, with ``(source, outcome)``
        of records that reached their outcome (tests/scaleout/test_worker.py).
    """

    def __init__(
        self,
        *,
        state: StateStore,
        mapper: MapperLike,
        plan: RatePlan,
        event_sink: Sink,
        bespoke_sink: Sink | None = None,
        bespoke_route: str | None = None,
        options: DeliveryOptions | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        on_progress: Callable[[Progress], None] | None = None,
        limiter: RateLimiter | None = None,
        on_settled: Callable[[list[tuple[str, str]]], None] | None = None,
        observer: DeliveryObserver | None = None,
    ):
        self.state = state
        self.plan = plan
        self.options = options or DeliveryOptions()
        self.event_sink = event_sink
        self.bespoke_sink = bespoke_sink
        self.wall = wall
        self.monotonic = monotonic
        self.on_progress = on_progress
        # Called after each commit with (source, outcome counter) of the records whose outcome it
        # made durable (a queue consumer acknowledges them then: scaleout/worker.py).
        self.on_settled = on_settled
        self._settled: list[tuple[str, str]] = []
        self.observer: DeliveryObserver = observer or NullObserver()  # serve's metrics (observer.py)
        self.limiter = limiter or make_rate_limiter(plan.limits, plan.global_limit, clock=monotonic,
                                                    safety=self.options.safety, exempt=(BESPOKE_CLASS,))
        self.batcher = Batcher(plan.batch_sizes, linger=self.options.linger, clock=monotonic)
        self.ingestor = Ingestor(state, mapper, plan, self.batcher, bespoke_route if bespoke_sink is not None else None, wall)
        self._rng = random.Random(self.options.seed)
        self._inflight: dict[Future, OutboxRow] = {}
        self._send_ids: dict[Future, int] = {}  # a remembered class's request -> its recent_sends row
        self._gate = PkGate()  # one version of a PK in flight at a time (see inflight.py)
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.options.concurrency), thread_name_prefix="ebi-mapper-send")
        # Batches handed out before their answers are settled together. Inline sinks answer at
        # once, so more of them make one group commit; threaded sinks keep `concurrency` in flight.
        inline = all(getattr(s, "inline", False) for s in (event_sink, bespoke_sink) if s is not None)
        self._slots = max(self.options.concurrency, _INLINE_GROUP) if inline else self.options.concurrency
        self._direct = DirectPath(self) if self.options.direct else None
        self._run_counts: Counter = Counter()
        # Classes to send from: the plan's, plus any an earlier run left in the outbox. Without a
        # bespoke sink, bespoke rows already queued stay there (reported as backlog), untouched.
        known = [*plan.limits, *(c for c in state.outbox_classes() if c not in plan.limits)]
        self._classes = [c for c in known if c != BESPOKE_CLASS or bespoke_sink is not None]
        self._rr = 0  # round-robin start among classes, so no class starves another
        self._started = monotonic()
        self._last_progress = float("-inf")
        self._adopted = False
        self._stop_reason: str | None = None  # set by request_stop (a signal handler)
        self._where: Callable[[], tuple[int, int, int] | None] = lambda: None  # input bytes, for progress
        # Classes whose send times are kept in the state, so a restarted process still sees the
        # requests its predecessor sent inside the current window (send_log.py).
        self._remembered = remembered_classes(plan.limits, self.limiter)
        seed_limiters(self.limiter, state, self._remembered, wall(), monotonic())

    # -- public ------------------------------------------------------------------------------
    def run_input(self, source: InputSource) -> RunSummary:
        """Read ``source`` from its checkpoint, deliver everything, and return the summary."""
        input_id = source.input_id
        cp = self.state.checkpoint(input_id) if source.resumable else None
        if cp is not None and cp.status == "done":
            with self.state.transaction():
                self.state.reset_input(input_id)  # a new pass over an input delivered before
            cp = None
        if cp is None:
            cp = Checkpoint(input_id, "", 0, 0, 0, "reading")
        position = {"cp": cp}
        first = source.byte_progress(cp.file, cp.offset) if hasattr(source, "byte_progress") else None

        def where() -> tuple[int, int, int] | None:  # bytes done, total, done before this run
            p = position["cp"]
            now = None if first is None else source.byte_progress(p.file, p.offset)  # None: size unknown
            return None if now is None or first is None else (now[0], now[1], first[0])

        self._where = where

        def commit(chunk: list[InputRecord], exhausted: bool) -> None:
            old = position["cp"]
            last = chunk[-1] if chunk else None
            new = Checkpoint(input_id, last.file if last else old.file, last.offset if last else old.offset,
                             last.line if last else old.line, old.records + len(chunk),
                             "read" if exhausted else old.status)
            self.state.set_checkpoint(new, self.wall())
            position["cp"] = new

        # Reads (and maps, in a child process: premap.py) from the checkpoint on.
        reader = open_reader(source, cp, self.ingestor, self.options.chunk_size, self.options.map_process) if cp.status == "reading" else None
        try:
            status = self._pump(reader, input_id, commit)
        finally:
            if reader is not None:
                reader.close()
        final = position["cp"]
        if final.status == "read" and status == "complete" and self.state.pending_count(input_id) == 0:
            with self.state.transaction():
                self.state.set_checkpoint(Checkpoint(input_id, final.file, final.offset, final.line, final.records, "done"), self.wall())
        return self._summary(input_id, status)

    def replay_dead_letters(self, input_id: str, *, kinds: tuple[str, ...] = ("mapping", "sink", "internal")) -> RunSummary:
        """Feed stored dead letters through the (fixed) mapping and dedup again, then deliver.

        Each replayed dead letter is marked in the same transaction that queues what it produced;
        dead letters written during the replay are not replayed again by it.
        """
        last_id = self.state.max_dead_letter_id()

        def letters() -> Iterator[InputRecord]:
            after = 0
            while True:
                page = self.state.dead_letters(after_id=after, limit=200)
                if not page:
                    return
                for dl in page:
                    after = dl.id
                    if dl.id > last_id:
                        return
                    if dl.kind not in kinds or dl.payload is None:
                        continue
                    yield InputRecord(dl.source, orjson.dumps(dl.payload), dl.payload, None, ref=dl.id)

        def commit(chunk: list[InputRecord], exhausted: bool) -> None:
            now = self.wall()
            for rec in chunk:
                self.state.mark_replayed(rec.ref, now)

        status = self._pump(DirectReader(letters()), input_id, commit)
        return self._summary(input_id, status)

    def run_reader(self, reader: Any, input_id: str, commit: Callable[[list[InputRecord], bool], None]) -> RunSummary:
        """Deliver from ``reader`` (as ThreadedReader); ``commit`` moves its checkpoint in each chunk's transaction."""
        return self._summary(input_id, self._pump(reader, input_id, commit))

    def drain(self, input_id: str = "") -> RunSummary:
        """Deliver what the outbox holds without reading any input."""
        return self._summary(input_id, self._pump(None, input_id, lambda chunk, exhausted: None))

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop soon, cleanly: read no more (what was read is committed), send no more, settle what is in flight.
        Safe in a signal handler (it only sets a flag the loop checks between steps); the run then
        returns its summary with status ``interrupted``; the next run resumes."""
        self._stop_reason = reason

    def close(self) -> None:
        """Stop the workers (sends still in flight are abandoned; their batches stay in the outbox)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the loop ----------------------------------------------------------------------------
    def _pump(self, reader: Any, input_id: str, commit: Callable[[list[InputRecord], bool], None]) -> str:
        self._adopt_open_batches()
        with self.state.transaction():
            save_retention(self.state, self.options.retention)
            expire_history(self.state, self.options.retention, self.wall())
        reading = reader is not None
        if not reading and self.batcher.open_batches():
            with self.state.transaction():
                self.ingestor.persist_batches(flush=True)  # nothing more will come to fill them
        taken = 0
        status = "complete"
        grace_ends: float | None = None
        try:
            while True:
                if self._stop_reason is not None and grace_ends is None:
                    grace_ends = self.monotonic() + self.options.stop_grace
                    status = "interrupted"
                    if reading:
                        reading = False
                        left = reader.stop()
                        for start in range(0, len(left), self.options.chunk_size):
                            self._commit_chunk(left[start:start + self.options.chunk_size], input_id, False, True, commit)
                if grace_ends is not None:
                    # Stopping: no new sends; settle the answers of those in flight, then leave.
                    if not self._inflight or self.monotonic() >= grace_ends:
                        break
                    self._collect(min(0.1, max(0.0, grace_ends - self.monotonic())))
                    self._report()
                    continue
                # Fill the free request slots first, then settle what came back: with a quick
                # sink many answers settle in one transaction (group commit of acknowledgements).
                progressed = self._dispatch()
                if len(self._inflight) >= self._slots or not progressed:
                    progressed |= self._collect(0.0)
                waited = False
                if reading and self._room_for_input():
                    want = self.options.chunk_size
                    if self.options.max_records is not None:
                        want = min(want, self.options.max_records - taken)
                    timeout = 0.0 if (self._inflight or progressed) else 0.02
                    # The collector stays off from taking a chunk until it is committed and freed: a
                    # collection in between would scan every object of the chunk (measured: one per
                    # message from the mapping process, about 6% of the loop's time).
                    with gc_paused():
                        chunk, exhausted = reader.take(want, timeout, _FILL) if want > 0 else ([], False)
                        waited = timeout > 0 and not chunk
                        taken += len(chunk)
                        stop = self.options.max_records is not None and taken >= self.options.max_records
                        if chunk or exhausted or stop:
                            self._commit_chunk(chunk, input_id, exhausted, stop, commit)
                            progressed = True
                        del chunk
                    if exhausted or stop:
                        reading = False
                        if stop and not exhausted:
                            status = "stopped"
                if self.batcher.next_due_in() == 0.0:
                    with self.state.transaction():
                        self.ingestor.persist_batches()
                    progressed = True
                self._report()
                if not reading and not self._inflight and self._sendable_backlog() == 0:
                    break
                if not progressed and not waited:
                    self._idle()
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self._report(force=True)
        with self.state.transaction():  # what was acknowledged after the last chunk may have expired too
            expire_dedup(self.state, self.options.retention, limit=None)
        compact(self.state)  # hand the pages retention freed back to the file system
        return status

    def _sendable_backlog(self) -> int:
        total = self.state.outbox_size()
        if self.bespoke_sink is not None or total == 0:
            return total
        return total - self.state.outbox_size(kind="bespoke")

    def _room_for_input(self) -> bool:
        return self.state.outbox_size() < self.options.max_backlog_batches

    def _commit_chunk(self, chunk: list[InputRecord], input_id: str, exhausted: bool, stop: bool,
                      commit: Callable[[list[InputRecord], bool], None]) -> None:
        counts: Counter = Counter()
        clear = self._direct.ready() if self._direct is not None else frozenset()
        self.ingestor.direct = partial(self._direct.deliver, clear=clear) if self._direct is not None and clear else None
        with self.state.transaction():
            settled = self.ingestor.ingest(chunk, input_id, counts, datetime.now(UTC))
            if self.on_settled is not None:
                self._settled.extend(settled)
            self.ingestor.persist_batches(flush=exhausted or stop)
            commit(chunk, exhausted)
            self.state.bump(input_id, counts)
            # Expire as fast as the chunk can add (twice its size), so the dedup table stays the
            # size of the retention window and no single chunk pays for a long backlog.
            expire_dedup(self.state, self.options.retention, limit=2 * max(len(chunk), self.options.chunk_size))
        self._run_counts.update(counts)
        self._hand_settled()

    def _adopt_open_batches(self) -> None:
        if self._adopted:
            return
        self._adopted = True
        forget_acknowledged_of_outbox(self.state)  # a predecessor may have sent any of them
        seen: set[str] = set()
        rows = self.state.open_batches()
        extra = []
        for row in rows:
            batch = Batch(row.rate_class, list(row.items), 0.0, row.id)
            if row.rate_class in seen or len(batch) >= self.batcher.size_of(row.rate_class):
                extra.append(row)
                continue
            seen.add(row.rate_class)
            self.batcher.adopt(batch)
        if extra:
            with self.state.transaction():
                for row in extra:
                    self.state.save_batch(rate_class=row.rate_class, kind=row.kind, items=row.items, sealed=True,
                                          now=self.wall(), row_id=row.id)

    def _idle(self) -> None:
        timeout = 0.05
        linger = self.batcher.next_due_in()
        if linger is not None:
            timeout = min(timeout, linger)
        timeout = max(timeout, 0.001)
        if self._inflight:
            wait(list(self._inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            time.sleep(timeout)

    # -- dispatch ----------------------------------------------------------------------------
    def _sink_for(self, row: OutboxRow) -> Sink | None:
        return self.bespoke_sink if row.kind == "bespoke" else self.event_sink

    def _dispatch(self) -> bool:
        progressed = False
        n = len(self._classes)
        if n == 0:
            return False
        while len(self._inflight) < self._slots:
            sent_one = False
            now = self.wall()
            for k in range(n):
                if len(self._inflight) >= self._slots:
                    break
                cls = self._classes[(self._rr + k) % n]
                if self.limiter.wait_time(cls) > 0.0:
                    self.observer.limiter_held(cls)
                    continue
                if cls == BESPOKE_CLASS and any(r.kind == "bespoke" for r in self._inflight.values()):
                    continue  # bespoke sinks write files: one batch at a time
                row = self._next_due(cls, now)
                if row is None:
                    continue
                row = self._drop_superseded(row)
                progressed = True
                sink = self._sink_for(row) if row is not None else None
                if row is None or sink is None:
                    continue
                # The request holds its place in the windows until its answer (ratelimit: counted
                # from the answer, so no latency can crowd a window at the server).
                if self.limiter.try_admit(cls) > 0.0:  # pragma: no cover - checked just above
                    continue
                send_id = self.state.record_send(cls, self.wall()) if cls in self._remembered else None
                fut = self._send(sink, [i.body for i in row.items])
                if send_id is not None:
                    self._send_ids[fut] = send_id  # its answer time is stored with the answer (send_log.py)
                self._inflight[fut] = row
                self._gate.enter(row)
                sent_one = True
            self._rr = (self._rr + 1) % n
            if not sent_one:
                break
        return progressed

    def _send(self, sink: Sink, bodies: list[dict]) -> Future:
        """Hand a batch to ``sink``: on a worker thread, or right here for a sink marked ``inline`` (a
        local file answers at once; this saves a thread hand-over per batch, the GIL's switch interval
        is 5 ms); its answer settles with the others in the next group commit, as a worker's would."""
        if not getattr(sink, "inline", False):
            return self._pool.submit(sink.send, bodies)
        fut: Future = Future()
        try:
            fut.set_result(sink.send(bodies))
        except Exception as exc:  # noqa: BLE001 - judged by result_of_send, as a worker's exception is
            fut.set_exception(exc)
        return fut

    def _next_due(self, cls: str, now: float) -> OutboxRow | None:
        """The oldest due batch of ``cls`` none of whose PKs is being sent right now."""
        exclude = [r.id for r in self._inflight.values()]
        while True:
            rows = self.state.due_batches(cls, now, exclude=exclude, limit=1)
            if not rows or not self._gate.blocks(rows[0]):
                return rows[0] if rows else None
            exclude.append(rows[0].id)  # waits for the other version's answer

    def _drop_superseded(self, row: OutboxRow) -> OutboxRow | None:
        """Leave out items whose PK has newer committed content (it is queued to go after them)."""
        live: list[OutboxItem] = []
        stale: list[OutboxItem] = []
        known = self.state.dedup_get_many(i.pk_hash for i in row.items)
        for item in row.items:  # inflight.superseded says which and why
            (stale if superseded(known.get(item.pk_hash), item.content_hash) else live).append(item)
        if not stale:
            return row
        counts: dict[str, Counter] = defaultdict(Counter)
        with self.state.transaction():
            self._settle_items(stale, row.kind, failed=False, counts=counts, outcome="superseded")
            if live:
                self.state.save_batch(rate_class=row.rate_class, kind=row.kind, items=live, sealed=True, now=self.wall(), row_id=row.id)
            else:
                self.state.delete_batch(row.id)
            self._bump(counts)
        self._hand_settled()
        return self.state.get_batch(row.id) if live else None

    # -- settle ------------------------------------------------------------------------------
    def _collect(self, timeout: float) -> bool:
        if not self._inflight:
            return False
        done, _ = wait(list(self._inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:
            return False
        counts: dict[str, Counter] = defaultdict(Counter)
        with self.state.transaction():
            for fut in done:
                row = self._inflight.pop(fut)
                self.limiter.complete(row.rate_class)
                if fut in self._send_ids:
                    self.state.answer_send(self._send_ids.pop(fut), self.wall())
                self._gate.leave(row)
                self._settle(row, result_of_send(self._sink_for(row), fut), counts)
            self._bump(counts)
        self._hand_settled()
        return True

    def _settle(self, row: OutboxRow, result: SendResult, counts: dict[str, Counter]) -> None:
        throttled = row.throttled + (1 if result.status == "retry" and result.http_status == 429 else 0)
        attempts = row.attempts + (1 if result.status == "retry" and result.http_status != 429 else 0)
        d = decide(result, batch_size=len(row.items), attempts=attempts, throttled=throttled,
                   policy=self.options.retry, rng=self._rng)
        now = self.wall()
        run = self._run_counts
        if d.action == "ack":
            run["requests_ok"] += 1
            self.state.delete_batch(row.id)
            self.state.dedup_mark_sent([(i.pk_hash, i.content_hash) for i in row.items], now)
            self._settle_items(list(row.items), row.kind, failed=False, counts=counts, outcome="delivered")
        elif d.action in ("retry", "throttled"):
            run["requests_throttled" if d.action == "throttled" else "requests_retry"] += 1
            if d.action == "retry":  # it may have been stored all the same (a 500 after storing)
                forget_acknowledged(self.state, row.items)
            self.state.reschedule(row.id, next_attempt_at=now + d.delay, attempts=attempts, throttled=throttled, reason=d.reason)
            if d.pause_class:
                self.limiter.pause(row.rate_class, d.delay)
        elif d.action == "dead_letter":
            run["requests_rejected" if result.status == "rejected" else "requests_retry"] += 1
            if result.status != "rejected":  # gave up on a batch that may have been stored
                forget_acknowledged(self.state, row.items)
            for item in row.items:
                self._dead_letter(item, row.kind, d.reason, result, counts)
            self.state.delete_batch(row.id)
        else:  # split / isolate: a permanent refusal of a batch of several items
            run["requests_rejected"] += 1
            run["batches_split"] += 1
            items = list(row.items)
            if d.action == "isolate" and d.index is not None:  # the retry policy names the item to isolate
                bad = items.pop(d.index)
                self._dead_letter(bad, row.kind, d.reason, result, counts)
                parts = [items]
            else:
                half = len(items) // 2
                parts = [items[:half], items[half:]]
            self.state.delete_batch(row.id)
            for part in parts:
                if part:
                    self.state.save_batch(rate_class=row.rate_class, kind=row.kind, items=part, sealed=True, now=now)

    def _dead_letter(self, item: OutboxItem, kind: str, reason: str, result: SendResult, counts: dict[str, Counter]) -> None:
        rec = self.state.get_pending(item.pending_id) if item.pending_id is not None else None
        body = item.body
        why = {"code": "sink_rejected" if result.status == "rejected" else "sink_gave_up", "message": reason,
               "http_status": result.http_status, "event": body.get("event", "") if isinstance(body, dict) else "",
               "source": rec.source if rec else ""}
        self.state.add_dead_letter(input_id=rec.input_id if rec else "", source=rec.source if rec else "", kind="sink",
                                   reasons=[why], payload=rec.payload if rec else None, event=body, now=self.wall())
        self.state.dedup_forget(item.pk_hash, item.content_hash)
        self._settle_items([item], kind, failed=True, counts=counts, outcome="dead_lettered")

    def _settle_items(self, items: list[OutboxItem], kind: str, *, failed: bool, counts: dict[str, Counter], outcome: str) -> None:
        """Count ``items`` as ``outcome`` and settle their records (one batched state update for all)."""
        prefix = "bespoke" if kind == "bespoke" else "events"
        delivered = outcome == "delivered"
        tracked = [(i.pending_id, failed, delivered) for i in items if i.pending_id is not None]
        self._run_counts[f"{prefix}_{outcome}"] += len(items) - len(tracked)
        for input_id, record in self.state.resolve_pending_many(tracked):
            counts[input_id][f"{prefix}_{outcome}"] += 1
            if record is not None and not record.counted:
                counts[input_id][record_outcome(record)] += 1
            if record is not None and self.on_settled is not None:
                self._settled.append((record.source, "records_rejected" if record.counted else record_outcome(record)))
        self.observer.settled(f"{prefix}_{outcome}", [i.body for i in items])

    def _hand_settled(self) -> None:
        """Give the records settled by the last commit to ``on_settled`` (only after that commit)."""
        if self._settled and self.on_settled is not None:
            settled, self._settled = self._settled, []
            self.on_settled(settled)

    def _bump(self, counts: dict[str, Counter]) -> None:
        for input_id, c in counts.items():
            self.state.bump(input_id, c)
            self._run_counts.update(c)

    # -- reporting ---------------------------------------------------------------------------
    def _backlog_items(self) -> int:
        return sum(n for _, n in self.state.backlog().values())

    def _report(self, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = self.monotonic()
        if not force and now - self._last_progress < self.options.progress_interval:
            return
        self._last_progress = now
        elapsed = max(now - self._started, 1e-9)
        c = self._run_counts
        where = self._where()
        done, total, before = where if where is not None else (None, None, 0)
        self.on_progress(Progress(
            elapsed=elapsed, records_read=c["records_read"], records_per_second=c["records_read"] / elapsed,
            sent=c["events_delivered"] + c["bespoke_delivered"], rejected=c["records_rejected"],
            dead_lettered=c["events_dead_lettered"] + c["bespoke_dead_lettered"], backlog=self._backlog_items(),
            in_flight=len(self._inflight), bytes_done=done, bytes_total=total,
            bytes_per_second=0.0 if done is None else max(0, done - before) / elapsed))

    def _summary(self, input_id: str, status: str) -> RunSummary:
        totals = {k: v for k, v in self.state.totals(input_id).items()}
        for name in COUNTER_NAMES:
            totals.setdefault(name, 0)
        return RunSummary(input_id, status, totals, dict(self._run_counts), self._backlog_items(),
                          self.state.pending_count(input_id), self.monotonic() - self._started)

