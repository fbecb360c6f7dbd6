"""Who processes which partition: heartbeats, leases with fencing tokens, and the fenced settle.

A partition is processed by one worker at a time, so the versions of a PK go out in order. A
worker *claims* a free partition with a lease (a key with a time to live, set only if absent) and
a fencing token (a counter raised at every claim); it renews its leases every second; a worker that
dies stops renewing and its partitions are free after ``ttl``. Everything a worker writes for a
partition's records, the dedup entries, the dead letters, the counters and the XACKs, goes through
one Lua script (:data:`_SETTLE`) that first checks the lease still holds *its* token: a worker that
lost its lease (paused, cut off) can no longer acknowledge anything, and the new owner re-processes
those entries (tests/scaleout/test_scaleout_worker.py::test_lease_takeover_fences_the_old_owner).

Fair share: each worker aims at ``ceil(P / live workers)`` partitions, where live = a heartbeat in
the last ``ttl`` seconds; it gives back (after draining) what is above its share and claims free
partitions below it.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Leases", "fair_share"]

_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '/' .. token, 'PX', ARGV[2])
return token
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""

# KEYS: lease, stream, dedup hash, dedup sight zset, counts hash, dlq hash, first-outcomes hash.
# ARGV: lease value, group, n, n × (entry id, outcome) to acknowledge, m, m × (pk, entry, seen),
#       k, k × (field, letter), f, f × (entry id, outcome) settled now.
# Returns the number of entries acknowledged now, or -1 when the lease is not ours any more.
# An entry settled before an earlier one is acknowledged later (partition.py AckOrder); its first
# outcome is kept meanwhile (HSETNX), so a new owner that processes it again (and finds it a
# duplicate of what it delivered) still counts it as what it was: each record counted once, as itself.
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local i = 3
local n = tonumber(ARGV[i]); i = i + 1
local ids, outcomes = {}, {}
for j = 1, n do ids[j] = ARGV[i]; outcomes[j] = ARGV[i + 1]; i = i + 2 end
local m = tonumber(ARGV[i]); i = i + 1
for j = 1, m do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[4], ARGV[i + 2], ARGV[i])
  i = i + 3
end
local k = tonumber(ARGV[i]); i = i + 1
for j = 1, k do redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1]); i = i + 2 end
local f = tonumber(ARGV[i] or '0'); i = i + 1
for j = 1, f do redis.call('HSETNX', KEYS[7], ARGV[i], ARGV[i + 1]); i = i + 2 end
local acked = 0
for j = 1, n do
  if redis.call('XACK', KEYS[2], ARGV[2], ids[j]) == 1 then
    acked = acked + 1
    local first = redis.call('HGET', KEYS[7], ids[j])
    redis.call('HINCRBY', KEYS[5], first or outcomes[j], 1)
  end
  redis.call('HDEL', KEYS[7], ids[j])
end
return acked
"""


def fair_share(partitions: int, live_workers: int) -> int:
    """How many partitions one worker should own."""
    return math.ceil(partitions / max(1, live_workers))


class Leases:
    """The lease operations of one worker (``me``) on a cluster's keys."""

    def __init__(self, client: Any, keys: Any, me: str, *, ttl: float = 5.0):
        self.client = client
        self.keys = keys
        self.me = me
        self.ttl_ms = int(ttl * 1000)
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._settle = client.register_script(_SETTLE)

    def heartbeat(self) -> list[str]:
        """Say this worker is alive; return the workers alive now (heartbeat within the lease ttl)."""
        sec, usec = self.client.time()
        now_ms = sec * 1000 + usec // 1000
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.keys.workers, {self.me: now_ms})
        pipe.zremrangebyscore(self.keys.workers, "-inf", now_ms - 60_000)  # long gone
        pipe.zrangebyscore(self.keys.workers, now_ms - self.ttl_ms, "+inf")
        return [w.decode() for w in pipe.execute()[2]]

    def leave(self) -> None:
        """This worker stops: the others stop counting it at once."""
        self.client.zrem(self.keys.workers, self.me)

    def claim(self, p: int) -> str | None:
        """Take partition ``p`` if free: the lease value (``me/token``), else ``None``."""
        token = int(self._claim(keys=[self.keys.lease(p), self.keys.fence(p)], args=[self.me, self.ttl_ms]))
        return f"{self.me}/{token}" if token else None

    def renew(self, p: int, value: str) -> bool:
        return bool(self._renew(keys=[self.keys.lease(p)], args=[value, self.ttl_ms]))

    def release(self, p: int, value: str) -> bool:
        return bool(self._release(keys=[self.keys.lease(p)], args=[value]))

    def owner(self, p: int) -> str | None:
        value = self.client.get(self.keys.lease(p))
        return value.decode() if value is not None else None

    def settle(self, p: int, value: str, group: str, entries: list[tuple[str, str]],
               dedup: list[tuple[str, bytes, float]], letters: list[tuple[str, bytes]],
               first: list[tuple[str, str]] | None = None) -> int:
        """Fenced: write dedup entries and dead letters, then XACK ``(entry id, outcome)`` and count each once.

        ``first`` are the entries whose outcome became durable now (acknowledged now or later):
        an entry is counted by its first outcome, whoever acknowledges it.
        Returns how many entries were acknowledged now, or -1 when the lease is not ``value`` any more.
        """
        k = self.keys
        args: list[Any] = [value, group, len(entries)]
        for entry_id, outcome in entries:
            args += [entry_id, outcome]
        args.append(len(dedup))
        for pk, entry, seen in dedup:
            args += [pk, entry, seen]
        args.append(len(letters))
        for fld, letter in letters:
            args += [fld, letter]
        args.append(len(first or ()))
        for entry_id, outcome in first or ():
            args += [entry_id, outcome]
        return int(self._settle(keys=[k.lease(p), k.stream(p), k.dedup(p), k.dedup_seen(p), k.counts, k.dlq,
                                      k.first_outcomes(p)], args=args))
