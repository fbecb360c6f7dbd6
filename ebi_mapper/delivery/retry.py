"""What to do with a batch after the sink answered: the retry policy and its arithmetic.

* ``ok`` → acknowledge (delete from the outbox).
* ``retry`` with ``http_status == 429`` (throttled) → wait ``Retry-After`` when the server gave
  one, else exponential backoff with full jitter. Throttling is the server pacing us, not a fault
  of the batch, so it has its own, larger budget (``max_throttled``) instead of ``max_attempts``.
* any other ``retry`` (5xx, timeout, dropped connection) → backoff with full jitter until
  ``max_attempts`` sends have failed, then dead-letter with the last reason.
* ``rejected`` (a permanent 4xx) → a single event is dead-lettered with the server's reason; a
  larger batch is split: the named item (``rejected_index``) is dead-lettered and the rest sent
  again, or, without an index, the batch is bisected until the bad events stand alone.

Full jitter (delay drawn uniformly from ``[0, min(cap, base * 2**(n-1))]``) spreads retries of
many failed batches over time instead of sending them back in synchronised waves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ..extensions import SendResult

__all__ = ["RetryPolicy", "Decision", "decide", "backoff_cap", "full_jitter_backoff"]

Action = Literal["ack", "retry", "throttled", "dead_letter", "split", "isolate"]


@dataclass(frozen=True)
class RetryPolicy:
    """Knobs of the retry policy (all seconds except the counts)."""

    max_attempts: int = 8  # sends of one batch that may fail transiently before it is dead-lettered
    max_throttled: int = 100  # 429 answers one batch may get before it is dead-lettered
    base_delay: float = 0.5
    max_delay: float = 60.0
    max_retry_after: float = 600.0  # a Retry-After above this is capped (a misbehaving server)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_throttled < 1:
            raise ValueError("max_attempts and max_throttled must be >= 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")


def backoff_cap(policy: RetryPolicy, attempt: int) -> float:
    """The upper bound of the delay after the ``attempt``-th failure (1-based): base·2^(n-1), capped."""
    if attempt < 1:
        return 0.0
    # Cap the exponent first: 2**1000 would overflow a float long before the cap applies.
    return min(policy.max_delay, policy.base_delay * (2.0 ** min(attempt - 1, 60)))


def full_jitter_backoff(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """A delay drawn uniformly from ``[0, backoff_cap(policy, attempt)]``."""
    return rng.uniform(0.0, backoff_cap(policy, attempt))


@dataclass(frozen=True)
class Decision:
    """The loop's next step for one batch.

    ``delay`` is the wait before the batch may be sent again (retry/throttled); ``pause_class``
    asks the loop to hold back the whole rate class that long (the server throttles the class,
    not one batch); ``index`` names the item to isolate.
    """

    action: Action
    delay: float = 0.0
    reason: str = ""
    pause_class: bool = False
    index: int | None = None


def decide(result: SendResult, *, batch_size: int, attempts: int, throttled: int, policy: RetryPolicy, rng: random.Random) -> Decision:
    """Decide what happens to a batch of ``batch_size`` items after ``result``.

    ``attempts`` and ``throttled`` count the failures *including* this one.
    """
    reason = result.reason or (f"HTTP {result.http_status}" if result.http_status else result.status)
    if result.status == "ok":
        return Decision("ack")
    if result.status == "rejected":
        if batch_size <= 1:
            return Decision("dead_letter", reason=reason)
        idx = result.rejected_index
        if idx is not None and 0 <= idx < batch_size:
            return Decision("isolate", reason=reason, index=idx)
        return Decision("split", reason=reason)
    if result.status == "retry" and result.http_status == 429:
        if throttled >= policy.max_throttled:
            return Decision("dead_letter", reason=f"throttled {throttled} times, last: {reason}")
        if result.retry_after is not None and result.retry_after >= 0:
            delay = min(float(result.retry_after), policy.max_retry_after)
        else:
            delay = full_jitter_backoff(policy, throttled, rng)
        return Decision("throttled", delay=delay, reason=reason, pause_class=True)
    # 'retry' (5xx, timeouts, connection errors) and any status a sink should not have returned.
    if attempts >= policy.max_attempts:
        return Decision("dead_letter", reason=f"gave up after {attempts} attempts, last: {reason}")
    delay = full_jitter_backoff(policy, attempts, rng)
    if result.retry_after is not None and result.retry_after >= 0:
        delay = max(delay, min(float(result.retry_after), policy.max_retry_after))  # a 503 may say when
    return Decision("retry", delay=delay, reason=reason)
