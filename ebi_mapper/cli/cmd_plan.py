"""``ebi-mapper plan MAPPING --volumes FILE``: will the expected volumes fit Optimove's limits?

Exit codes: 0 when every rate class (and the global limit) fits; 1 when one does not, when the
volumes name an event that is not an OOTB event (an error, with "did you mean"), or, with
``--strict``, when they name an event the mapping never produces (otherwise a warning); 3 when
the mapping or the volumes file cannot be used.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from .exits import EXIT_FINDINGS, EXIT_OK

__all__ = ["command", "render_plan"]


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "never"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def render_plan(report) -> str:  # noqa: ANN001 - CapacityReport
    """The plan as text: one line per class, then what happens to the ones that do not fit."""
    lines = []
    for c in report.classes:
        limit = "no limit" if c.limit_requests_per_second is None else f"limit {c.limit_requests_per_second:,.2f} req/s"
        verdict = "fits" if c.fits else "DOES NOT FIT"
        use = f" ({c.utilisation:.0%} used)" if c.utilisation is not None else ""
        lines.append(f"{c.name:<8} {c.events_per_second:>12,.2f} events/s = {c.requests_per_second:>10,.2f} req/s "
                     f"(batches of {c.batch_size:g}) vs {limit}: {verdict}{use}")
        if not c.fits:
            lines.append(f"         backlog grows by {c.backlog_growth_per_hour:,.0f} events per hour; after a "
                         f"{_duration(report.peak_seconds)} peak {c.backlog_after_peak:,.0f} events wait and the last "
                         f"one is delivered {_duration(c.lag_after_peak_seconds)} late")
        if c.events and c.name != "global":
            lines.append(f"         events: {', '.join(c.events)}")
    for f in report.findings:
        if f.severity != "note":
            extra = " (counted in the catch-all class)" if f.severity == "error" else ""
            lines.append(f"{f.severity}: volumes: {f.message}{extra}")
    unplanned = [f.event for f in report.findings if f.severity == "note"]
    if unplanned:
        lines.append(f"note: no volume given for {', '.join(unplanned)} (planned as 0 events/s)")
    lines.append("all classes fit" if report.fits else "some classes do not fit: agree higher limits with Optimove "
                 "(then set delivery.limits) or expect the backlog above")
    return "\n".join(lines)


@click.command(name="plan")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--volumes", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="YAML or JSON: event name -> expected events per second (at peak).")
@click.option("--peak-minutes", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="How long the peak lasts, for the backlog and lag it leaves.")
@click.option("--limit", "limits", multiple=True, metavar="CLASS=N/Ws", help="Override a rate limit.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too: volumes of events the mapping never produces.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def command(mapping: Path, volumes: Path, peak_minutes: float, limits: tuple[str, ...], strict: bool, fmt: str) -> int:
    """Check expected events/s per event against the rate classes of MAPPING's delivery limits."""
    from ..app import load_mapping
    from ..catalog import load_catalog
    from ..delivery.capacity import load_volumes, plan_capacity
    from ..delivery.rateplan import make_rate_plan
    from ..delivery.settings import parse_key_values
    from .plugin_args import disabled

    loaded = load_mapping(mapping, disable=disabled())
    catalog = load_catalog()
    plan = make_rate_plan(catalog, delivery=loaded.delivery, overrides=parse_key_values(limits, "--limit"))
    report = plan_capacity(plan, load_volumes(volumes), peak_seconds=peak_minutes * 60.0,
                           known_events=tuple(catalog.events), produced_events={r.event for r in loaded.rules})
    if fmt == "json":
        click.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_plan(report))
    failed = not report.fits or report.has("error") or (strict and report.has("warning"))
    return EXIT_FINDINGS if failed else EXIT_OK
