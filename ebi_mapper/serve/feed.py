"""The delivery side of one served mapping: intake rows → the delivery loop, on a thread of its own.

The loop is ``run``'s :class:`~ebi_mapper.delivery.pipeline.DeliveryLoop`, unchanged: dedup,
≤ 10 events a request, rate classes, retries, DLQ and accounting are run's. What differs is the
reader: :class:`IntakeFeed` hands the loop intake rows after the checkpoint, decoded by the
engine's decoder (the same bad record gets the same rejection code as under ``run``), and never
ends (it idles waiting for new rows). The checkpoint (input ``serve:<client>``, offset = the last
intake id) moves in the chunk's own state transaction, exactly as ``run``'s file checkpoint does;
only after that transaction committed does the intake queue learn the rows may be deleted
(:meth:`IntakeFeed.take` tells it at the next call). Proof: tests/serve/test_e2e.py (a bad record dead-lettered
with run's code), tests/serve/test_kill_e2e.py (SIGKILL at random: nothing lost, last versions).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..delivery.source import InputRecord
from ..delivery.state import Checkpoint, StateStore
from ..engine.jsonl.decode import decode_line
from .intake import IntakeQueue, IntakeReader, IntakeRow

__all__ = ["IntakeFeed", "DeliveryThread", "input_id_of", "record_of"]

_TRACKED = 50_000  # intake ids whose receive time is remembered (lag), at most


def input_id_of(client: str) -> str:
    """The state's input id of a served mapping (its checkpoint and totals)."""
    return f"serve:{client}"


def record_of(row: IntakeRow) -> InputRecord:
    """One intake row as the delivery reader's record: decoded by the engine's decoder, so a bad
    record carries run's rejection code (the delivery loop here, the forwarder of ``serve --queue``)."""
    source = f"{row.source}#{row.id}"
    if row.error is not None:
        return InputRecord(source, row.raw, None, row.error, "", row.id, 0, code=row.code or "intake",
                           dead_letter_kind="intake")
    payload, rej = decode_line(row.raw, source=source)
    if rej is None:
        return InputRecord(source, row.raw, payload, None, "", row.id, 0)
    return InputRecord(source, row.raw, None, rej.message, "", row.id, 0, code=rej.code)


class IntakeFeed:
    """A reader for :meth:`DeliveryLoop.run_reader` over the intake queue (the loop's thread only)."""

    def __init__(self, intake: IntakeQueue, after_id: int):
        self.intake = intake
        self._reader = IntakeReader(intake, after_id)
        self._committed = after_id  # set by commit(); the queue learns it once the txn is over
        self._received: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()
        intake.consumed(after_id)

    def take(self, n: int, timeout: float, fill: float = 0.0) -> tuple[list[InputRecord], bool]:
        # ``fill`` is not waited for: webhooks are a live feed, each chunk goes as soon as it is committed.
        self.intake.consumed(self._committed)  # the previous chunk's transaction is over
        out = []
        for row in self._reader.fetch(n, timeout):
            with self._lock:
                self._received[row.id] = row.received_at
                if len(self._received) > _TRACKED:
                    self._received.popitem(last=False)
            out.append(record_of(row))
        return out, False

    def received_at(self, source: str) -> float | None:
        """When the record named ``source`` (``name#id``) was accepted, if still remembered."""
        _, _, tail = source.rpartition("#")
        with self._lock:
            return self._received.get(int(tail)) if tail.isdigit() else None

    def stop(self) -> list[InputRecord]:
        return []  # nothing read ahead: the rows stay in the queue for the next start

    def close(self) -> None:
        self._reader.close()

    def committed(self, upto_id: int) -> None:
        self._committed = upto_id


class DeliveryThread:
    """Runs one mapping's delivery loop over its intake feed until asked to stop."""

    def __init__(self, *, loop: Any, state: StateStore, intake: IntakeQueue, client: str,
                 wall: Callable[[], float] = time.time):
        self.loop = loop
        self.state = state
        self.intake = intake
        self.input_id = input_id_of(client)
        self.wall = wall
        cp = state.checkpoint(self.input_id)
        self._cp = cp if cp is not None else Checkpoint(self.input_id, "", 0, 0, 0, "reading")
        self.feed = IntakeFeed(intake, self._cp.offset)
        self.error: BaseException | None = None
        self.summary: Any = None
        self._thread = threading.Thread(target=self._run, name=f"ebi-mapper-deliver-{client}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _commit(self, chunk: list[InputRecord], exhausted: bool) -> None:
        if not chunk:
            return
        old = self._cp
        new = Checkpoint(self.input_id, "", chunk[-1].offset, 0, old.records + len(chunk), "reading")
        self.state.set_checkpoint(new, self.wall())
        self._cp = new
        self.feed.committed(new.offset)

    def _run(self) -> None:
        try:
            self.summary = self.loop.run_reader(self.feed, self.input_id, self._commit)
        except BaseException as exc:  # noqa: BLE001 - reported by the service (readyz, exit code)
            self.error = exc
        finally:
            self.feed.close()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float) -> None:
        self.loop.request_stop("shutdown")
        self._thread.join(timeout)
