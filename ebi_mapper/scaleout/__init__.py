"""Scale-out through Redis: several workers on several hosts share Optimove's limits, keep per-PK
order and lose nothing when one dies (issue #13; docs/scale-out.md says how, and which test proves it).

* :mod:`.limiter`: the exact sliding-log rate limiter every worker shares (Lua, the server's clock).
* :mod:`.queue`: the partitioned streams, their fixed partition count, the producer (``enqueue``).
* :mod:`.leases`: heartbeats, partition leases with fencing tokens, the fenced settle (XACK).
* :mod:`.partition`: one held partition delivered by a DeliveryLoop, acknowledged once settled.
* :mod:`.worker`: the coordinator of ``ebi-mapper worker`` (fair share, rebalancing, draining).
* :mod:`.status`: ``cluster status`` and ``dlq list --queue``.
"""

from __future__ import annotations

from .limiter import RedisRateLimiter
from .queue import Producer

__all__ = ["Producer", "RedisRateLimiter"]
