"""Hand input records to the delivery loop in chunks, without letting a slow source stall it.

:class:`ThreadedReader` decodes lines on a daemon thread into a small bounded queue, so a stdin
that trickles never blocks sending or the linger timer, and memory stays flat whatever the input
size. :class:`DirectReader` reads on the caller's thread (dead-letter replay reads the state
store, whose connection belongs to that thread).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from ..errors import DeliveryError
from .source import InputRecord

__all__ = ["ThreadedReader", "DirectReader"]

_END = object()


class ThreadedReader:
    """Reads records on a daemon thread into a bounded buffer (memory stays flat).

    The buffer is a ``deque`` (appending and popping are atomic): a record costs no lock, unlike a
    ``queue.Queue`` (two lock round trips per record, a tenth of the loop's time on a fast file).
    The threads wake each other with events only when one of them waits: the loop for the first
    record of an empty buffer, the reader for room in a full one
    (tests/delivery/test_readers.py).
    """

    def __init__(self, records: Iterator[InputRecord], capacity: int):
        self._buf: deque = deque()
        self._cap = max(2, capacity)
        self._stop = threading.Event()
        self._ready = threading.Event()  # set by the reader when the loop waits for a record
        self._room = threading.Event()  # set by the loop when it took records out
        self._waiting = False  # the loop waits on _ready
        self._want = 1  # ... until the buffer holds this many
        self._error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, args=(records,), name="ebi-mapper-reader", daemon=True)
        self._thread.start()

    def _run(self, records: Iterator[InputRecord]) -> None:
        buf, cap, room, stop = self._buf, self._cap, self._room, self._stop
        try:
            for rec in records:
                while len(buf) >= cap and not stop.is_set():
                    room.clear()
                    if len(buf) >= cap:  # the loop may have taken some between the test and the clear
                        room.wait(0.1)
                if stop.is_set():
                    return
                buf.append(rec)
                if self._waiting and len(buf) >= self._want:
                    self._ready.set()
        except BaseException as exc:  # noqa: BLE001 - handed to the coordinating thread
            self._error = exc
        if not stop.is_set():
            buf.append(_END)
            self._ready.set()

    def take(self, n: int, timeout: float, fill: float = 0.0) -> tuple[list[InputRecord], bool]:
        """Up to ``n`` records, waiting at most ``timeout`` for the first; and whether input ended.

        ``fill``: once there is a first record, wait up to this long more for ``n`` of them (or the
        end of the input). A file read in bulk then comes in whole chunks, so where its chunks
        begin and end does not depend on how the threads happened to be scheduled.
        """
        out: list[InputRecord] = []
        if self._ended:
            return out, True
        buf = self._buf
        if not buf:
            if timeout <= 0:
                return out, False
            self._wait(1, timeout)
            if not buf:
                return out, False
        if fill > 0 and len(buf) < n and buf[-1] is not _END:
            self._wait(n, fill)
        popleft = buf.popleft
        while buf and len(out) < n:
            item = popleft()
            if item is _END:
                self._ended = True
                if self._error is not None:
                    raise DeliveryError(f"reading the input failed: {self._error}") from self._error
                return out, True
            out.append(item)
        self._room.set()
        return out, False

    def _wait(self, n: int, timeout: float) -> None:
        """Wait up to ``timeout`` until the buffer holds ``n`` items or the end of the input."""
        self._want = n
        self._ready.clear()
        self._waiting = True  # set before looking again: the reader sees it or we see its record
        if len(self._buf) < n and not (self._buf and self._buf[-1] is _END):
            self._ready.wait(timeout)
        self._waiting = False

    def close(self) -> None:
        self._stop.set()
        self._room.set()

    def stop(self) -> list[InputRecord]:
        """Stop reading and hand back the records already read but not yet taken.

        A graceful stop commits them: a line taken from stdin cannot be read again.
        """
        self.close()
        self._thread.join(timeout=0.5)  # it notices the flag at once unless blocked reading
        out: list[InputRecord] = []
        while self._buf:
            item = self._buf.popleft()
            if item is not _END:
                out.append(item)
        return out


class DirectReader:
    """Reads records on the calling thread (dead-letter replay reads the state store itself)."""

    def __init__(self, records: Iterator[InputRecord]):
        self._it = records
        self._ended = False

    def take(self, n: int, timeout: float, fill: float = 0.0) -> tuple[list[InputRecord], bool]:
        out: list[InputRecord] = []
        if self._ended:
            return out, True
        for rec in self._it:
            out.append(rec)
            if len(out) >= n:
                return out, False
        self._ended = True
        return out, True

    def close(self) -> None:
        pass

    def stop(self) -> list[InputRecord]:
        """Nothing is read ahead here: nothing to hand back."""
        return []
