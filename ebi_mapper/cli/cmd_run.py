"""``ebi-mapper run MAPPING --input SRC``: map, deduplicate and deliver, durably and within limits.

Exit codes: 0 when every record read was delivered, filtered or a duplicate (also after
``--max-records`` stopped reading early); 1 when any record was rejected (by the mapping or,
after retries and splitting, by the sink: see ``ebi-mapper dlq list``) or events are left in the
outbox; 3 when the mapping, a sink or the state dir cannot be used; 130 (SIGINT, Ctrl-C) or 143
(SIGTERM) when stopped by a signal: reading stops, what was read is committed, the answers of
requests in flight are awaited (up to 10 s), the summary is printed, and the next run resumes.
A second signal stops at once (the state stays consistent).
"""

from __future__ import annotations

import gc
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from .exits import EXIT_FINDINGS, EXIT_OK
from .progress import format_eta

__all__ = ["command", "render_summary", "ProgressReporter"]


class ProgressReporter:
    """A live ``rich`` display on a terminal, a plain log line per interval otherwise."""

    def __init__(self, enabled: bool, *, live: bool):
        self.enabled = enabled
        self.live = live and enabled
        self._live: Any = None
        self._console: Any = None

    def __enter__(self) -> ProgressReporter:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._console = Console(stderr=True)
            self._live = Live(console=self._console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, p: Any) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            from rich.table import Table

            names = ["elapsed", "records", "records/s", "sent", "rejected", "dead-lettered", "backlog", "in flight"]
            values = [f"{p.elapsed:,.1f}s", f"{p.records_read:,}", f"{p.records_per_second:,.0f}", f"{p.sent:,}",
                      f"{p.rejected:,}", f"{p.dead_lettered:,}", f"{p.backlog:,}", str(p.in_flight)]
            if p.fraction is not None:  # the input's size is known: how far, and how long to go
                names += ["input", "ETA"]
                values += [f"{100 * p.fraction:.0f}% of {p.bytes_total / 1e6:,.1f} MB", format_eta(p.eta_seconds)]
            table = Table.grid(padding=(0, 2))
            for name in names:
                table.add_column(name)
            table.add_row(*names, style="bold")
            table.add_row(*values)
            self._live.update(table)
            return
        size = "" if p.fraction is None else f" input={100 * p.fraction:.1f}% eta={format_eta(p.eta_seconds)}"
        click.echo(f"[{time.strftime('%H:%M:%S')}] records={p.records_read} rate={p.records_per_second:.0f}/s "
                   f"sent={p.sent} rejected={p.rejected} dead_lettered={p.dead_lettered} backlog={p.backlog} "
                   f"in_flight={p.in_flight}{size}", err=True)


def render_summary(summary: Any, *, dead_letters: int) -> str:
    """The text summary: records by outcome (they add up to the input), then events."""
    r, e = summary.records, summary.events
    t = summary.totals
    lines = [
        f"input:    {summary.input_id}  ({summary.status}, {summary.elapsed:.1f}s this run)",
        f"records:  {r['read']:,} read = {r['delivered']:,} delivered + "
        + (f"{r['superseded']:,} superseded + " if r["superseded"] else "")
        + f"{r['rejected']:,} rejected + "
        f"{r['filtered']:,} filtered + {r['duplicate']:,} duplicate" + (f" + {r['stale']:,} stale" if r["stale"] else "")
        + (f" + {r['pending']:,} pending" if r["pending"] else ""),
        f"events:   {e['new'] + e['update']:,} sent-worthy ({e['new']:,} new, {e['update']:,} updates): "
        f"{e['delivered']:,} delivered, {e['dead_lettered']:,} dead-lettered, {e['superseded']:,} superseded (newer version queued, or already at the receiver); "
        f"{e['duplicate']:,} duplicates dropped, {e['filtered']:,} filtered"
        + (f", {e['stale']:,} stale (older than a version already seen)" if e["stale"] else "")
        + (f"; {e['partial']:,} partial profile updates sent (cold start)" if e["partial"] else ""),
        f"bespoke:  {t.get('bespoke_delivered', 0):,} rows delivered, {t.get('bespoke_duplicate', 0):,} duplicates, "
        f"{t.get('bespoke_dead_lettered', 0):,} dead-lettered, {t.get('bespoke_dropped', 0):,} dropped (route drop)",
        f"requests: {summary.this_run.get('requests_ok', 0):,} ok, {summary.this_run.get('requests_retry', 0):,} retried, "
        f"{summary.this_run.get('requests_throttled', 0):,} throttled (429), {summary.this_run.get('requests_rejected', 0):,} refused",
        f"mapping rejections: {t.get('rejections', 0):,}; dead letters waiting: {dead_letters:,}"
        + ("  (see `ebi-mapper dlq list`)" if dead_letters else ""),
    ]
    if t.get("dst_gap") or t.get("dst_overlap"):
        lines.append(f"dst:      {t.get('dst_gap', 0):,} gap, {t.get('dst_overlap', 0):,} overlap (local times settled by the dst policy)")
    if summary.backlog:
        lines.append(f"backlog:  {summary.backlog:,} events still in the outbox (run again to deliver them)")
    if not summary.adds_up:
        lines.append("WARNING: counts do not add up; please report this as a bug")
    return "\n".join(lines)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_on_sigterm() -> None:
    # Until the loop runs, SIGTERM ends the command like Ctrl-C (nothing has started to settle).
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (tests calling main() from a thread)
        pass


def stop_gracefully(loop: Any) -> list[int]:
    """SIGINT/SIGTERM ask ``loop`` to stop cleanly (see ``DeliveryLoop.request_stop``); a second one stops at once.

    Returns the list the signals received are appended to (its first decides the exit code).
    """
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt  # asked twice: stop now (the transaction in progress rolls back)
        received.append(signum)
        click.echo(f"{signal.Signals(signum).name}: stopping: no more input is read; waiting for the answers of "
                   "requests in flight (send it again to stop at once)", err=True)
        loop.request_stop()

    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, handler)
    except ValueError:  # not the main thread (tests calling main() from a thread)
        pass
    return received


def interrupted_exit_code(received: list[int]) -> int:
    """128 + the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(received[0]) if received else 130


def summary_to_stderr(*sinks: Any) -> bool:
    """Whether the summary must go to stderr: a sink writes to stdout (``writes_stdout``), and the summary must not mix in."""
    return any(getattr(s, "writes_stdout", False) for s in sinks if s is not None)


@click.command(name="run")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "input_spec", required=True, help="A JSON lines file, a folder of them (read in name order), or - for stdin.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where state.sqlite lives (default: delivery.state_dir, else .ebi-state/<client>).")
@click.option("--sink", default=None, help="Events sink (default: delivery.sink, else optimove).")
@click.option("--sink-option", "sink_options", multiple=True, metavar="KEY=VALUE", help="A sink option; repeatable.")
@click.option("--bespoke-option", "bespoke_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the bespoke sink (bespoke.route); repeatable.")
@click.option("--limit", "limits", multiple=True, metavar="CLASS=N/Ws", help="Override a rate limit (e.g. profile=100/10s, global=none).")
@click.option("--max-records", type=click.IntRange(min=1), default=None, help="Stop reading after N records (the next run resumes).")
@click.option("--linger-ms", type=click.IntRange(min=0), default=None, help="How long a half-full batch waits for more events.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Requests in flight at once.")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None, help="Failed sends before a batch is dead-lettered.")
@click.option("--map-process", type=click.Choice(["auto", "on", "off"]), default=None,
              help="Read and map the input in a child process, on a second core (default: delivery.map_process, else auto: with 2+ cores).")
@click.option("--progress/--no-progress", default=True, help="Live progress on a terminal, log lines otherwise.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Summary format.")
@click.option("--queue", default=None, help="Enqueue to this Redis (redis://host:port/db) for `ebi-mapper worker`s instead of delivering.")
@click.option("--partitions", type=click.IntRange(min=1), default=None, help="With --queue: the cluster's partition count (fixed at first use; default 16).")
def command(mapping: Path, input_spec: str, state_dir: Path | None, sink: str | None, sink_options: tuple[str, ...],
            bespoke_options: tuple[str, ...], limits: tuple[str, ...], max_records: int | None, linger_ms: int | None, concurrency: int | None,
            max_attempts: int | None, progress: bool, fmt: str, queue: str | None = None, partitions: int | None = None,
            map_process: str | None = None) -> int:
    """Map MAPPING's input and deliver the events: dedup, ≤10-event batches, rate limits, retries.

    The state (dedup, outbox, dead letters, checkpoint) lives in one SQLite file; a run killed at
    any moment and started again resumes where it stopped, losing nothing and sending no PK twice.
    """
    from dataclasses import replace

    from ..app import delivering, delivery_setup
    from ..delivery.source import make_source
    from ..delivery.state import open_state
    from .plugin_args import disabled

    setup = delivery_setup(mapping, disable=disabled(), sink=sink, sink_options=sink_options, bespoke_options=bespoke_options,
                           limits=limits, state_dir=state_dir, max_records=max_records,
                           overrides={"linger_ms": linger_ms, "concurrency": concurrency, "max_attempts": max_attempts,
                                      "map_process": map_process})
    settings = setup.settings
    source = make_source(input_spec, run_tag=str(int(time.time() * 1000)))
    if queue is not None:
        return _enqueue(setup.loaded, settings, source, queue, partitions, max_records, fmt)
    interactive = sys.stderr.isatty()
    # Input that cannot be read again (stdin) needs every commit on disk before it is acknowledged.
    state = open_state(settings.state_dir, synchronous="NORMAL" if source.resumable else "FULL")
    _stop_on_sigterm()
    try:
        reporter = ProgressReporter(progress, live=interactive)
        options = replace(settings.options, progress_interval=0.25 if interactive else 5.0)
        with delivering(setup, state, input_id=source.input_id, mapping=str(mapping), options=options,
                        on_progress=reporter) as run:
            received = stop_gracefully(run.loop)
            with reporter:
                # Everything built so far (the compiled mapping, plugins, modules) lives as long as the process:
                # moved out of the collector's sight, the full collections of a long run stop rescanning it.
                gc.freeze()
                run.summary = loop_summary = run.loop.run_input(source)
        summary = loop_summary
        dead = state.dead_letter_count()
        err = summary_to_stderr(*run.sinks)
        if fmt == "json":
            click.echo(orjson.dumps({**summary.to_dict(), "dead_letters": dead, "state_dir": str(settings.state_dir)},
                                    option=orjson.OPT_INDENT_2).decode(), err=err)
        else:
            click.echo(render_summary(summary, dead_letters=dead), err=err)
        if summary.status == "interrupted":
            return interrupted_exit_code(received)
        return EXIT_OK if summary.clean else EXIT_FINDINGS
    finally:
        state.close()


def _enqueue(loaded: Any, settings: Any, source: Any, queue: str, partitions: int | None, max_records: int | None,
             fmt: str) -> int:
    """``run --queue``: the records go to the cluster's partitions; the checkpoint follows each XADD batch."""
    from ..delivery.state import open_state
    from ..scaleout.queue import Keys, Producer, connect, default_prefix, enqueue_input

    client = connect(queue)
    producer = Producer(client, Keys(default_prefix(loaded.mapping.client)), loaded.mapper, partitions=partitions)
    with open_state(Path(settings.state_dir) / "producer",
                    synchronous="NORMAL" if source.resumable else "FULL") as state:
        out = enqueue_input(producer, source, state, max_records=max_records)
    if fmt == "json":
        click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"enqueued {out['enqueued']:,} record(s) of {out['input']} to {out['partitions']} partitions under "
                   f"{producer.keys.prefix!r}" + (" (already done before)" if out.get("already_done") else ""))
    return EXIT_OK
