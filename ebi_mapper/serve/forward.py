"""``serve --queue``: intake rows → the cluster's Redis streams, on a thread of its own (no delivery here).

The local intake is exactly as without ``--queue``: a 2xx follows the intake COMMIT, and the
backlog bounds (429/503) still protect it. In place of the delivery loop, :class:`ForwardThread`
reads rows after the checkpoint (input ``serve:<client>``, offset = the last intake id forwarded),
turns each into the reader's record with :func:`~ebi_mapper.serve.feed.record_of` (a bad record
carries run's code, as ``run --queue`` sends it), queues a chunk with
:func:`~ebi_mapper.scaleout.queue.enqueue_records`, and moves the checkpoint only after Redis
answered the XADDs; only then may the intake drop those rows. A serve killed between the XADDs and
the checkpoint re-sends at most one chunk, which the workers' dedup settles as duplicates.

Redis not answering (down, restarting, loading its AOF) is an operator's matter: the thread logs
one line when it starts waiting and one when Redis answers again, ``/readyz`` says 503 with the
reason meanwhile, and the rows wait in the intake (its bounds answer 429/503 when it fills).
Proof: tests/serve/test_serve_queue_e2e.py (exactly once through a worker process, SIGKILL between
accept and forward, a bad record in the cluster DLQ with run's code, /readyz while Redis is away).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..delivery.state import Checkpoint, StateStore
from ..errors import DeliveryError
from .feed import input_id_of, record_of
from .intake import IntakeQueue, IntakeReader
from .logs import log

__all__ = ["ForwardThread"]

CHUNK = 500  # intake rows per XADD batch (one MULTI/EXEC round trip), as run --queue's chunk


class ForwardThread:
    """Forwards one mapping's intake rows to the cluster until asked to stop.

    ``make_producer()`` returns a :class:`~ebi_mapper.scaleout.queue.Producer`; it is called on
    this thread (again after a failure) so a Redis that is down at start delays forwarding, not
    accepting. It raises :class:`DeliveryError` while Redis does not answer; any other error
    (a partition count that disagrees with the cluster's) ends the thread and the service (exit 3).
    """

    loop = None  # no delivery loop in this process (snapshot.py and served.py ask)

    def __init__(self, *, make_producer: Callable[[], Any], state: StateStore, intake: IntakeQueue, client: str,
                 on_forwarded: Callable[[int], None] = lambda n: None, retry_every: float = 1.0,
                 wall: Callable[[], float] = time.time):
        self.make_producer = make_producer
        self.state = state
        self.intake = intake
        self.client = client
        self.input_id = input_id_of(client)
        self.on_forwarded = on_forwarded
        self.retry_every = retry_every
        self.wall = wall
        cp = state.checkpoint(self.input_id)
        self._cp = cp if cp is not None else Checkpoint(self.input_id, "", 0, 0, 0, "reading")
        self._reader = IntakeReader(intake, self._cp.offset)
        intake.consumed(self._cp.offset)
        self.producer: Any = None
        self.waiting: str | None = None  # why forwarding waits (Redis not answering), for /readyz
        self.forwarded = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ebi-mapper-forward-{client}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _wait(self, exc: BaseException) -> None:
        reason = str(exc)
        if self.waiting is None:
            log("queue_waiting", mapping=self.client, error=reason)
        self.waiting = reason
        self._stop.wait(self.retry_every)

    def _send(self, chunk: list[Any]) -> bool:
        """Queue ``chunk`` (retrying while Redis is away); False when asked to stop first."""
        from ..scaleout.queue import enqueue_records

        while not self._stop.is_set():
            try:
                if self.producer is None:
                    self.producer = self.make_producer()
                if chunk:
                    enqueue_records(self.producer, chunk)
            except DeliveryError as exc:
                self._wait(exc)
                continue
            if self.waiting is not None:
                log("queue_answering", mapping=self.client)
                self.waiting = None
            return True
        return False

    def _run(self) -> None:
        try:
            # Connect at once, not at the first row: a cluster that refuses this serve (its partition
            # count) stops the service at start, and /readyz tells a Redis that is away before any webhook.
            if not self._send([]):
                return
            while not self._stop.is_set():
                rows = self._reader.fetch(CHUNK, 0.5)
                if not rows:
                    continue
                if not self._send([record_of(row) for row in rows]):
                    return  # stopping: the rows stay in the intake, forwarded at the next start
                new = Checkpoint(self.input_id, "", rows[-1].id, 0, self._cp.records + len(rows), "reading")
                with self.state.transaction():
                    self.state.set_checkpoint(new, self.wall())
                self._cp = new
                self.intake.consumed(new.offset)  # committed: the writer may delete these rows
                self.forwarded += len(rows)
                self.on_forwarded(len(rows))
        except BaseException as exc:  # noqa: BLE001 - reported by the service (readyz, exit code)
            self.error = exc
        finally:
            self._reader.close()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self.producer is not None and not self._thread.is_alive():
            self.producer.client.close()
