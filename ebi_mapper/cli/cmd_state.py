"""``ebi-mapper state stats|compact [MAPPING] [--state-dir DIR]``: how big the delivery state is, and shrinking it.

The state is found as ``dlq list`` finds it (MAPPING implies its state dir, ``--state-dir`` wins).

``stats`` shows the file's size, the rows per table, the retention windows the last run used and
the oldest and newest entries; ``compact`` applies those windows in full and gives the freed space
back to the file system (``VACUUM``). Exit codes: 0; 2 without MAPPING or ``--state-dir``; 3 when
the state dir is in use or unusable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from .exits import EXIT_OK
from .state_args import optional_mapping_argument, state_dir_for, state_dir_option

__all__ = ["command", "render_stats"]


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _window(seconds: float | None) -> str:
    if seconds is None:
        return "kept for ever"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def render_stats(stats: dict[str, Any]) -> str:
    """The text form of :func:`~ebi_mapper.delivery.retention.state_stats`."""
    r = stats["retention"]
    rows = stats["rows"]
    lines = [
        f"state:      {stats['path']}",
        f"size:       {_mb(stats['file_bytes'])} file + {_mb(stats['wal_bytes'])} write-ahead log "
        f"({_mb(stats['free_bytes'])} free inside; auto_vacuum {stats['auto_vacuum']})",
        "rows:       " + ", ".join(f"{name} {count:,}" for name, count in rows.items()),
        f"retention:  dedup {_window(r['dedup'])} of feed time by last sight; dead letters {_window(r['dead_letters'])}; "
        f"runs {_window(r['runs'])}",
        f"feed clock: {_when(stats['feed_clock'])} (latest event time committed); dedup entries last seen before "
        f"{_when(stats['dedup_horizon'])} expire",
        f"dedup:      last seen {_when(stats['dedup_last_seen']['oldest'])} .. {_when(stats['dedup_last_seen']['newest'])}; "
        f"PKs keyed {'by time, then hash' if stats['pk_keys'] == 'ordered' else 'by hash (a file from before ordered keys)'}",
        f"dlq:        created {_when(stats['dead_letters_created']['oldest'])} .. {_when(stats['dead_letters_created']['newest'])}",
        f"runs:       started {_when(stats['runs_started']['oldest'])} .. {_when(stats['runs_started']['newest'])}",
    ]
    return "\n".join(lines)


@click.group(name="state")
def command() -> None:
    """The delivery state: its size and contents, and compaction."""


@command.command(name="stats")
@optional_mapping_argument()
@state_dir_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def stats_cmd(mapping: Path | None, state_dir: Path | None, fmt: str) -> int:
    """File size, rows per table, the retention windows, oldest and newest entries."""
    from ..delivery.retention import state_stats
    from ..delivery.state import open_state

    with open_state(state_dir_for(mapping, state_dir), create=False, shared=True) as state:
        stats = state_stats(state)
    click.echo(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode() if fmt == "json" else render_stats(stats))
    return EXIT_OK


@command.command(name="compact")
@optional_mapping_argument()
@state_dir_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def compact_cmd(mapping: Path | None, state_dir: Path | None, fmt: str) -> int:
    """Expire everything past the retention windows, then rewrite the file to its live size (VACUUM)."""
    import time

    from ..delivery.retention import compact, expire_dedup, expire_history, file_bytes, load_retention
    from ..delivery.state import open_state

    state_dir = state_dir_for(mapping, state_dir)
    before = file_bytes(state_dir)
    with open_state(state_dir, create=False) as state:
        retention = load_retention(state)
        with state.transaction():
            gone = {"dedup": expire_dedup(state, retention, limit=None), **expire_history(state, retention, time.time())}
        compact(state, full=True)
    after = file_bytes(state_dir)
    if fmt == "json":
        click.echo(orjson.dumps({"expired": gone, "bytes_before": before, "bytes_after": after}, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"expired: {gone['dedup']:,} dedup entries, {gone['dead_letters']:,} dead letters, {gone['runs']:,} runs, "
                   f"{gone['inputs']:,} finished inputs")
        click.echo(f"size:    {_mb(before)} -> {_mb(after)}")
    return EXIT_OK
