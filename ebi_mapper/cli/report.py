"""Reporters: turn results into text or JSON. The library never prints; commands call these."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["echo_json", "render_counts", "dumps_line"]


def dumps_line(obj: Any) -> bytes:
    """One JSON line (orjson: fast, UTF-8, no NaN)."""
    import orjson

    return orjson.dumps(obj, default=str) + b"\n"


def echo_json(obj: Any, *, err: bool = False) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str), err=err)


def render_counts(counts: dict[str, Any], *, title: str = "summary", extra: dict[str, Any] | None = None) -> str:
    """A short, aligned text summary whose numbers add up to the input."""
    lines = [f"{title}:"]
    total = counts["records"]
    lines.append(
        f"  records   {total:>10,} = {counts['mapped']:,} mapped + {counts['rejected']:,} rejected + {counts['filtered']:,} filtered"
        + ("" if counts.get("balanced", True) else "   (DOES NOT ADD UP: report a bug)")
    )
    lines.append(f"  events    {counts['events_total']:>10,}")
    for name, n in counts["events"].items():
        lines.append(f"    {name:<32}{n:>10,}")
    if counts["rejections_by_code"]:
        lines.append("  rejections by reason")
        for name, n in counts["rejections_by_code"].items():
            lines.append(f"    {name:<32}{n:>10,}")
    if counts["filtered_by_reason"]:
        lines.append("  filtered by reason")
        for name, n in counts["filtered_by_reason"].items():
            lines.append(f"    {name:<32}{n:>10,}")
    if counts.get("bespoke_rows"):
        lines.append(f"  bespoke rows {counts['bespoke_rows']:>7,}")
    if counts.get("nulls_dropped"):
        lines.append(f"  nulls dropped {counts['nulls_dropped']:>6,}")
    dst = counts.get("dst_resolved") or {}
    if any(dst.values()):  # local times in a DST gap or overlap, settled by the mapping's dst policy
        lines.append(f"  dst resolved  {dst.get('gap', 0):,} gap, {dst.get('overlap', 0):,} overlap (local times settled by the dst policy)")
    for key, value in (extra or {}).items():
        lines.append(f"  {key:<10}{value}")
    return "\n".join(lines)
