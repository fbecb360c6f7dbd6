"""One exact rate limiter shared by every worker of a cluster: a sliding log in Redis.

Optimove's limits are per tenant, not per process: 50 profile requests in any 10 s and 10,000
requests in any second, whatever the number of workers sending. Each (tenant, class) has a sorted
set whose members are requests and whose scores are times read from the *Redis server's* clock
(``TIME`` inside the script), so the hosts' clocks never matter. One Lua script decides an
admission atomically for the request's class and the global class together: it counts the members
in ``(now - window, +inf]`` of each, and admits into both or neither. Only one waiter can take a
place that opens (the script runs alone), so no burst of waiters goes through at once; a token
bucket with burst N would let 2N into some window, a log cannot (tests/scaleout/test_scaleout_limiter.py
hammers it from several processes and checks every window of the log).

The rule of delivery/ratelimit.py holds across hosts: a request holds its place from dispatch
until its answer. At admission its member is scored ``now + lease`` (a time in the future, so it
counts in every window until it is re-scored); at the answer :meth:`RedisRateLimiter.complete`
re-scores it to the answer's time. A worker that dies with requests in flight leaves members that
count until ``lease + window`` after their admission and then leave by themselves: the lease must
exceed the longest request (the HTTP sink's timeout, 10 s by default; :data:`DEFAULT_LEASE` is 60 s).

:meth:`RedisRateLimiter.wait_time` answers from the last refusal without a round trip;
:meth:`RedisRateLimiter.try_admit` is the one atomic decision (one round trip per request, one per
answer). A 429's pause is shared too: a key with a time to live that every worker's admission reads.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from typing import Any

from ..delivery.ratelimit import DEFAULT_SAFETY, MIN_MARGIN, Limit, RateLimiter
from ..errors import DeliveryError

__all__ = ["DEFAULT_LEASE", "RedisRateLimiter", "headroom", "limiter_keys"]

DEFAULT_LEASE = 60.0  # seconds an admitted request may stay unanswered before its place is given back
_INFLIGHT_POLL = 0.005
_REDIS_DOWN_WAIT = 0.25  # seconds before asking again when Redis does not answer  # the oldest place of a full window is held by a request in flight: ask again soon

# KEYS: per limiter, its sorted set, then one pause key (the request's class).
# ARGV: member, lease_us, n, then n × (limit, window_us); times in microseconds of the server clock.
# Returns 0 (admitted) or the microseconds to wait (>= 1).
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local member, lease, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
local pttl = redis.call('PTTL', KEYS[n + 1])
if pttl > 0 then wait = pttl * 1000 end
for i = 1, n do
  local limit, window = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local since = string.format('%%.0f', now - window)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', since)
  local count = redis.call('ZCOUNT', KEYS[i], '(' .. since, '+inf')
  if count >= limit then
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
    local at = tonumber(oldest[2])
    local w
    if at > now then w = %(poll)d else w = at + window - now + 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  redis.call('ZADD', KEYS[i], string.format('%%.0f', now + lease), member)
  redis.call('PEXPIRE', KEYS[i], string.format('%%.0f', math.ceil((lease + tonumber(ARGV[3 + 2 * i])) / 1000) + 1000))
end
return 0
""".replace("%(poll)d", str(int(_INFLIGHT_POLL * 1e6))).replace("%%", "%")

# KEYS: the sorted sets the member was admitted into. ARGV: member. Re-scores it to now (the answer).
_COMPLETE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'XX', string.format('%.0f', now), ARGV[1]) end
return 0
"""

# KEYS: the pause key. ARGV: milliseconds. A longer pause already set is kept.
_PAUSE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 0
"""


def limiter_keys(prefix: str, tenant: object, name: str) -> str:
    """The sorted set of one (tenant, class); ``name`` is a rate class or ``global``."""
    return f"{prefix}lim:{tenant}:{name}"


def _window_us(limit: Limit, safety: float) -> int:
    margin = max(limit.per_seconds * safety, MIN_MARGIN) if safety > 0 else 0.0
    return math.ceil((limit.per_seconds + margin) * 1e6)


class RedisRateLimiter(RateLimiter):
    """The :class:`~ebi_mapper.delivery.ratelimit.RateLimiter` interface over a sliding log in Redis.

    :param client: a ``redis.Redis`` (any object with ``register_script``).
    :param prefix: the cluster's key prefix (``ebi:`` …); :param tenant: whose limits these are.
    :param classes: rate class → limit (``None``: no limit, only the shared 429 pause).
    :param exempt: classes the global limit does not cover (the bespoke queue).
    """

    def __init__(self, client: Any, *, prefix: str, tenant: object, classes: Mapping[str, Limit | None],
                 global_limit: Limit | None, exempt: Iterable[str] = (), safety: float = DEFAULT_SAFETY,
                 lease: float = DEFAULT_LEASE, clock: Any = time.monotonic):
        # No local limiters: the pipeline seeds none and asks this object only.
        super().__init__({}, None, clock=clock, exempt=exempt)
        if lease <= 0:
            raise DeliveryError(f"the limiter's lease must be positive, got {lease!r}")
        self.client = client
        self.prefix = prefix
        self.tenant = tenant
        self.limits = dict(classes)
        self.global_limit = global_limit
        self.safety = safety
        self.lease_us = int(lease * 1e6)
        self._admit = client.register_script(_ADMIT)
        self._complete = client.register_script(_COMPLETE)
        self._pause = client.register_script(_PAUSE)
        self._ids = itertools.count()
        self._me = uuid.uuid4().hex[:12]
        self._not_before: dict[str, float] = {}  # class -> clock reading before which the last refusal holds
        self._held: dict[str, deque[tuple[str, list[str]]]] = defaultdict(deque)  # admitted, unanswered

    def _plan(self, rate_class: str) -> tuple[list[str], list[int]]:
        keys: list[str] = []
        args: list[int] = []
        own = self.limits.get(rate_class)
        if own is not None:
            keys.append(limiter_keys(self.prefix, self.tenant, rate_class))
            args += [own.requests, _window_us(own, self.safety)]
        if self.global_limit is not None and rate_class not in self.exempt:
            keys.append(limiter_keys(self.prefix, self.tenant, "global"))
            args += [self.global_limit.requests, _window_us(self.global_limit, self.safety)]
        return keys, args

    def _pause_key(self, rate_class: str) -> str:
        return f"{self.prefix}lim:{self.tenant}:{rate_class}:pause"

    def wait_time(self, rate_class: str) -> float:
        """Seconds the last refusal of ``rate_class`` still holds (no round trip; 0.0 = ask)."""
        left = self._not_before.get(rate_class, 0.0) - self._clock()
        return left if left > 0 else 0.0

    def try_admit(self, rate_class: str) -> float:
        """Admit one request of ``rate_class`` into its class and the global log, or neither.

        Returns 0.0 when admitted (the place is held until :meth:`complete`), else the seconds to wait.
        """
        import redis

        keys, args = self._plan(rate_class)
        member = f"{self._me}:{next(self._ids)}"
        try:
            wait_us = int(self._admit(keys=[*keys, self._pause_key(rate_class)],
                                      args=[member, self.lease_us, len(keys), *args]))
        except redis.RedisError:
            wait_us = int(_REDIS_DOWN_WAIT * 1e6)  # no answer, no admission: ask again soon
        if wait_us > 0:
            wait = wait_us / 1e6
            self._not_before[rate_class] = self._clock() + wait
            return wait
        self._held[rate_class].append((member, keys))
        return 0.0

    def try_acquire(self, rate_class: str) -> float:
        """Admit and count one request at once (its answer is taken to be now)."""
        wait = self.try_admit(rate_class)
        if wait == 0.0:
            self.complete(rate_class)
        return wait

    def complete(self, rate_class: str) -> None:
        """The answer of a request of ``rate_class`` came back: it counts from the server's now."""
        held = self._held.get(rate_class)
        if not held:
            return
        # Every unanswered request of a class holds the same kind of place: re-scoring the oldest is exact.
        import redis

        member, keys = held.popleft()
        if keys:
            try:
                self._complete(keys=keys, args=[member])
            except redis.RedisError:
                pass  # the place stays held until its lease ends: later, never earlier

    def pause(self, rate_class: str, seconds: float) -> None:
        """Hold back ``rate_class`` on every worker for ``seconds`` (Optimove answered 429)."""
        import redis

        if seconds > 0:
            try:
                self._pause(keys=[self._pause_key(rate_class)], args=[math.ceil(seconds * 1000)])
            except redis.RedisError:
                pass  # this worker pauses all the same (below); the others learn from their own 429s
            self._not_before[rate_class] = max(self._not_before.get(rate_class, 0.0), self._clock() + seconds)

    @property
    def in_flight(self) -> int:
        """Requests this process admitted whose answer is not in yet."""
        return sum(len(q) for q in self._held.values())


def headroom(client: Any, *, prefix: str, tenant: object, classes: Mapping[str, Limit | None],
             global_limit: Limit | None, safety: float = DEFAULT_SAFETY) -> list[dict[str, Any]]:
    """Used and free places per class right now, read from the logs (for ``cluster status``)."""
    sec, usec = client.time()
    now = sec * 1_000_000 + usec
    out = []
    named = [(c, lim) for c, lim in classes.items() if lim is not None]
    if global_limit is not None:
        named.append(("global", global_limit))
    for name, lim in named:
        window = _window_us(lim, safety)
        used = int(client.zcount(limiter_keys(prefix, tenant, name), f"({now - window}", "+inf"))
        in_flight = int(client.zcount(limiter_keys(prefix, tenant, name), f"({now}", "+inf"))
        out.append({"class": name, "used": used, "in_flight": in_flight, "limit": lim.requests,
                    "window_seconds": lim.per_seconds, "headroom": max(0, lim.requests - used)})
    return out
