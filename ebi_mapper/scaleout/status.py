"""What the whole cluster looks like, read from Redis: for ``cluster status`` and ``dlq list --queue``.

Backlog per partition (entries not yet delivered to a worker, plus those delivered and not yet
acknowledged), the holder of each partition's lease, the workers alive (last heartbeat), the
record counters every worker adds to at its XACKs (so they count each record once, whoever
settled it), and the limiter's headroom per class (tests/scaleout/test_scaleout_cli.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from .leases import Leases
from .limiter import headroom
from .queue import GROUP, Keys

__all__ = ["cluster_status", "dead_letters"]


def cluster_status(client: Any, keys: Keys, *, tenant: object, plan: Any, lease_ttl: float = 5.0) -> dict[str, Any]:
    """The cluster's state as one JSON-ready dict."""
    partitions = int(client.hget(keys.meta, "partitions") or 0)
    sec, usec = client.time()
    now_ms = sec * 1000 + usec // 1000
    workers = [{"worker": w.decode(), "last_heartbeat_seconds_ago": round((now_ms - score) / 1000, 3),
                "alive": now_ms - score <= lease_ttl * 1000}
               for w, score in client.zrange(keys.workers, 0, -1, withscores=True)]
    leases = Leases(client, keys, "status")
    rows = []
    for p in range(partitions):
        stream = keys.stream(p)
        length = client.xlen(stream)
        pending = client.xpending(stream, GROUP)["pending"] if length or client.exists(stream) else 0
        lag = None
        for g in client.xinfo_groups(stream) if client.exists(stream) else ():
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == GROUP:
                lag = g.get("lag")
        owner = leases.owner(p)
        rows.append({"partition": p, "waiting": lag, "pending": pending, "length": length,
                     "owner": owner.rsplit("/", 1)[0] if owner else None})
    counts = {k.decode(): int(v) for k, v in client.hgetall(keys.counts).items()}
    enqueued = counts.pop("enqueued", 0)
    settled = sum(counts.values())
    return {
        "prefix": keys.prefix, "partitions": partitions, "workers": workers,
        "workers_alive": sum(1 for w in workers if w["alive"]),
        "backlog": {"waiting": sum(r["waiting"] or 0 for r in rows), "pending": sum(r["pending"] for r in rows)},
        "per_partition": rows, "records": counts, "dead_letters": int(client.hlen(keys.dlq)),
        # Every record enqueued is settled (by outcome, counted once at its XACK) or still open.
        "accounting": {"enqueued": enqueued, "settled": settled, "open": enqueued - settled},
        "limiter": headroom(client, prefix=keys.prefix, tenant=tenant, classes=plan.limits, global_limit=plan.global_limit),
    }


def dead_letters(client: Any, keys: Keys, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Every worker's dead letters, oldest first."""
    letters = [orjson.loads(v) for _, v in client.hscan_iter(keys.dlq, count=1000)]
    letters.sort(key=lambda d: (d.get("created_at") or 0, d.get("source") or ""))
    return letters[:limit] if limit is not None else letters


def render_status(status: dict[str, Any]) -> str:
    """The text form of :func:`cluster_status`."""
    lines = [(f"cluster {status['prefix']}: {status['partitions']} partitions, {status['workers_alive']} worker(s) alive; "
              f"backlog {status['backlog']['waiting']} waiting + {status['backlog']['pending']} being processed; "
              f"{status['dead_letters']} dead letter(s)")]
    for w in status["workers"]:
        lines.append(f"  worker {w['worker']}: last heartbeat {w['last_heartbeat_seconds_ago']:.1f}s ago"
                     + ("" if w["alive"] else " (gone)"))
    for r in status["per_partition"]:
        lines.append(f"  partition {r['partition']:>3}: waiting {r['waiting']}, pending {r['pending']}, "
                     f"owner {r['owner'] or '-'}")
    acc = status["accounting"]
    lines.append(f"  records: {acc['enqueued']:,} enqueued = {acc['settled']:,} settled + {acc['open']:,} open"
                 + (" (" + ", ".join(f"{k.removeprefix('records_')} {v:,}" for k, v in sorted(status["records"].items())) + ")"
                    if status["records"] else ""))
    for lim in status["limiter"]:
        lines.append(f"  limiter {lim['class']}: {lim['used']}/{lim['limit']} per {lim['window_seconds']:g}s used "
                     f"({lim['in_flight']} in flight), headroom {lim['headroom']}")
    return "\n".join(lines)
