"""``ebi-mapper map MAPPING [INPUT|-]``: stream JSON lines through a mapping, no delivery.

Events go to ``--out`` (default stdout) as JSON lines; every rejected record goes to
``--rejects`` with its reasons and original payload; the counts go to stderr and add up.
"""

from __future__ import annotations

import gc
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any, Callable

import click
import orjson

from ..engine import compile_mapping
from ..engine.accounting import MapCounts
from ..engine.decode import MAX_DEPTH, MAX_LINE_BYTES, decode_line
from ..engine.lines import KEEP_BYTES, Oversized, iter_line_batches
from ..mapping import load_mapping
from ..outcomes import Rejection
from .exits import EXIT_FINDINGS, EXIT_OK
from .report import echo_json, render_counts

__all__ = ["command"]

_BATCH_LINES = 128  # lines mapped per batch: measured best (cache-friendly, memory flat); 2048 was 15% slower
_DUMP_OPTIONS = orjson.OPT_APPEND_NEWLINE


def _dump(obj: Any) -> bytes:
    """One JSON line, byte for byte what ``report.dumps_line`` writes."""
    return orjson.dumps(obj, default=str, option=_DUMP_OPTIONS)


def _map_stream(mapper: Any, src: Any, name: str, counts: MapCounts, write: Callable, write_rejects: Callable | None, write_bespoke: Callable | None, fixed_now: datetime | None) -> None:
    """Read the input in big chunks, map each batch of lines, write each batch's output at once.

    The output (events, rejects, bespoke rows, counts) is what mapping line by line with
    ``iter_jsonl`` and ``Mapper.map_record`` gives; tests/engine/test_fast_path_cli.py checks it.
    """
    run = mapper.map_many
    dumps, loads, JSONDecodeError = orjson.dumps, orjson.loads, orjson.JSONDecodeError
    now = fixed_now
    for lines in iter_line_batches(src):
        for start in range(0, len(lines), _BATCH_LINES):
            part = lines[start : start + _BATCH_LINES]
            if fixed_now is None:  # the skew guard needs seconds, not microseconds: once per batch
                now = datetime.now(timezone.utc)
            payloads, sources, slots = [], [], []
            out: list[bytes] = []
            bad: list[bytes] = []
            for line_no, data in part:
                where = f"{name}:{line_no}"
                if type(data) is Oversized:
                    rejection = Rejection("too_large", f"line is {data.total:,} bytes; the limit is {MAX_LINE_BYTES:,}", source=where)
                    raw = data.kept
                else:
                    # decode_line's own steps, its call saved for the lines it would pass as they are.
                    try:
                        payload = loads(data)
                    except JSONDecodeError:
                        payload = None
                    if payload is not None and data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
                        rejection = None
                    else:
                        payload, rejection = decode_line(data, source=where)
                    if rejection is None:
                        payloads.append(payload)
                        sources.append(where)
                        slots.append(None)
                        continue
                    raw = data[:KEEP_BYTES]
                # Undecodable lines keep their place in the output order.
                slots.append((rejection, raw))
            results = iter(run(payloads, now=now, sources=sources))
            decoded = iter(zip(payloads, sources))
            for slot in slots:
                if slot is not None:
                    rejection, raw = slot
                    counts.add_undecodable(rejection)
                    if write_rejects is not None:
                        bad.append(_dump({"source": rejection.source, "rejections": [rejection.to_dict()], "raw": raw.decode("utf-8", "replace")}))
                    continue
                result = next(results)
                payload, where = next(decoded)
                counts.add(result)
                for event in result.events:
                    out.append(dumps(event.to_dict(), default=str, option=_DUMP_OPTIONS))
                if result.rejections and write_rejects is not None:
                    bad.append(_dump({"source": where, "rejections": [r.to_dict() for r in result.rejections], "payload": payload}))
                if result.bespoke and write_bespoke is not None:
                    write_bespoke(b"".join(_dump(row.to_dict()) for row in result.bespoke))
            if out:
                write(b"".join(out))
            if bad:
                write_rejects(b"".join(bad))


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
    # Everything built so far (mapping, catalog, schemas, generated code) lives for the whole run:
    # move it out of the cyclic GC's sight so its collections scan only the per-record garbage.
    gc.collect()
    gc.freeze()
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
        _map_stream(mapper, src, name, counts, dst.write, rej.write if rej else None, bes.write if bes else None, fixed_now)
    elapsed = time.perf_counter() - started
    data = counts.to_dict()
    data["seconds"] = round(elapsed, 3)
    data["records_per_second"] = round(counts.records / elapsed) if elapsed > 0 else None
    if summary == "json":
        echo_json(data, err=True)
    elif summary == "text":
        click.echo(render_counts(data, extra={"time": f"{elapsed:.2f} s ({data['records_per_second'] or 0:,} records/s)"}), err=True)
    return EXIT_FINDINGS if counts.outcomes["rejected"] else EXIT_OK
