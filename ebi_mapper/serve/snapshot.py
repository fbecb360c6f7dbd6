"""The status snapshot (``GET /status.json``, rendered by status_page.py): what came in and went
out per minute and per hour, rejections and dead letters by reason with an example, backlog, lag,
429s and limiter headroom. The contract is /work/brief/status-snapshot.md, kept in docs/serve.md.

The per-minute timeline lives in ``intake.sqlite`` (table ``timeline``, 25 h kept), so a restart
keeps the charts. Examples are redacted (ebi_mapper.secrets when present) and cut at 300
characters. Proof: tests/serve/test_e2e.py::test_accepts_delivers_and_reads_beside.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..secrets import redact

__all__ = ["snapshot", "buckets"]

_EXAMPLE_MAX = 300


def _redact(text: str) -> str:
    return redact(text)[:_EXAMPLE_MAX]


def buckets(rows: Iterable[tuple[int, str, str, int]], now: float, size: int, count: int) -> dict[str, Any]:
    """Fold ``(minute, series, key, n)`` rows into ``count`` buckets of ``size`` seconds ending now."""
    end = int(now // size) * size
    starts = [end - size * (count - 1 - i) for i in range(count)]
    first = starts[0]
    out: dict[str, Any] = {"bucket_seconds": size, "starts": starts, "received": {}, "refused": {}, "delivered": {},
                           "rejected": [0] * count, "dead_lettered": [0] * count}
    for minute, series, key, n in rows:
        if minute < first:
            continue
        i = min(count - 1, (minute - first) // size)
        if series in ("received", "refused", "delivered"):
            out[series].setdefault(key, [0] * count)[i] += n
        elif series in ("rejected", "dead_lettered"):
            out[series][i] += n
    return out


def _mapping(sm: Any, now: float) -> dict[str, Any]:
    rows = sm.intake.timeline(now - 25 * 3600) if sm.intake is not None else []
    figures = sm.figures()
    groups = []
    for kinds, key in ((("mapping", "malformed", "intake", "internal"), "code"), (("sink",), "reason")):
        for g in sm.dead_letter_groups(kinds):
            ex = g["example"]
            if ex is not None:
                ex = {"source": _redact(str(ex["source"])), "message": _redact(ex["message"]), "at": ex["at"]}
            groups.append((key, {key: _redact(str(g["code"])), "count": g["count"], "example": ex}))
    oldest = sm.intake.oldest_waiting() if sm.intake is not None else None
    limiter = []
    loop = sm.delivery.loop if sm.delivery is not None else None
    if loop is not None:
        lims = [(c, lim) for c, lim in loop.limiter.classes.items()]
        if loop.limiter.global_limiter is not None:
            lims.append(("global", loop.limiter.global_limiter))
        for cls, lim in lims:
            if getattr(lim, "limit", None) is None:
                continue
            try:
                used = int(lim.sent_in_window)
            except RuntimeError:  # the loop's thread changed it while we counted
                used = 0
            limiter.append({"class": cls, "used": used, "limit": lim.limit.requests, "window_seconds": lim.limit.per_seconds})
    throttled = sum(n for _, series, _, n in rows if series == "throttled")
    return {
        "client": sm.client,
        "tenant": sm.tenant,
        "sources": [{"name": s.name, "path": s.path, "scheme": s.scheme} for s in sm.config.sources],
        "minutes": buckets(rows, now, 60, 60),
        "hours": buckets(rows, now, 3600, 24),
        "rejections": [g for k, g in groups if k == "code"],
        "dead_letters": [g for k, g in groups if k == "reason"],
        "backlog": {"intake_records": figures["backlog"]["intake_records"], "outbox_events": figures["backlog"]["outbox_events"],
                    "oldest_waiting_seconds": 0.0 if oldest is None else round(max(0.0, now - oldest), 3)},
        "lag_seconds": sm.observer.lag() if sm.observer is not None else {"p50": None, "p99": None},
        "optimove": {"throttled_429": throttled, "limiter": limiter},
    }


def snapshot(served: list[Any], *, started_at: float, version: str, now: float | None = None) -> dict[str, Any]:
    """The status snapshot of every served mapping."""
    now = time.time() if now is None else now
    return {"generated_at": now, "started_at": started_at, "version": version,
            "mappings": [_mapping(sm, now) for sm in served]}
