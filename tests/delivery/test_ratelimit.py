"""The strict sliding-window limiter: no window of W seconds ever admits more than N requests."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings, strategies as st

from ebi_mapper.delivery.ratelimit import Limit, SlidingWindowLimiter, make_rate_limiter, parse_limit
from ebi_mapper.errors import DeliveryError


class FakeClock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def max_in_window(times: list[float], window: float) -> int:
    """The most entries of sorted ``times`` inside any half-open interval [t, t + window)."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 8),
    window=st.sampled_from([0.5, 1.0, 10.0]),
    gaps=st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=1, max_size=200),
)
@example(n=1, window=0.5, gaps=[2.9843698530406557e-201, 0.5]).via("float rounding: 3e-201 + 0.5 == 0.5")
def test_no_window_ever_exceeds_the_limit(n, window, gaps):
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(n, window), clock=clock, safety=0.0)
    admitted = []
    for gap in gaps:
        clock.t += gap
        if lim.try_acquire() == 0.0:
            admitted.append(clock.t)
    assert max_in_window(admitted, window) <= n


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 6), attempts=st.integers(1, 100))
def test_waiting_the_reported_time_is_enough(n, attempts):
    """Liveness: a caller that sleeps what wait_time says is admitted, at the full rate."""
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(n, 10.0), clock=clock, safety=0.0)
    admitted = []
    for _ in range(attempts):
        wait = lim.try_acquire()
        if wait > 0:
            clock.t += wait
            assert lim.try_acquire() == 0.0
        admitted.append(clock.t)
    assert max_in_window(admitted, 10.0) <= n
    # N per window exactly: the (k*N+1)-th request goes at k windows.
    assert admitted[-1] == pytest.approx(((attempts - 1) // n) * 10.0)


def test_no_double_burst_across_a_window_edge():
    """A token bucket would let 50 go at t=9.5 and 50 more at t=10.0; this limiter does not."""
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(50, 10.0), clock=clock, safety=0.0)
    clock.t = 9.5
    assert all(lim.try_acquire() == 0.0 for _ in range(50))
    clock.t = 10.0
    assert lim.try_acquire() == pytest.approx(9.5)
    clock.t = 19.25
    assert lim.try_acquire() > 0.0
    clock.t = 19.5
    assert lim.try_acquire() == 0.0


@pytest.mark.parametrize("window,margin", [(10.0, 0.2), (1.0, 0.1)], ids=["2-percent", "at-least-100ms"])
def test_safety_stretches_the_window(window, margin):
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(1, window), clock=clock, safety=0.02)
    assert lim.try_acquire() == 0.0
    clock.t = window
    assert lim.try_acquire() == pytest.approx(margin)


def test_class_and_global_limits_hold_together():
    clock = FakeClock()
    rl = make_rate_limiter({"profile": Limit(2, 1.0), "default": None}, Limit(3, 1.0), clock=clock, safety=0.0,
                           exempt=("bespoke",))
    assert rl.try_acquire("profile") == 0.0
    assert rl.try_acquire("profile") == 0.0
    assert rl.try_acquire("profile") > 0.0  # its class is full
    assert rl.try_acquire("default") == 0.0  # the global one still has room for one
    assert rl.try_acquire("default") > 0.0  # now the global limit is full too
    assert rl.try_acquire("bespoke") == 0.0  # another endpoint: not under the global limit
    clock.t = 1.0
    assert rl.try_acquire("default") == 0.0


def test_pause_holds_back_only_its_class():
    clock = FakeClock()
    rl = make_rate_limiter({"profile": Limit(50, 10.0), "default": None}, None, clock=clock)
    rl.pause("profile", 2.0)
    assert rl.wait_time("profile") == pytest.approx(2.0)
    assert rl.wait_time("default") == 0.0
    clock.t = 2.0
    assert rl.try_acquire("profile") == 0.0


def test_real_clock_briefly():
    # Stamps are the limiter's own grant times (its clock, read when it admits a request): stamps
    # taken after acquire() returns would add scheduling jitter the limiter cannot control.
    granted = []

    def clock() -> float:
        now = time.monotonic()
        granted.append(now)
        return now

    rl = make_rate_limiter({"c": Limit(5, 0.2)}, None, clock=clock, safety=0.0)
    start = time.monotonic()
    stamps = []
    for _ in range(15):
        rl.acquire("c")
        stamps.append(granted[-1])
    assert max_in_window(stamps, 0.2) <= 5
    assert stamps[-1] - start >= 0.4  # three windows' worth of requests take at least two windows


@pytest.mark.parametrize("text,expected", [
    ("50/10s", Limit(50, 10.0)), ("50/10", Limit(50, 10.0)), ("10000/1s", Limit(10000, 1.0)),
    ({"requests": 5, "per_seconds": 2}, Limit(5, 2.0)),
], ids=["with-s", "bare", "per-second", "mapping"])
def test_parse_limit(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("bad", ["fifty", "0/10s", "5/0", {"per_seconds": 3}, 7], ids=["word", "zero", "zero-window", "no-requests", "int"])
def test_parse_limit_refuses_nonsense(bad):
    with pytest.raises(DeliveryError):
        parse_limit(bad)
