"""The strict sliding-window limiter: no window of W seconds ever admits more than N requests."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 6),
    window=st.sampled_from([0.5, 1.0, 10.0]),
    requests=st.lists(
        st.tuples(st.floats(0.0, 2.0, allow_nan=False),  # how long the sender waits before trying
                  st.floats(0.0, 3.0, allow_nan=False),  # the request's latency (admission to answer)
                  st.floats(0.0, 1.0, allow_nan=False)),  # where in that span the server receives it
        min_size=1, max_size=80),
)
def test_no_window_at_the_server_exceeds_the_limit_whatever_the_latency(n, window, requests):
    """Counted from the answer, a request late on the wire cannot share a server window with N others.

    Counted from the send time (what ``try_acquire`` does), a request that sat in a send thread or on
    the wire could arrive in the same server window as the next N: this is what once put 11 requests
    into a 10-per-second window at the sandbox on a loaded machine.
    """
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(n, window), clock=clock, safety=0.0)
    in_flight: list[float] = []  # answer times of admitted requests
    arrivals: list[float] = []
    for pause, latency, where in requests:
        clock.t += pause
        while True:
            # Answers due by now come back first, in time order.
            for done in sorted(d for d in in_flight if d <= clock.t):
                in_flight.remove(done)
                saved, clock.t = clock.t, done
                lim.complete()
                clock.t = saved
            wait = lim.wait_time()
            if wait == 0.0:
                break
            pending = [d for d in in_flight if d > clock.t]
            clock.t = min([clock.t + wait] + pending)
        lim.admit()
        arrivals.append(clock.t + latency * where)
        in_flight.append(clock.t + latency)
    arrivals.sort()
    assert max_in_window(arrivals, window) <= n


def test_counting_from_the_send_time_would_not_hold_at_the_server():
    """The case above fails without the hold: one slow request and N quick ones share a window."""
    clock = FakeClock()
    lim = SlidingWindowLimiter(Limit(1, 1.0), clock=clock, safety=0.0)
    assert lim.try_acquire() == 0.0  # counted at 0.0, but (say) reaches the server at 0.9
    clock.t = 1.0
    assert lim.wait_time() == 0.0  # counted from the send, the next may go and arrive at 1.0: two in [0.9, 1.9)
    held = SlidingWindowLimiter(Limit(1, 1.0), clock=clock, safety=0.0)
    clock.t = 0.0
    held.admit()
    clock.t = 1.0
    assert held.wait_time() > 0.0  # still in flight: its place is held
    clock.t = 1.1
    held.complete()  # answered at 1.1
    assert held.wait_time() == pytest.approx(1.0)
    clock.t = 2.1
    assert held.wait_time() == 0.0


def test_a_rate_limiter_holds_class_and_global_places_until_the_answer():
    clock = FakeClock()
    rl = make_rate_limiter({"profile": Limit(1, 1.0), "default": None}, Limit(2, 1.0), clock=clock, safety=0.0)
    assert rl.try_admit("profile") == 0.0
    assert rl.try_admit("profile") > 0.0
    assert rl.try_admit("default") == 0.0
    assert rl.try_admit("default") > 0.0  # global: two in flight
    clock.t = 5.0
    assert rl.try_admit("default") > 0.0  # time alone opens nothing while both are in flight
    rl.complete("profile")
    rl.complete("default")
    assert rl.wait_time("default") == pytest.approx(1.0)
    clock.t = 6.0
    assert rl.try_admit("profile") == 0.0
