"""Progress for long commands: one status line on a terminal (stderr), never on a pipe.

``describe`` words a snapshot (records, rate, and when the input's size is known: %, bytes and
ETA); ``StatusLine`` redraws it in place at most a few times a second and clears it at the end,
so the final summary stands alone. ``map`` uses both; ``run`` uses ``describe`` inside its
live display and for its log lines.
"""

from __future__ import annotations

import time
from typing import IO, Any, BinaryIO

__all__ = ["describe", "format_eta", "StatusLine", "CountingReader"]


def format_eta(seconds: float | None) -> str:
    """``1h02m``, ``4m05s``, ``12s``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def describe(records: int, rate: float, done: int | None = None, total: int | None = None,
             eta: float | None = None) -> str:
    """``42,000 records  35,110/s  37% of 12.0 MB  ETA 4s`` (the size part only when known)."""
    text = f"{records:,} records  {rate:,.0f}/s"
    if done is not None and total:
        text += f"  {100.0 * min(done, total) / total:.0f}% of {total / 1e6:,.1f} MB  ETA {format_eta(eta)}"
    return text


class CountingReader:
    """A binary stream that counts the bytes read through it (for progress)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.bytes = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.bytes += len(data)
        return data

    def readline(self, n: int = -1) -> bytes:
        data = self._stream.readline(n)
        self.bytes += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class StatusLine:
    """Redraws one line on ``stream`` (a terminal) at most every ``interval`` seconds; ``close`` erases it."""

    def __init__(self, stream: IO[str], *, interval: float = 0.25):
        self._stream = stream
        self._interval = interval
        self._last = float("-inf")
        self._width = 0

    def show(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
