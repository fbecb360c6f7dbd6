"""``ebi-mapper map MAPPING [INPUT|-]``: stream JSON lines through a mapping, no delivery.

Events go to ``--out`` (default stdout) as JSON lines; every rejected record goes to
``--rejects`` with its reasons and original payload; the counts go to stderr and add up.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone

import click

from ..engine import compile_mapping, iter_jsonl
from ..engine.accounting import MapCounts
from ..mapping import load_mapping
from .exits import EXIT_FINDINGS, EXIT_OK
from .report import dumps_line, echo_json, render_counts

__all__ = ["command"]


@click.command("map")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False))
@click.argument("input", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--out", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Events as JSON lines (default: stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False), help="Rejected records (reasons + original payload) as JSON lines.")
@click.option("--bespoke-out", type=click.Path(dir_okay=False), help="Bespoke attribute rows as JSON lines.")
@click.option("--summary", type=click.Choice(["text", "json", "none"]), default="text", show_default=True)
@click.option("--now", help="The run clock for the future-skew guard (UTC timestamp; default: the real clock).")
def command(mapping: str, input: str, out: str, rejects: str | None, bespoke_out: str | None, summary: str, now: str | None) -> int:
    """Map JSON lines to OOTB events and report what happened to every line."""
    mapper = compile_mapping(load_mapping(mapping))
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
        dst = sys.stdout.buffer if out == "-" else stack.enter_context(open(out, "wb"))
        rej = stack.enter_context(open(rejects, "wb")) if rejects else None
        bes = stack.enter_context(open(bespoke_out, "wb")) if bespoke_out else None
        name = "<stdin>" if input == "-" else input
        write = dst.write
        clock_every = 1000  # read the clock once per 1,000 records: the skew guard needs seconds, not µs
        current_now = fixed_now or datetime.now(timezone.utc)
        for line in iter_jsonl(src, name=name):
            if line.rejection is not None:
                counts.add_undecodable(line.rejection)
                if rej is not None:
                    rej.write(dumps_line({"source": line.rejection.source, "rejections": [line.rejection.to_dict()], "raw": line.raw.decode("utf-8", "replace")}))
                continue
            if fixed_now is None and counts.records % clock_every == 0:
                current_now = datetime.now(timezone.utc)
            result = mapper.map_record(line.payload, source=f"{name}:{line.line}", now=current_now)
            counts.add(result)
            for event in result.events:
                write(dumps_line(event.to_dict()))
            if result.rejections and rej is not None:
                rej.write(dumps_line({"source": f"{name}:{line.line}", "rejections": [r.to_dict() for r in result.rejections], "payload": line.payload}))
            if result.bespoke and bes is not None:
                for row in result.bespoke:
                    bes.write(dumps_line(row.to_dict()))
    elapsed = time.perf_counter() - started
    data = counts.to_dict()
    data["seconds"] = round(elapsed, 3)
    data["records_per_second"] = round(counts.records / elapsed) if elapsed > 0 else None
    if summary == "json":
        echo_json(data, err=True)
    elif summary == "text":
        click.echo(render_counts(data, extra={"time": f"{elapsed:.2f} s ({data['records_per_second'] or 0:,} records/s)"}), err=True)
    return EXIT_FINDINGS if counts.outcomes["rejected"] else EXIT_OK
