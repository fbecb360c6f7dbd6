"""``ebi-mapper map MAPPING [INPUT|-]``: stream JSON lines through a mapping, no delivery.

Events go to ``--out`` (default stdout) as JSON lines; every rejected record goes to
``--rejects`` with its reasons and original payload; the counts go to stderr and add up.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from functools import partial
from typing import Any

import click

from ..app import load_mapper
from ..engine.jsonl.accounting import MapCounts
from ..engine.jsonl.lines import iter_line_batches
from ..engine.jsonl.parallel import auto_workers, map_in_workers, map_lines, resolve_workers
from ..engine.profiles import EventLines
from .exits import EXIT_FINDINGS, EXIT_OK
from .plugin_args import disabled
from .progress import CountingReader, StatusLine, describe
from .report import echo_json, render_counts

__all__ = ["command"]


def _no_progress() -> None:
    """The progress tick off a terminal: nothing to show."""


def _map_stream(mapper: Any, src: Any, name: str, counts: MapCounts, write: Callable, write_rejects: Callable | None, write_bespoke: Callable | None, fixed_now: datetime | None, tick: Callable[[], None] = lambda: None) -> None:
    """Read the input in big chunks, map each chunk's lines, write each chunk's output at once.

    The output (events, rejects, bespoke rows, counts) is what mapping line by line with
    ``iter_jsonl`` and ``Mapper.map_record`` gives; tests/engine/test_fast_path_cli.py checks it.
    """
    want_rejects, want_bespoke = write_rejects is not None, write_bespoke is not None
    for lines in iter_line_batches(src):
        out, bad, rows = map_lines(mapper, lines, name, counts, fixed_now, rejects=want_rejects, bespoke=want_bespoke)
        if out:
            write(out)
        if bad and write_rejects is not None:  # map_lines gives rejects only when asked
            write_rejects(bad)
        if rows and write_bespoke is not None:
            write_bespoke(rows)
        tick()


def _map_stream_workers(make_mapper: Callable[[], Any], workers: int, src: Any, name: str, counts: MapCounts, write: Callable, write_rejects: Callable | None, write_bespoke: Callable | None, fixed_now: datetime | None, tick: Callable[[], None] = lambda: None) -> None:
    """As :func:`_map_stream`, the mapping done by ``workers`` processes; written in input order."""
    results = map_in_workers(iter_line_batches(src), make_mapper, workers, name, fixed_now, rejects=write_rejects is not None, bespoke=write_bespoke is not None)
    for result in results:
        counts.merge(result.counts)
        if result.events:
            write(result.events)
        if result.rejects and write_rejects is not None:  # workers give rejects only when asked
            write_rejects(result.rejects)
        if result.bespoke and write_bespoke is not None:
            write_bespoke(result.bespoke)
        tick()


def _workers_option(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--workers``: None for ``auto`` (decided once the input is known), else a count of 0 or more."""
    if str(value).strip().lower() == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number of processes or 'auto'") from None
    if number < 0:
        raise click.BadParameter(f"{number} is negative: use 0 for one per CPU, or 'auto'")
    return number


@click.command("map")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False))
@click.argument("input", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--out", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Events as JSON lines (default: stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False), help="Rejected records (reasons + original payload) as JSON lines.")
@click.option("--bespoke-out", type=click.Path(dir_okay=False), help="Bespoke attribute rows as JSON lines.")
@click.option("--summary", type=click.Choice(["text", "json", "none"]), default="text", show_default=True)
@click.option("--now", help="The run clock for the future-skew guard (UTC timestamp; default: the real clock).")
@click.option(
    "--workers",
    callback=_workers_option,
    default="auto",
    show_default=True,
    metavar="N|auto",
    help="Processes mapping in parallel: N, 0 for one per CPU, or auto (one per CPU for a file of 32 MiB or more, else 1). The output is the same for any number.",
)
def command(mapping: str, input: str, out: str, rejects: str | None, bespoke_out: str | None, summary: str, now: str | None, workers: int | None) -> int:
    """Map JSON lines to OOTB events and report what happened to every line."""
    disabled_names = disabled()
    mapper = load_mapper(mapping, disable=disabled_names)
    # Everything built so far (mapping, catalog, schemas, generated code) lives for the whole run:
    # move it out of the cyclic GC's sight so its collections scan only the per-record garbage.
    gc.collect()
    gc.freeze()
    processes = auto_workers(input) if workers is None else resolve_workers(workers)
    counts = MapCounts()
    fixed_now = None
    if now:
        from ..mapping.loader import parse_utc_timestamp

        fixed_now = parse_utc_timestamp(now)
        if fixed_now is None:
            raise click.BadParameter(f"{now!r} is not a UTC timestamp", param_hint="--now")
    started = time.perf_counter()
    with ExitStack() as stack:
        src = sys.stdin.buffer if input == "-" else stack.enter_context(open(input, "rb"))
        tick: Callable[[], None] = _no_progress
        if sys.stderr.isatty():  # progress on a terminal only; never mixed into a log or a pipe
            src = CountingReader(src)
            total = None if input == "-" else os.path.getsize(input)
            line = StatusLine(sys.stderr)
            stack.callback(line.close)

            def tick() -> None:
                spent = max(time.perf_counter() - started, 1e-9)
                eta = None if not total else (total - src.bytes) / max(src.bytes / spent, 1e-9)
                line.show(describe(counts.records, counts.records / spent, src.bytes, total, eta))
        dst = sys.stdout.buffer if out == "-" else stack.enter_context(open(out, "wb"))
        rej = stack.enter_context(open(rejects, "wb")) if rejects else None
        bes = stack.enter_context(open(bespoke_out, "wb")) if bespoke_out else None
        name = "<stdin>" if input == "-" else input
        merge = EventLines(mapper)  # profile events merged with earlier records of the input (profiles.py)
        write = (lambda blob: dst.write(merge(blob))) if merge else dst.write
        sinks = (write, rej.write if rej else None, bes.write if bes else None)
        if processes > 1:
            _map_stream_workers(partial(load_mapper, mapping, disable=disabled_names), processes, src, name, counts, *sinks, fixed_now, tick)
        else:
            _map_stream(mapper, src, name, counts, *sinks, fixed_now, tick)
    elapsed = time.perf_counter() - started
    counts.partial_profiles = merge.partial
    data = counts.to_dict()
    data["seconds"] = round(elapsed, 3)
    data["records_per_second"] = round(counts.records / elapsed) if elapsed > 0 else None
    data["workers"] = processes
    if summary == "json":
        echo_json(data, err=True)
    elif summary == "text":
        click.echo(render_counts(data, extra={"time": f"{elapsed:.2f} s ({data['records_per_second'] or 0:,} records/s, {processes} process{'es' if processes > 1 else ''})"}), err=True)
    return EXIT_FINDINGS if counts.outcomes["rejected"] else EXIT_OK
