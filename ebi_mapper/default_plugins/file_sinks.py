"""Sinks that write JSON lines: to a file (``jsonl``) or to standard output (``stdout``).

Both write one JSON object per line, in batch order, and never refuse an item. ``jsonl``
appends (a restarted run adds to the same file), hands each batch to the OS before answering
``ok`` and fsyncs on close; under at-least-once delivery a crash can repeat a batch at the end of
the file, never lose one that was acknowledged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import DeliveryError
from ..extensions import SendResult

__all__ = ["JsonLinesSink", "StdoutSink"]


def _lines(batch: list[dict]) -> bytes:
    try:
        return b"".join(orjson.dumps(item) + b"\n" for item in batch)
    except TypeError as exc:
        raise DeliveryError(f"batch is not JSON-serialisable: {exc}") from exc


class JsonLinesSink:
    """Appends every item as a JSON line to ``path`` (parent folders are created)."""

    inline = True  # a local append answers at once: the delivery loop calls it on its own thread

    def __init__(self, path: str | Path, *, fsync_each_batch: bool = False) -> None:
        self.path = Path(path)
        self.fsync_each_batch = fsync_each_batch
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] | None = open(self.path, "ab")
        except OSError as exc:
            raise DeliveryError(f"sink 'jsonl': cannot open {str(self.path)!r}: {exc.strerror or exc}") from exc

    def __repr__(self) -> str:
        return f"JsonLinesSink(path={str(self.path)!r})"

    def send(self, batch: list[dict]) -> SendResult:
        """Append the batch; ``ok`` once the bytes are with the OS (and on disk with ``fsync_each_batch``)."""
        if self._file is None:
            raise DeliveryError("sink 'jsonl' is closed")
        data = _lines(batch)
        try:
            self._file.write(data)
            self._file.flush()
            if self.fsync_each_batch:
                os.fsync(self._file.fileno())
        except OSError as exc:
            # A full disk may clear up; the batch stays in the outbox and is tried again.
            return SendResult("retry", reason=f"write to {str(self.path)!r} failed: {exc.strerror or exc}")
        return SendResult("ok")

    def close(self) -> None:
        """Flush, fsync and close; idempotent."""
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()


class StdoutSink:
    """Writes every item as a JSON line to standard output (the stream current at each send)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self.writes_stdout = stream is None  # then the command prints its summary to stderr, never between the events

    def __repr__(self) -> str:
        return "StdoutSink()"

    def send(self, batch: list[dict]) -> SendResult:
        """Write the batch and flush."""
        stream = self._stream or sys.stdout
        stream.write(_lines(batch).decode())
        stream.flush()
        return SendResult("ok")

    def close(self) -> None:
        """Flush the stream."""
        (self._stream or sys.stdout).flush()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
