"""The send times of rate classes with small windows, kept in the state so a restarted process
still sees the requests its predecessor made inside the current window (the 50 / 10 s class).

Why a module of its own: it is the one place that links the limiter (in memory, monotonic clock)
to the state (on disk, wall clock). Proven by tests/delivery/test_ratelimit.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from .ratelimit import Limit, RateLimiter
from .state import StateStore

__all__ = ["REMEMBER_UP_TO", "remembered_classes", "seed_limiters"]

REMEMBER_UP_TO = 1000  # classes allowing more requests per window are not persisted (too many writes)


def remembered_classes(limits: Mapping[str, Limit | None], limiter: RateLimiter) -> set[str]:
    """The classes whose send times are kept in the state."""
    return {c for c, lim in limits.items() if lim is not None and lim.requests <= REMEMBER_UP_TO and c in limiter.classes}


def seed_limiters(limiter: RateLimiter, state: StateStore, remembered: set[str], now_wall: float, now_mono: float) -> None:
    """Put the predecessor's requests still inside their windows into ``limiter``'s windows.

    The limiter counts a request from its answer (ratelimit.py: so no latency can crowd a window
    at the receiver), so a remembered request counts from its answer time too. One whose answer
    was never settled (its process died with it in flight) may have been answered at any moment
    up to now: it counts from now, the only time that cannot be too early.
    """
    if not remembered:
        return
    longest = max(limiter.classes[c].window for c in remembered)
    by_class: dict[str, list[float]] = defaultdict(list)
    for cls, _sent, answered in state.recent_sends(now_wall - longest):
        if cls in remembered:
            at = now_wall if answered is None else min(answered, now_wall)
            by_class[cls].append(now_mono - (now_wall - at))
    for cls, times in by_class.items():
        limiter.classes[cls].seed(times)
