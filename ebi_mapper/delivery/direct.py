"""Deliver a chunk's events to an inline sink inside the chunk's own transaction (no outbox round trip).

An ``inline`` sink (a local file) answers at once on the loop's thread. When nothing of the
events kind waits in the outbox or is being sent, the loop hands the chunk's events to it while
the chunk's transaction is still open, and the transaction then commits the records, their dedup
entries *already marked acknowledged*, the counts and the checkpoint together. Per event that
saves the outbox row, its pending record, reading both back, and the second write of its dedup
entry in another transaction: about half of the loop's state work (docs/delivery.md, "Measured").

The guarantees are those of the outbox path:

* *acknowledged only once durable*: the checkpoint moves in the transaction that records the
  sink's answers; a crash before it commits re-reads the chunk and sends it again
  (at-least-once, as a crash between a send and its settlement always did);
* *per-PK order*: batches go in the order their events were decided, one at a time, and only
  when no other version of any PK is queued or in flight (nothing of the events kind in the
  outbox); an item is superseded exactly when the outbox path would drop it at dispatch (a newer
  content committed for its PK, or this content already acknowledged);
* *nothing lost*: the first batch the sink does not take and every batch after it go to the
  outbox, with pending records that remember what their other events did; the sink's answer to
  that first batch is settled as the outbox path settles any answer (``retry`` reschedules it
  with its attempt counted, ``rejected`` splits it or dead-letters the bad event), and the outbox
  path takes over until it is empty. A batch the limiter does not admit just waits there.

Proven by tests/delivery/test_direct.py: the same input through this path and through the
outbox gives the same counts, the same receiver content per PK and the same dedup state; a sink
that refuses a batch part-way hands the rest to the outbox with every record accounted for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..extensions import SendResult
from .rateplan import BESPOKE_CLASS
from .sink_calls import result_of_send
from .state import OutboxItem, OutboxRow, StateStore
from .state_records import DELIVERED

if TYPE_CHECKING:
    from .pipeline import DeliveryLoop

__all__ = ["DirectPath", "Send", "Settle", "deliver_direct"]

# Hands a batch's bodies of one rate class to the sink: its answer, or None when the limiter
# does not admit a request now (the batch then waits in the outbox like any other).
Send = Callable[[str, list[dict]], "SendResult | None"]
# Settles the sink's answer to a batch just stored in the outbox (the loop's own settlement).
Settle = Callable[[OutboxRow, SendResult], None]

Record = tuple[str, str, "bytes | None", int, bool]  # (input_id, source, raw, events queued, counted)


def deliver_direct(state: StateStore, records: list[Record], queued: list[list[tuple[str, OutboxItem]]],
                   known: dict[bytes, tuple[bytes, bytes | None]], size_of: Callable[[str], int], send: Send, settle: Settle,
                   counts: Counter, now: float) -> list[tuple[str, OutboxItem]]:
    """Send what the sink takes of ``queued`` (one list per record, inside the chunk's transaction).

    The chunk's dedup decisions were made with ``write=False``: they are written here, once the
    sink's answers are known, before anything else touches the dedup table.

    ``known``: ``{pk_hash: (content committed, content acknowledged)}`` of the chunk's PKs after its
    dedup decisions (updated here as the sink acknowledges).

    What it does not take is stored in the outbox with its pending records; the bespoke rows
    (their own sink, always through the outbox) come back, with their pending ids, for the batcher.
    """
    batches: list[tuple[str, list[tuple[int, OutboxItem]]]] = []
    open_: dict[str, list[tuple[int, OutboxItem]]] = {}
    bespoke: list[tuple[int, OutboxItem]] = []
    for idx, items in enumerate(queued):
        for rate_class, item in items:
            if rate_class == BESPOKE_CLASS:
                bespoke.append((idx, item))
                continue
            batch = open_.get(rate_class)
            if batch is None:
                batch = open_[rate_class] = []
                batches.append((rate_class, batch))  # in the order batches open, as the batcher seals them
            batch.append((idx, item))
            if len(batch) >= size_of(rate_class):
                del open_[rate_class]
    left = [0] * len(records)  # events of each record still to settle (bespoke rows included)
    for idx, _ in bespoke:
        left[idx] += 1
    bits = [0] * len(records)
    sent: dict[bytes, bytes] = {}
    rest: list[tuple[str, list[tuple[int, OutboxItem]]]] = []  # for the outbox, in order
    answer: SendResult | None = None  # the sink's answer to the first of them
    for rate_class, batch in batches:
        if rest:
            rest.append((rate_class, batch))
            for idx, _ in batch:
                left[idx] += 1
            continue
        live: list[tuple[int, OutboxItem]] = []
        for idx, item in batch:
            current = known.get(item.pk_hash)
            if current is not None and (current[0] != item.content_hash or current[1] == item.content_hash):
                counts["events_superseded"] += 1  # as the outbox path would drop it at dispatch
            else:
                live.append((idx, item))
        if not live:
            continue
        result = send(rate_class, [item.body for _, item in live])
        if result is None or result.status != "ok":
            answer = result
            rest.append((rate_class, live))  # this batch and all after it go through the outbox, in order
            for idx, _ in live:
                left[idx] += 1
            continue
        for idx, item in live:
            counts["events_delivered"] += 1
            bits[idx] |= DELIVERED
            known[item.pk_hash] = (item.content_hash, item.content_hash)
            sent[item.pk_hash] = item.content_hash
    state.dedup_write_decided(sent)  # each entry written once, already acknowledged
    waiting = [idx for idx in range(len(records)) if left[idx]]
    for idx, (_input_id, _source, _raw, _, counted) in enumerate(records):
        if not left[idx] and not counted:  # every event settled here: the record's outcome is known now
            counts["records_delivered" if bits[idx] & DELIVERED else "records_superseded"] += 1
    ids = dict(zip(waiting, state.add_pending_many(
        [(*records[idx][:3], left[idx], records[idx][4], bits[idx]) for idx in waiting]), strict=True))
    first: OutboxRow | None = None
    for rate_class, batch in rest:
        batch_items = [OutboxItem(item.pk_hash, item.content_hash, ids[idx], item.body) for idx, item in batch]
        row_id = state.save_batch(rate_class=rate_class, kind="events", items=batch_items, sealed=True, now=now)
        if first is None:
            first = OutboxRow(row_id, rate_class, "events", tuple(batch_items), True, 0, 0, now, None)
    if first is not None and answer is not None:
        settle(first, answer)
    return [(BESPOKE_CLASS, OutboxItem(item.pk_hash, item.content_hash, ids[idx], item.body)) for idx, item in bespoke]


class DirectPath:
    """The loop's side of the direct path: when a chunk may take it, and one request through the loop's limiter."""

    def __init__(self, loop: DeliveryLoop) -> None:
        self.loop = loop

    def ready(self) -> bool:
        """Whether this chunk's events may go straight to the sink: no other version of a PK waits or is in flight."""
        loop = self.loop
        while any(row.kind == "events" for row in loop._inflight.values()):
            loop._collect(0.0)  # inline answers are all there: settle them first
        total = loop.state.outbox_size()  # kept by the store: no query
        return total == 0 or total == loop.state.outbox_size(kind="bespoke")

    def deliver(self, rows: list, queued: list, known: dict, counts: Counter, now: float) -> list[tuple[str, OutboxItem]]:
        """:func:`deliver_direct` with the loop's sink, limiter and settlement."""
        return deliver_direct(self.loop.state, rows, queued, known, self.loop.batcher.size_of, self._send, self._settle, counts, now)

    def _send(self, cls: str, bodies: list[dict]) -> SendResult | None:
        loop = self.loop
        if cls in loop._remembered or loop.limiter.try_admit(cls) > 0.0:
            return None  # a remembered class commits its send time first; a full window waits
        try:
            result = result_of_send(loop.event_sink, loop._send(loop.event_sink, bodies))
        finally:
            loop.limiter.complete(cls)
        if result.status == "ok":
            loop._run_counts["requests_ok"] += 1
        return result

    def _settle(self, row: OutboxRow, result: SendResult) -> None:
        counts: dict[str, Any] = defaultdict(Counter)
        self.loop._settle(row, result, counts)
        self.loop._bump(counts)
