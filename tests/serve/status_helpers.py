"""Status snapshots for the status-page tests: realistic, seeded, with an XSS payload in the data."""

from __future__ import annotations

import random
from typing import Any

XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
NOW = 1_765_000_000.0


def _series(rng: random.Random, n: int, scale: int, zero_share: float = 0.1) -> list[int]:
    return [0 if rng.random() < zero_share else rng.randint(0, scale) for _ in range(n)]


def timeline(rng: random.Random, *, bucket: int, n: int, now: float, scale: int) -> dict[str, Any]:
    first = int(now // bucket) * bucket - (n - 1) * bucket
    return {
        "bucket_seconds": bucket,
        "starts": [first + i * bucket for i in range(n)],
        "received": {"stripe": _series(rng, n, scale), "pam": _series(rng, n, scale * 2)},
        "refused": {"bad_signature": _series(rng, n, 2, 0.7), "too_large": _series(rng, n, 1, 0.9)},
        "delivered": {"ootb_deposit": _series(rng, n, scale), "ootb_user_details_update": _series(rng, n, scale // 2),
                      "ootb_login": _series(rng, n, scale * 2)},
        "rejected": _series(rng, n, 3, 0.6),
        "dead_lettered": _series(rng, n, 1, 0.9),
    }


def make_snapshot(*, seed: int = 1, now: float = NOW, xss: bool = True) -> dict[str, Any]:
    """Two mappings; the first one's examples carry ``XSS`` and a long message."""
    rng = random.Random(seed)
    acme = {
        "client": "acme-casino", "tenant": 567,
        "sources": [{"name": "stripe", "path": "/in/acme-casino/stripe", "scheme": "stripe"},
                    {"name": "pam", "path": "/in/acme-casino/pam", "scheme": "hmac_sha256"}],
        "minutes": timeline(rng, bucket=60, n=60, now=now, scale=40),
        "hours": timeline(rng, bucket=3600, n=24, now=now, scale=2400),
        "rejections": [
            {"code": "missing_required", "count": 12,
             "example": {"source": "stripe#1234", "message": "ootb_deposit: $.amount is required but the payload has no "
                         + ("amount " * 80), "at": now - 65}},
            {"code": "bad_type", "count": 3,
             "example": {"source": "pam#77", "message": (XSS if xss else "plain") + " is not a number", "at": now - 600}},
        ],
        "dead_letters": [
            {"reason": "sink refused: 400 invalid customer id", "count": 3,
             "example": {"source": "pam#90", "message": "HTTP 400: customer 'c-1' unknown", "at": now - 1200}},
        ],
        "backlog": {"intake_records": 7, "outbox_events": 4, "oldest_waiting_seconds": 1.2},
        "lag_seconds": {"p50": 0.8, "p99": 2.5},
        "optimove": {"throttled_429": 2, "limiter": [
            {"class": "profile", "used": 12, "limit": 50, "window_seconds": 10.0},
            {"class": "global", "used": 4000, "limit": 10000, "window_seconds": 1.0}]},
    }
    quiet = {
        "client": "betco" if not xss else XSS, "tenant": 12,
        "sources": [{"name": "default", "path": "/in/betco", "scheme": "api_key"}],
        "minutes": {"bucket_seconds": 60, "starts": acme["minutes"]["starts"], "received": {}, "refused": {},
                    "delivered": {}, "rejected": [0] * 60, "dead_lettered": [0] * 60},
        "hours": {"bucket_seconds": 3600, "starts": acme["hours"]["starts"], "received": {}, "refused": {},
                  "delivered": {}, "rejected": [], "dead_lettered": []},
        "rejections": [], "dead_letters": [],
        "backlog": {"intake_records": 0, "outbox_events": 0, "oldest_waiting_seconds": 0},
        "lag_seconds": {"p50": None, "p99": None},
        "optimove": {"throttled_429": 0, "limiter": []},
    }
    return {"generated_at": now, "started_at": now - 3 * 3600 - 125, "version": "0.1.0", "mappings": [acme, quiet]}
