"""Fault injection for the sandbox: which failure, if any, a request meets.

One uniform draw per request picks at most one fault, so the probabilities add up (their sum
must be ≤ 1) and a fixed ``seed`` replays the same sequence of faults for the same sequence of
requests. Pre-store faults happen before anything is stored; the ``*_after_store`` ones store the
batch and then fail, which is what makes at-least-once delivery plus idempotent PKs necessary.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import EbiMapperError

__all__ = [
    "FAULT_KINDS",
    "PRE_STORE_FAULTS",
    "AFTER_STORE_FAULTS",
    "FaultPlan",
    "FaultError",
    "make_fault_plan",
    "FaultInjector",
]

PRE_STORE_FAULTS = ("500", "timeout", "429", "drop")
AFTER_STORE_FAULTS = ("500_after_store", "drop_after_store")
FAULT_KINDS = PRE_STORE_FAULTS + AFTER_STORE_FAULTS
_SETTINGS = ("seed", "timeout_delay", "retry_after", "429_burst", "reply_delay")


class FaultError(EbiMapperError, ValueError):
    """A fault setting that makes no sense (a probability outside 0..1, an unknown kind)."""


@dataclass(frozen=True)
class FaultPlan:
    """Fault probabilities per request plus how each fault behaves.

    ``timeout_delay``: seconds a ``timeout`` fault holds the request before closing the
    connection without a response (set it above the client's timeout). ``retry_after``: the
    ``Retry-After`` seconds of an injected 429. ``burst``: how many consecutive requests one
    injected 429 storm answers with 429 (the first included). ``reply_delay``: seconds every
    request that stored something waits *after storing* before it is answered (a slow receiver:
    the stored content is visible while the sender still waits for the answer).
    """

    probabilities: tuple[tuple[str, float], ...] = ()
    seed: int | None = None
    timeout_delay: float = 2.0
    retry_after: int = 1
    burst: int = 1
    reply_delay: float = 0.0

    def probability(self, kind: str) -> float:
        """The probability of one fault kind (0 when unset)."""
        return dict(self.probabilities).get(kind, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The plan in the shape ``POST /_faults`` takes."""
        out: dict[str, Any] = {kind: self.probability(kind) for kind in FAULT_KINDS}
        out.update(seed=self.seed, timeout_delay=self.timeout_delay, retry_after=self.retry_after)
        out["429_burst"] = self.burst
        out["reply_delay"] = self.reply_delay
        return out


def _number(key: str, value: Any, *, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultError(f"fault setting {key!r} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise FaultError(f"fault setting {key!r} must be {bound}, got {value!r}")
    return float(value)


def make_fault_plan(settings: Mapping[str, Any] | None = None, base: FaultPlan | None = None) -> FaultPlan:
    """Build a plan from ``{"500": 0.1, "timeout": 0.05, "429": 0.02, "drop": 0.02, "seed": 1}``.

    Keys not given keep their value from ``base`` (an empty plan by default), so ``POST /_faults``
    can change one probability without restating the others.
    """
    plan = base or FaultPlan()
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(FAULT_KINDS) - set(_SETTINGS))
    if unknown:
        known = ", ".join(FAULT_KINDS + _SETTINGS)
        raise FaultError(f"unknown fault setting(s) {', '.join(map(repr, unknown))} (known: {known})")
    probs = dict(plan.probabilities)
    for kind in FAULT_KINDS:
        if kind in settings:
            probs[kind] = _number(kind, settings[kind], low=0.0, high=1.0)
    total = sum(probs.values())
    if total > 1.0 + 1e-9:
        raise FaultError(f"fault probabilities add up to {total:g}; one draw per request needs a sum ≤ 1")
    changes: dict[str, Any] = {"probabilities": tuple((k, probs[k]) for k in FAULT_KINDS if probs.get(k))}
    if "seed" in settings:
        seed = settings["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultError(f"fault setting 'seed' must be an integer or null, got {seed!r}")
        changes["seed"] = seed
    if "timeout_delay" in settings:
        changes["timeout_delay"] = _number("timeout_delay", settings["timeout_delay"], low=0.0)
    if "reply_delay" in settings:
        changes["reply_delay"] = _number("reply_delay", settings["reply_delay"], low=0.0)
    if "retry_after" in settings:
        changes["retry_after"] = int(_number("retry_after", settings["retry_after"], low=0.0))
    if "429_burst" in settings:
        changes["burst"] = int(_number("429_burst", settings["429_burst"], low=1.0))
    return replace(plan, **changes)


class FaultInjector:
    """Draws the fault for each request from a plan; thread-safe and reproducible by seed."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = plan or FaultPlan()
        self._rng = random.Random(self._plan.seed)
        self._storm_left = 0

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan; reseed the generator so a given seed replays from its start."""
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)
            self._storm_left = 0

    def draw(self) -> str | None:
        """The fault kind for the next request, or ``None`` for a healthy answer."""
        with self._lock:
            if self._storm_left > 0:
                self._storm_left -= 1
                return "429"
            probs = self._plan.probabilities
            if not probs:
                return None
            u = self._rng.random()
            acc = 0.0
            for kind, p in probs:
                acc += p
                if u < acc:
                    if kind == "429":
                        self._storm_left = self._plan.burst - 1
                    return kind
            return None
