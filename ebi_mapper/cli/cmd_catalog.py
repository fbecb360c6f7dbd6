"""``ebi-mapper catalog [--vertical V] [--event E] [--format text|json]``: browse the OOTB catalog."""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

import click

from ..catalog import Catalog, EventDef, load_catalog, nearest_names
from ..errors import UnknownNameError
from .exits import EXIT_OK
from .report import echo_json

__all__ = ["command"]

_CLASS_STYLE = {"mandatory": "bold red", "channel": "yellow", "enrichment": "cyan", "optional": "dim"}


@click.command("catalog")
@click.option("--vertical", "-v", "vertical", metavar="V", help="Show the events of one vertical.")
@click.option("--event", "-e", "event", metavar="E", help="Show one event's params.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(vertical: str | None, event: str | None, fmt: str) -> int:
    """Show the OOTB events, their params, classes and primary keys, and the verticals."""
    catalog = load_catalog()
    vert = _lookup("vertical", vertical, catalog.verticals) if vertical else None
    ev = _lookup("event", event, catalog.events) if event else None
    if vert is not None and ev is not None and ev.key not in vert.events:
        raise UnknownNameError(f"event {ev.key!r} is not one of vertical {vert.name!r}'s events ({', '.join(vert.events)})")
    if fmt == "json":
        echo_json(_as_json(catalog, vert, ev))
    else:
        _print_text(catalog, vert, ev)
    return EXIT_OK


def _lookup(kind: str, name: str, known: dict[str, Any]) -> Any:
    if name in known:
        return known[name]
    near = nearest_names(name, known)
    hint = f"; did you mean {' or '.join(near)}?" if near else f" (known: {', '.join(known)})"
    raise UnknownNameError(f"unknown {kind} {name!r}{hint}")


def _verticals_of(catalog: Catalog, event: str) -> list[str]:
    return [v.name for v in catalog.verticals.values() if event in v.events]


def _event_json(catalog: Catalog, ev: EventDef) -> dict[str, Any]:
    out = dataclasses.asdict(ev)
    out["verticals"] = _verticals_of(catalog, ev.key)
    return out


def _as_json(catalog: Catalog, vert, ev: EventDef | None) -> dict[str, Any]:
    if ev is not None:
        out = _event_json(catalog, ev)
        out["rate_limit"] = dataclasses.asdict(catalog.rate_class_of(ev.key))
        return out
    if vert is not None:
        return {
            "name": vert.name,
            "display_name": vert.display_name,
            "matrix": "inferred",
            "events": {key: _event_json(catalog, catalog.events[key]) for key in vert.events},
        }
    return {
        "version": catalog.version,
        "envelope": catalog.envelope,
        "events": {key: _event_json(catalog, e) for key, e in catalog.events.items()},
        "verticals": {name: dataclasses.asdict(v) for name, v in catalog.verticals.items()},
        "rate_classes": {name: dataclasses.asdict(rc) for name, rc in catalog.rate_classes.items()},
        "choices": catalog.choices,
    }


# ---- text -------------------------------------------------------------------------------------


def _console():
    import sys

    from rich.console import Console

    # On a terminal use its width; piped, rich would fall back to 80 columns and cut the tables
    # into narrow strips, so use a width the widest table fits in.
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
    return Console(width=width, highlight=False)


def _print_text(catalog: Catalog, vert, ev: EventDef | None) -> None:
    console = _console()
    if ev is not None:
        _print_event(console, catalog, ev)
    elif vert is not None:
        _print_events(console, catalog, vert.events, title=f"{vert.display_name} ({vert.name}): {len(vert.events)} events")
        console.print(
            "The EBI page's per-vertical ticks were lost; this is the reference's inferred matrix (docs/catalog.md).",
            style="dim",
        )
    else:
        _print_events(console, catalog, tuple(catalog.events), title=f"OOTB events (catalog version {catalog.version})")
        _print_verticals(console, catalog)
        _print_rate_classes(console, catalog)


def _rate_text(catalog: Catalog, name: str) -> str:
    rc = catalog.rate_classes[name]
    per = f"{rc.per_seconds:g} s"
    return f"{name}: {rc.requests:,} requests / {per}, at most {rc.max_events_per_request} events per request"


def _table(title: str):
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)


def _print_events(console, catalog: Catalog, keys: tuple[str, ...], *, title: str) -> None:
    table = _table(title)
    table.add_column("event", no_wrap=True)
    table.add_column("name", min_width=12)
    table.add_column("primary key", no_wrap=True)
    table.add_column("rate class", no_wrap=True)
    for cls in ("mandatory", "channel", "enrichment", "optional"):
        table.add_column(cls, justify="right", style=_CLASS_STYLE[cls], no_wrap=True)
    for key in keys:
        ev = catalog.events[key]
        counts = [str(len(ev.params_of_class(c))) for c in ("mandatory", "channel", "enrichment", "optional")]
        # one PK member per line keeps the column narrow without cutting names
        table.add_row(key, ev.display_name, "\n".join(ev.primary_key), ev.rate_class, *counts)
    console.print(table)


def _print_verticals(console, catalog: Catalog) -> None:
    table = _table("Verticals (inferred matrix: the EBI page's ticks were lost)")
    table.add_column("vertical", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("events", overflow="fold")
    for v in catalog.verticals.values():
        table.add_row(v.name, v.display_name, ", ".join(v.events))
    console.print(table)


def _print_rate_classes(console, catalog: Catalog) -> None:
    for rc in catalog.rate_classes.values():
        events = ", ".join(rc.events) if rc.events else "every other event"
        console.print(f"rate class {_rate_text(catalog, rc.name)} ({events})")


def _print_event(console, catalog: Catalog, ev: EventDef) -> None:
    console.print(f"[bold]{ev.key}[/bold]: {ev.display_name}, sent when {ev.description}")
    console.print(f"primary key: {', '.join(ev.primary_key)}")
    console.print(f"rate class {_rate_text(catalog, ev.rate_class)}")
    console.print(f"verticals: {', '.join(_verticals_of(catalog, ev.key)) or '-'}")
    table = _table(f"{len(ev.params)} params")
    table.add_column("param", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("class", no_wrap=True)
    table.add_column("flags", no_wrap=True)
    table.add_column("allowed values", overflow="fold")
    table.add_column("confidence", no_wrap=True)
    table.add_column("description", min_width=24)
    for p in ev.params.values():
        cls = f"{p.cls}: {', '.join(p.channels)}" if p.channels else p.cls
        table.add_row(
            p.key,
            p.type,
            f"[{_CLASS_STYLE[p.cls]}]{cls}[/]",
            " ".join(flag for flag, on in (("PK", p.primary_key), ("monetary", p.monetary)) if on),
            ", ".join(p.allowed) if p.allowed else ("Yes, No" if p.type == "yes_no" else ""),
            p.confidence,
            p.description,
        )
    console.print(table)
