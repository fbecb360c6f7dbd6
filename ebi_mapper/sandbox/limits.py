"""The sandbox's rate limits: one strict sliding window per rate class.

Optimove documents its REST limits as a sliding window (50 requests per 10 s per key), so the
sandbox counts exactly that way: a request is admitted when fewer than ``requests`` requests of
its class were admitted in the last ``per_seconds`` seconds. Refused requests do not use up the
window. Separately, every request that *arrives* is recorded so ``/stats`` can report the most a
client ever sent within one window (the figure the delivery tests check against the limit).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["WindowLimit", "SlidingWindow", "RateLimiter"]


@dataclass(frozen=True)
class WindowLimit:
    """``requests`` requests per ``per_seconds`` seconds for the events of one rate class.

    ``events`` empty means the catch-all class, which the sandbox applies to every request
    (Optimove's server-side figure is an overall one).
    """

    name: str
    requests: int
    per_seconds: float
    events: tuple[str, ...] = ()


class SlidingWindow:
    """Timestamps of the requests seen in the last ``per_seconds``, plus the most ever seen at once."""

    def __init__(self, per_seconds: float) -> None:
        self.per_seconds = per_seconds
        self._times: deque[float] = deque()
        self.max_seen = 0

    def _prune(self, now: float) -> None:
        # A request at time t is inside the window ending at `now` when now - t < per_seconds.
        horizon = now - self.per_seconds
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()

    def count(self, now: float) -> int:
        """Requests inside the window ending at ``now``."""
        self._prune(now)
        return len(self._times)

    def add(self, now: float) -> int:
        """Record a request at ``now``; return the count in the window, this request included."""
        self._prune(now)
        self._times.append(now)
        n = len(self._times)
        if n > self.max_seen:
            self.max_seen = n
        return n

    def seconds_until_free(self, now: float) -> float:
        """How long until the oldest request in the window leaves it."""
        self._prune(now)
        if not self._times:
            return 0.0
        return max(0.0, self._times[0] + self.per_seconds - now)


class RateLimiter:
    """Admits or refuses requests by the rate classes of the events they carry; thread-safe."""

    def __init__(self, limits: Iterable[WindowLimit], *, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {lim.name: lim for lim in limits}
        self.enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._class_of: dict[str, str] = {}
        self._catch_all = [lim.name for lim in self.limits.values() if not lim.events]
        for lim in self.limits.values():
            for event in lim.events:
                self._class_of[event] = lim.name
        self.reset()

    def reset(self) -> None:
        """Forget every window and counter."""
        with self._lock:
            self._admitted = {name: SlidingWindow(lim.per_seconds) for name, lim in self.limits.items()}
            self._arrived = {name: SlidingWindow(lim.per_seconds) for name, lim in self.limits.items()}
            self._refused = {name: 0 for name in self.limits}

    def classes_of(self, events: Iterable[str]) -> list[str]:
        """The rate classes a request with these event names counts against (catch-all included)."""
        names = set(self._catch_all)
        for event in events:
            cls = self._class_of.get(event)
            if cls is not None:
                names.add(cls)
        return sorted(names)

    def observe(self, classes: Iterable[str]) -> None:
        """Record that a request of these classes arrived (whatever its fate)."""
        with self._lock:
            now = self._clock()
            for name in classes:
                self._arrived[name].add(now)

    def admit(self, classes: Iterable[str]) -> tuple[bool, int, str]:
        """Admit a request: ``(True, 0, "")``, or ``(False, retry_after_seconds, class_name)``.

        A request is admitted only when every class it counts against has room, and then it
        takes one slot in each; a refused request takes none.
        """
        classes = list(classes)
        with self._lock:
            if not self.enabled:
                return True, 0, ""
            now = self._clock()
            for name in classes:
                window = self._admitted[name]
                if window.count(now) >= self.limits[name].requests:
                    self._refused[name] += 1
                    wait = window.seconds_until_free(now)
                    # Retry-After is whole seconds (RFC 9110); round up so the retry is admitted.
                    return False, max(1, math.ceil(wait)), name
            for name in classes:
                self._admitted[name].add(now)
            return True, 0, ""

    def stats(self) -> dict[str, dict]:
        """Per class: the limit, the most requests seen arriving / admitted in one window, refusals."""
        with self._lock:
            return {
                name: {
                    "limit": lim.requests,
                    "window_seconds": lim.per_seconds,
                    "events": list(lim.events) or "*",
                    "max_received_in_window": self._arrived[name].max_seen,
                    "max_admitted_in_window": self._admitted[name].max_seen,
                    "rate_limited": self._refused[name],
                }
                for name, lim in self.limits.items()
            }
