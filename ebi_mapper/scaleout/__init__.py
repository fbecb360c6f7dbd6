"""Scale-out through Redis: several workers on several hosts share Optimove's limits, keep per-PK
order and lose nothing when one dies (issue #13; docs/scale-out.md).

* :mod:`.limiter`: the exact sliding-log rate limiter every worker shares.
"""

from __future__ import annotations

from .limiter import RedisRateLimiter

__all__ = ["RedisRateLimiter"]
