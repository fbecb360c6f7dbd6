"""Deliver a chunk's events inside the chunk's own transaction (no outbox round trip).

When nothing of a rate class waits in the outbox or is being sent, the loop hands the chunk's
events of that class to the sink while the chunk's transaction is still open, and the
transaction then commits the records, their dedup entries *already marked acknowledged*, the
counts and the checkpoint together. Per event that saves the outbox row, its pending record,
reading both back, and the second write of its dedup entry in another transaction: about half of
the loop's state work (docs/delivery.md, "Measured").

An ``inline`` sink (a local file) is called on the loop's thread, one batch after the other. Any
other sink (HTTP) gets up to ``concurrency`` requests in flight on the loop's workers, and the
transaction commits once every answer is in: group commit of the acknowledgements, with the
network's latency overlapped instead of paid once per batch.

The guarantees are those of the outbox path:

* *acknowledged only once durable*: the checkpoint moves in the transaction that records the
  sink's answers; a crash before it commits re-reads the chunk and sends it again
  (at-least-once, as a crash between a send and its settlement always did);
* *per-PK order*: a batch goes only while nothing of its rate class (a PK's event decides its
  class) is queued or in flight, and never while another batch holding one of its PKs is in
  flight; an item is superseded exactly when the outbox path would drop it at dispatch (a newer
  content committed for its PK, or this content already acknowledged), judged when the batch
  is handed out, after every earlier answer for its PKs;
* *nothing lost*: a batch the sink does not take (or the limiter does not admit) and every later
  batch of its class go to the outbox, with pending records that remember what their other
  events did; each answer that was not ``ok`` is settled as the outbox path settles any answer
  (``retry`` reschedules with the attempt counted, ``rejected`` splits or dead-letters the bad
  event), and the outbox path takes over that class until it is empty.

Proven by tests/delivery/test_direct.py: the same input through this path and through the
outbox gives the same counts, the same receiver content per PK and the same dedup state, for an
inline sink and for a threaded one with many requests in flight; a sink that refuses batches
part-way hands them to the outbox with every record accounted for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

from ..extensions import SendResult
from .inflight import superseded
from .rateplan import BESPOKE_CLASS
from .sink_calls import result_of_send
from .state import OutboxItem, OutboxRow, StateStore
from .state_records import DELIVERED

if TYPE_CHECKING:
    from .pipeline import DeliveryLoop

__all__ = ["DirectPath", "Sender", "Settle", "deliver_direct"]

# Settles the sink's answer to a batch just stored in the outbox (the loop's own settlement).
Settle = Callable[[OutboxRow, SendResult], None]

Record = tuple[str, str, "bytes | None", int, bool]  # (input_id, source, raw, events queued, counted)
Pending = tuple[int, OutboxItem]  # (index of the record in the chunk, the item)


class Sender:
    """Starts requests and hands back their answers (the loop's sink, limiter and workers).

    ``width``: requests in flight at once (1: each answer before the next request).
    """

    width = 1

    def start(self, rate_class: str, bodies: list[dict]) -> Future | None:
        """Start sending one batch; ``None`` when the limiter does not admit a request now."""
        raise NotImplementedError

    def answer(self, rate_class: str, fut: Future) -> SendResult:
        """The finished request's answer (its place in the limiter released)."""
        raise NotImplementedError

    def settled(self, outcome: str, bodies: list[dict]) -> None:
        """``bodies`` settled here as ``outcome`` (the loop's observer hears it, as from the outbox path)."""


def _batches(queued: list[list[tuple[str, OutboxItem]]], size_of: Callable[[str], int]
             ) -> tuple[list[tuple[str, list[Pending]]], list[Pending]]:
    """The chunk's event batches per rate class, in the order they fill (as the batcher seals them), and its bespoke rows."""
    batches: list[tuple[str, list[Pending]]] = []
    open_: dict[str, list[Pending]] = {}
    bespoke: list[Pending] = []
    for idx, items in enumerate(queued):
        for rate_class, item in items:
            if rate_class == BESPOKE_CLASS:
                bespoke.append((idx, item))
                continue
            batch = open_.get(rate_class)
            if batch is None:
                batch = open_[rate_class] = []
                batches.append((rate_class, batch))
            batch.append((idx, item))
            if len(batch) >= size_of(rate_class):
                del open_[rate_class]
    return batches, bespoke


def deliver_direct(state: StateStore, records: list[Record], queued: list[list[tuple[str, OutboxItem]]],
                   known: dict[bytes, tuple[bytes, bytes | None]], size_of: Callable[[str], int], sender: Sender,
                   settle: Settle, counts: Counter, now: float, clear: frozenset[str] | None = None
                   ) -> tuple[list[tuple[str, OutboxItem]], list[tuple[str, str]]]:
    """Send what the sink takes of ``queued`` (one list per record, inside the chunk's transaction).

    The chunk's dedup decisions were made with ``write=False``: they are written here, once the
    sink's answers are known, before anything else touches the dedup table.

    ``known``: ``{pk_hash: (content committed, content acknowledged)}`` of the chunk's PKs after its
    dedup decisions (updated here as the sink acknowledges). ``clear``: the rate classes that may
    go straight to the sink (nothing of theirs queued or in flight); ``None``: all.

    Returns, with their pending ids, the items for the batcher: the bespoke rows (their own sink,
    always through the outbox) and the events not sent here (their class was busy, held after an
    answer that was not ``ok``, or not admitted by the limiter), which then fill the open batches
    of their class across chunks as any outbox item does (a small limited class keeps its
    requests full); and ``(source, outcome counter)`` of the records whose outcome this settled
    (for the loop's ``on_settled`` hook).
    """
    batches, bespoke = _batches(queued, size_of)
    left = [0] * len(records)  # events of each record still to settle (bespoke rows included)
    for idx, _ in bespoke:
        left[idx] += 1
    bits = [0] * len(records)
    sent: dict[bytes, bytes] = {}
    refused: list[tuple[str, list[Pending], SendResult]] = []  # sent, not taken: stored with their answers
    later: list[tuple[str, Pending]] = []  # not sent: for the batcher
    held: set[str] = set()  # classes whose next batches go to the outbox (per-PK order: one path per class)

    def to_outbox(rate_class: str, batch: list[Pending], answer: SendResult | None) -> None:
        held.add(rate_class)
        if answer is None:
            later.extend((rate_class, pending) for pending in batch)
        else:
            refused.append((rate_class, batch, answer))
        for idx, _ in batch:
            left[idx] += 1

    def live(batch: list[Pending]) -> list[Pending]:
        out, dropped = [], []
        for idx, item in batch:
            if superseded(known.get(item.pk_hash), item.content_hash):
                dropped.append(item.body)  # as the outbox path drops it at dispatch
            else:
                out.append((idx, item))
        if dropped:
            counts["events_superseded"] += len(dropped)
            sender.settled("events_superseded", dropped)
        return out

    def took(batch: list[Pending]) -> None:
        sender.settled("events_delivered", [item.body for _, item in batch])
        for idx, item in batch:
            counts["events_delivered"] += 1
            bits[idx] |= DELIVERED
            known[item.pk_hash] = (item.content_hash, item.content_hash)
            sent[item.pk_hash] = item.content_hash

    flying: dict[Future, tuple[str, list[Pending]]] = {}
    busy: dict[bytes, int] = {}  # PKs in flight: how many batches hold each

    def land() -> None:
        """Settle one answer (an inline sink's is there already: no waiting)."""
        fut = next((f for f in flying if f.done()), None) or next(iter(wait(list(flying), return_when=FIRST_COMPLETED)[0]))
        rate_class, batch = flying.pop(fut)
        for _, item in batch:
            if busy[item.pk_hash] == 1:
                del busy[item.pk_hash]
            else:
                busy[item.pk_hash] -= 1
        result = sender.answer(rate_class, fut)
        if result.status == "ok":
            took(batch)
        else:
            to_outbox(rate_class, batch, result)

    todo: Iterator[tuple[str, list[Pending]]] = iter(batches)
    waiting: tuple[str, list[Pending]] | None = None  # a batch one of whose PKs is in flight
    try:
        while True:
            if waiting is None:
                waiting = next(todo, None)
                if waiting is None:
                    break
            rate_class, batch = waiting
            if rate_class in held or (clear is not None and rate_class not in clear):
                to_outbox(rate_class, batch, None)
                waiting = None
                continue
            if flying and (len(flying) >= sender.width or any(item.pk_hash in busy for _, item in batch)):
                land()
                continue
            waiting = None
            going = live(batch)  # judged now: every earlier answer for these PKs is in
            if not going:
                continue
            fut = sender.start(rate_class, [item.body for _, item in going])
            if fut is None:
                to_outbox(rate_class, going, None)
                continue
            flying[fut] = (rate_class, going)
            for _, item in going:
                busy[item.pk_hash] = busy.get(item.pk_hash, 0) + 1
        while flying:
            land()
    finally:
        # A sink bug raised from an answer: the transaction rolls back, but no request may be left
        # holding the limiter (each answer releases its place).
        for fut, (rate_class, _) in list(flying.items()):
            wait([fut])
            try:
                sender.answer(rate_class, fut)
            except Exception:  # noqa: BLE001 - the first error is the one raised
                pass
    state.dedup_write_decided(sent)  # each entry written once, already acknowledged
    settled: list[tuple[str, str]] = []
    waiting_ids = [idx for idx in range(len(records)) if left[idx]]
    for idx, (_input_id, source, _raw, _, counted) in enumerate(records):
        if not left[idx]:  # every event settled here: the record's outcome is known now
            outcome = "records_delivered" if bits[idx] & DELIVERED else "records_superseded"
            if not counted:
                counts[outcome] += 1
            settled.append((source, "records_rejected" if counted else outcome))
    ids = dict(zip(waiting_ids, state.add_pending_many(
        [(*records[idx][:3], left[idx], records[idx][4], bits[idx]) for idx in waiting_ids]), strict=True))
    answered: list[tuple[OutboxRow, SendResult]] = []
    for rate_class, batch, answer in refused:
        batch_items = [OutboxItem(item.pk_hash, item.content_hash, ids[idx], item.body) for idx, item in batch]
        row_id = state.save_batch(rate_class=rate_class, kind="events", items=batch_items, sealed=True, now=now)
        answered.append((OutboxRow(row_id, rate_class, "events", tuple(batch_items), True, 0, 0, now, None), answer))
    for row, answer in answered:  # after every row is stored: a split adds its parts after them
        settle(row, answer)
    return [(rate_class, OutboxItem(item.pk_hash, item.content_hash, ids[idx], item.body))
            for rate_class, (idx, item) in [*later, *((BESPOKE_CLASS, b) for b in bespoke)]], settled


class DirectPath(Sender):
    """The loop's side of the direct path: which classes may take it, and requests through the loop's limiter and workers."""

    def __init__(self, loop: DeliveryLoop) -> None:
        self.loop = loop
        self.inline = bool(getattr(loop.event_sink, "inline", False))
        # An inline sink answers at once on this thread: one batch after the other, exactly in order.
        self.width = 1 if self.inline else max(1, loop.options.concurrency)

    def ready(self) -> frozenset[str]:
        """The rate classes whose events may go straight to the sink: none of theirs waits or is in flight."""
        loop = self.loop
        if self.inline:
            while any(row.kind == "events" for row in loop._inflight.values()):
                loop._collect(0.0)  # inline answers are all there: settle them first
        total = loop.state.outbox_size()  # kept by the store: no query
        busy = {row.rate_class for row in loop._inflight.values() if row.kind == "events"}
        if total and total != loop.state.outbox_size(kind="bespoke"):
            busy.update(loop.state.outbox_classes())
        return frozenset(c for c in loop._classes if c not in busy and c != BESPOKE_CLASS)

    def deliver(self, rows: list, queued: list, known: dict, counts: Counter, now: float, clear: frozenset[str]
                ) -> tuple[list[tuple[str, OutboxItem]], list[tuple[str, str]]]:
        """:func:`deliver_direct` with the loop's sink, limiter and settlement."""
        return deliver_direct(self.loop.state, rows, queued, known, self.loop.batcher.size_of, self, self._settle, counts, now,
                              clear)

    def start(self, rate_class: str, bodies: list[dict]) -> Future | None:
        loop = self.loop
        if rate_class in loop._remembered or loop.limiter.try_admit(rate_class) > 0.0:
            return None  # a remembered class commits its send time first; a full window waits
        return loop._send(loop.event_sink, bodies)

    def answer(self, rate_class: str, fut: Future) -> SendResult:
        loop = self.loop
        loop.limiter.complete(rate_class)
        result = result_of_send(loop.event_sink, fut)
        if result.status == "ok":
            loop._run_counts["requests_ok"] += 1
        return result

    def settled(self, outcome: str, bodies: list[dict]) -> None:
        self.loop.observer.settled(outcome, bodies)

    def _settle(self, row: OutboxRow, result: SendResult) -> None:
        counts: dict[str, Any] = defaultdict(Counter)
        self.loop._settle(row, result, counts)
        self.loop._bump(counts)
