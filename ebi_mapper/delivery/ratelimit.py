"""Strict sliding-window rate limiters: one per rate class plus one global.

Optimove states its limits as "N requests per W seconds" (50 per 10 s for the profile events,
10,000 per second overall). A token bucket with a burst of N lets 2N requests into one window
(a full bucket emptied at the end of one window and refilled at the start of the next), so this
module keeps the send times of the last N requests instead and admits a new one only when the
oldest of them has left the window. That makes the guarantee exact: **no half-open interval of
length W ever contains more than N admitted requests**.

Exact at the limiter is not yet exact at the server: a request admitted at ``s`` arrives at some
moment between ``s`` and the moment its answer came back, ``d``. The delivery loop therefore
holds a request's place from admission (:meth:`SlidingWindowLimiter.admit`) until its answer
(:meth:`SlidingWindowLimiter.complete`), and counts it in the window from ``d``: a new request may
go only when fewer than N requests are in flight or ended less than W ago. Whatever the latency or
the scheduling of send threads, the server then sees no window with more than N arrivals (proof in
docs/delivery.md; tested in tests/delivery/test_ratelimit.py with random latencies). A request
that is counted at one moment (:meth:`SlidingWindowLimiter.try_acquire`) is the special case
``s == d``.

The limiters are driven by an injectable monotonic clock (tests pass a fake one). They are not
thread-safe: the delivery loop calls them from its one coordinating thread.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..errors import DeliveryError

__all__ = [
    "Limit",
    "SlidingWindowLimiter",
    "RateLimiter",
    "make_rate_limiter",
    "parse_limit",
    "DEFAULT_SAFETY",
    "MIN_MARGIN",
]

Clock = Callable[[], float]

# The window is stretched by this fraction (but at least MIN_MARGIN seconds) so requests that leave
# here spaced exactly W apart still arrive spaced >= W apart at the server despite jitter in
# network latency and thread scheduling (and so a checker that uses closed windows [t, t+W]
# agrees). For 50 / 10 s that is 0.5 s (5% of throughput); for a 1 s window 0.1 s. 2% (0.2 s) was
# measured too little: a 50,000-record run on a loaded 2-core machine once put 51 requests in a
# 10 s window at the sandbox, the send threads having been scheduled late.
DEFAULT_SAFETY = 0.05
MIN_MARGIN = 0.1
# How long to wait before asking again when every place of a window is held by a request still in
# flight: its answer, not the clock, opens the next place.
INFLIGHT_POLL = 0.005


@dataclass(frozen=True)
class Limit:
    """At most ``requests`` requests in any window of ``per_seconds`` seconds."""

    requests: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise DeliveryError(f"a rate limit needs requests >= 1 and per_seconds > 0, got {self.requests}/{self.per_seconds}s")

    @property
    def per_second(self) -> float:
        """The sustained rate this limit allows."""
        return self.requests / self.per_seconds

    def __str__(self) -> str:
        return f"{self.requests}/{self.per_seconds:g}s"


def parse_limit(value: object) -> Limit:
    """Read a limit written as ``"50/10s"``, ``"50/10"``, ``{requests: 50, per_seconds: 10}`` or a Limit."""
    if isinstance(value, Limit):
        return value
    if isinstance(value, Mapping):
        try:
            return Limit(int(value["requests"]), float(value.get("per_seconds", 1.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(f"bad rate limit {dict(value)!r}: expected requests and per_seconds") from exc
    if isinstance(value, str) and "/" in value:
        left, right = value.split("/", 1)
        try:
            return Limit(int(left.strip()), float(right.strip().rstrip("s") or 1))
        except ValueError as exc:
            raise DeliveryError(f"bad rate limit {value!r}: expected e.g. '50/10s'") from exc
    raise DeliveryError(f"bad rate limit {value!r}: expected e.g. '50/10s' or {{requests: 50, per_seconds: 10}}")


class SlidingWindowLimiter:
    """Admit at most ``limit.requests`` in any window of ``limit.per_seconds`` (strictly).

    With ``limit=None`` nothing is counted and only :meth:`pause_until` holds requests back.
    """

    def __init__(self, limit: Limit | None, *, clock: Clock = time.monotonic, safety: float = DEFAULT_SAFETY, name: str = ""):
        self.limit = limit
        self.name = name
        margin = max(limit.per_seconds * safety, MIN_MARGIN) if limit and safety > 0 else 0.0
        self.window = limit.per_seconds + margin if limit else 0.0
        self._clock = clock
        # End times (answers, or instants of requests counted at one moment), oldest first.
        self._times: deque[float] = deque(maxlen=limit.requests if limit else 1)
        self._inflight = 0  # admitted, answer not yet in: each holds a place until complete()
        self._paused_until = float("-inf")

    def wait_time(self, now: float | None = None) -> float:
        """Seconds until one more request may be admitted (0.0 when it may be now)."""
        now = self._clock() if now is None else now
        wait = self._paused_until - now
        if self.limit is None:
            return max(0.0, wait)
        free = self.limit.requests - self._inflight  # places not held by a request in flight
        if free <= 0:
            return max(wait, INFLIGHT_POLL)
        if len(self._times) >= free:
            # Of the requests that ended, the free-th most recent must be a full window old before
            # one more may go (with those in flight, N would then be in one window).
            oldest = self._times[-free]
            wait = max(wait, oldest + self.window - now)
            if now - self.window < oldest:
                # Both float spellings of "a window has passed" must agree: with times far apart in
                # magnitude one can round to "yes" and the other to "no" (3e-201 + 0.5 == 0.5).
                wait = max(wait, math.ulp(now))
        return max(0.0, wait)

    def record(self, now: float | None = None) -> None:
        """Count a request sent at ``now`` (the caller checked :meth:`wait_time` first)."""
        if self.limit is None:
            return
        now = self._clock() if now is None else now
        if self._times and now < self._times[-1]:
            now = self._times[-1]  # a clock that steps back must not open room in the window
        self._times.append(now)

    def admit(self) -> None:
        """Hold a place for a request about to be sent, until :meth:`complete` (check :meth:`wait_time` first)."""
        if self.limit is not None:
            self._inflight += 1

    def complete(self, now: float | None = None) -> None:
        """The answer of an admitted request came back at ``now``: it counts in the window from then."""
        if self.limit is None:
            return
        self._inflight = max(0, self._inflight - 1)
        self.record(now)

    @property
    def in_flight(self) -> int:
        """Requests admitted whose answer is not in yet."""
        return self._inflight

    def seed(self, times: Iterable[float]) -> None:
        """Count requests an earlier process sent (clock readings of this limiter's clock), oldest first."""
        for t in sorted(times):
            self.record(t)

    def try_acquire(self) -> float:
        """Admit and count one request now if allowed (returns 0.0), else return the seconds to wait."""
        now = self._clock()
        wait = self.wait_time(now)
        if wait == 0.0:
            self.record(now)
        return wait

    def pause_until(self, when: float) -> None:
        """Admit nothing before ``when`` (a clock reading): the server said 429 with Retry-After."""
        self._paused_until = max(self._paused_until, when)

    @property
    def sent_in_window(self) -> int:
        """How many of the remembered requests are still inside the current window."""
        now = self._clock()
        return self._inflight + sum(1 for t in self._times if t > now - self.window)


class RateLimiter:
    """The set of limiters a delivery run obeys: one per rate class plus a global one.

    A request of class ``c`` is admitted only when both ``c``'s limiter and the global limiter
    admit it, and it is then counted in both, so the two guarantees hold together.
    """

    def __init__(self, classes: Mapping[str, SlidingWindowLimiter], global_limiter: SlidingWindowLimiter | None, *,
                 clock: Clock = time.monotonic, exempt: Iterable[str] = ()):
        self.classes = dict(classes)
        self.global_limiter = global_limiter
        self.exempt = frozenset(exempt)  # classes the global limit does not cover (another endpoint)
        self._clock = clock

    def _limiters(self, rate_class: str) -> Iterable[SlidingWindowLimiter]:
        own = self.classes.get(rate_class)
        if own is not None:
            yield own
        if self.global_limiter is not None and rate_class not in self.exempt:
            yield self.global_limiter

    def wait_time(self, rate_class: str) -> float:
        """Seconds until a request of ``rate_class`` may go (0.0 = now)."""
        now = self._clock()
        return max((lim.wait_time(now) for lim in self._limiters(rate_class)), default=0.0)

    def try_acquire(self, rate_class: str) -> float:
        """Admit one request of ``rate_class`` now if every limiter allows it (0.0), else the wait."""
        return self._take(rate_class, hold=False)

    def try_admit(self, rate_class: str) -> float:
        """Like :meth:`try_acquire`, but the request holds its places until :meth:`complete` is called."""
        return self._take(rate_class, hold=True)

    def _take(self, rate_class: str, *, hold: bool) -> float:
        now = self._clock()
        limiters = list(self._limiters(rate_class))
        wait = max((lim.wait_time(now) for lim in limiters), default=0.0)
        if wait == 0.0:
            for lim in limiters:
                if hold:
                    lim.admit()
                else:
                    lim.record(now)
        return wait

    def complete(self, rate_class: str) -> None:
        """The answer of a request admitted by :meth:`try_admit` came back (whatever it said)."""
        now = self._clock()
        for lim in self._limiters(rate_class):
            lim.complete(now)

    def acquire(self, rate_class: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block (with ``sleep``) until a request of ``rate_class`` is admitted."""
        while (wait := self.try_acquire(rate_class)) > 0.0:
            sleep(wait)

    def pause(self, rate_class: str, seconds: float) -> None:
        """Hold back ``rate_class`` for ``seconds`` (after a 429); other classes go on."""
        own = self.classes.get(rate_class)
        if own is not None and seconds > 0:
            own.pause_until(self._clock() + seconds)


def make_rate_limiter(
    classes: Mapping[str, Limit | None],
    global_limit: Limit | None,
    *,
    clock: Clock = time.monotonic,
    safety: float = DEFAULT_SAFETY,
    exempt: Iterable[str] = (),
) -> RateLimiter:
    """Build a :class:`RateLimiter`; a class whose limit is ``None`` gets only a pause gate."""
    # An unlimited class still gets a limiter object so a 429 can pause it.
    limiters = {name: SlidingWindowLimiter(limit, clock=clock, safety=safety, name=name) for name, limit in classes.items()}
    glob = SlidingWindowLimiter(global_limit, clock=clock, safety=safety, name="global") if global_limit else None
    return RateLimiter(limiters, glob, clock=clock, exempt=exempt)
