"""An optional observer of the delivery loop: what ``serve`` turns into metrics and its timeline.

Why a hook and not counters read from the state: limiter holds and the events delivered per event
name per minute are not in the state (send latency and 429s are timed around the sink instead:
serve/metrics.py TimedSink). The loop calls the observer on its own
thread, inside the settle transaction, so observers must be quick and must never raise (serve's
ServeObserver catches everything: an observer never changes an outcome). :class:`NullObserver` is
the default. Proof: tests/serve/test_e2e.py::test_accepts_delivers_and_reads_beside (send latency,
events per event name and lag reach /metrics and /status.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["DeliveryObserver", "NullObserver"]


class DeliveryObserver(Protocol):
    def limiter_held(self, rate_class: str) -> None:
        """A class had its window full when the loop looked for something to send."""

    def settled(self, outcome: str, events: Sequence[Any]) -> None:
        """``events`` (bodies) settled as ``outcome`` (``events_delivered``, ``events_dead_lettered``, ...)."""


class NullObserver:
    def limiter_held(self, rate_class: str) -> None:
        pass

    def settled(self, outcome: str, events: Sequence[Any]) -> None:
        pass
