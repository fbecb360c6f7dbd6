"""Hand input records to the delivery loop in chunks, without letting a slow source stall it.

:class:`ThreadedReader` decodes lines on a daemon thread into a small bounded queue, so a stdin
that trickles never blocks sending or the linger timer, and memory stays flat whatever the input
size. :class:`DirectReader` reads on the caller's thread (dead-letter replay reads the state
store, whose connection belongs to that thread).
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator

from ..errors import DeliveryError
from .source import InputRecord

__all__ = ["ThreadedReader", "DirectReader"]

_END = object()


class ThreadedReader:
    """Reads records on a daemon thread into a bounded queue (memory stays flat)."""

    def __init__(self, records: Iterator[InputRecord], capacity: int):
        self._q: queue.Queue = queue.Queue(maxsize=max(2, capacity))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._run, args=(records,), name="ebi-mapper-reader", daemon=True)
        self._thread.start()

    def _run(self, records: Iterator[InputRecord]) -> None:
        try:
            for rec in records:
                while not self._stop.is_set():
                    try:
                        self._q.put(rec, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the coordinating thread
            self._error = exc
        while not self._stop.is_set():
            try:
                self._q.put(_END, timeout=0.1)
                return
            except queue.Full:
                continue

    def take(self, n: int, timeout: float) -> tuple[list[InputRecord], bool]:
        """Up to ``n`` records, waiting at most ``timeout`` for the first; and whether input ended."""
        out: list[InputRecord] = []
        if self._ended:
            return out, True
        try:
            item = self._q.get(timeout=timeout) if timeout > 0 else self._q.get_nowait()
        except queue.Empty:
            return out, False
        while True:
            if item is _END:
                self._ended = True
                if self._error is not None:
                    raise DeliveryError(f"reading the input failed: {self._error}") from self._error
                return out, True
            out.append(item)
            if len(out) >= n:
                return out, False
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return out, False

    def close(self) -> None:
        self._stop.set()

    def stop(self) -> list[InputRecord]:
        """Stop reading and hand back the records already read but not yet taken.

        A graceful stop commits them: a line taken from stdin cannot be read again.
        """
        self._stop.set()
        self._thread.join(timeout=0.5)  # it notices the flag within 0.1 s unless blocked reading
        out: list[InputRecord] = []
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return out
            if item is not _END:
                out.append(item)


class DirectReader:
    """Reads records on the calling thread (dead-letter replay reads the state store itself)."""

    def __init__(self, records: Iterator[InputRecord]):
        self._it = records
        self._ended = False

    def take(self, n: int, timeout: float) -> tuple[list[InputRecord], bool]:
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
