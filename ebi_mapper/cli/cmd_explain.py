"""``ebi-mapper explain MAPPING PAYLOAD.json``: show, field by field, how one payload is mapped."""

from __future__ import annotations

import json

import click

from ..app import load_mapper
from ..engine import Trace
from ..engine.jsonl.decode import decode_line
from ..engine.timestamps import DST_LOG
from ..mapping.loader import parse_utc_timestamp
from .exits import EXIT_FINDINGS, EXIT_OK
from .plugin_args import disabled
from .report import echo_json

__all__ = ["command"]


def _item_label(index: int, key: str) -> str:
    """``item 2 (ootb_order_id=1001, ...)``: an `each` element, as headers and rejections name it."""
    return f"item {index}" + (f" ({key})" if key else "")


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@click.command("explain")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False))
@click.argument("payload", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--now", help="The run clock for the future-skew guard (UTC timestamp; default: the real clock).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(mapping: str, payload: str, now: str | None, fmt: str) -> int:
    """For each matching rule and field: expression, raw value, coerced value, guards, and the result."""
    mapper = load_mapper(mapping, disable=disabled())
    with click.open_file(payload, "rb") as stream:  # closed even when the payload is a file
        raw = stream.read()
    # The reader map and run use, so a payload explain accepts is one they would accept too.
    data, refused = decode_line(raw.strip(), source=payload)
    if refused is not None:
        raise click.BadParameter(f"{refused.message} [{refused.code}]", param_hint="PAYLOAD")
    clock = parse_utc_timestamp(now) if now else None
    trace = Trace()
    DST_LOG.recent.clear()
    result = mapper.map_record(data, source=payload, now=clock, trace=trace)
    dst_decisions = list(DST_LOG.recent)
    DST_LOG.take()
    if fmt == "json":
        echo_json(
            {
                "steps": [s.__dict__ for s in trace.steps],
                "events": [e.to_dict() for e in result.events],
                "rejections": [r.to_dict() for r in result.rejections],
                "filtered": [f.to_dict() for f in result.filtered],
                "bespoke": [b.to_dict() for b in result.bespoke],
                "dst": dst_decisions,
            }
        )
    else:
        rules = list(dict.fromkeys(s.rule for s in trace.steps))
        for rule in rules:
            click.secho(f"rule {rule}", bold=True)
            for step in trace.for_rule(rule):
                if step.kind == "when":
                    click.echo(f"  when      {step.expression}  →  {_short(step.value)}")
                elif step.kind == "item":
                    click.secho(f"  {_item_label(step.value['index'], step.value['key'])}", bold=True)
                elif step.kind == "field":
                    shown = step.state if step.state != "value" else _short(step.value)
                    click.echo(f"  {step.name:<34} {step.expression}  →  {shown}")
                elif step.kind == "coerced":
                    click.echo(f"  {'':<34} coerced   →  {_short(step.value)}")
                else:
                    click.echo(f"  {step.name:<34} {_short(step.value)}")
        if not rules:
            click.echo("no rule has a `when` that matches this payload")
        for decision in dict.fromkeys(dst_decisions):  # a time read by several fields is one decision
            click.secho(f"dst {decision}", fg="yellow")
        for event in result.events:
            click.secho("event", fg="green", bold=True)
            click.echo(json.dumps(event.to_dict(), indent=2, ensure_ascii=False))
        for rej in result.rejections:
            where = f" {_item_label(rej.item, rej.item_key)}" if rej.item is not None else ""
            click.secho(f"rejected [{rej.code}] {rej.rule}{where} {rej.field}: {rej.message}", fg="red")
            if rej.expression:
                click.echo(f"  expression: {rej.expression}   value: {_short(rej.value)}")
        for item in result.filtered:
            click.secho(f"filtered [{item.reason}] {item.rule} {item.detail}", fg="yellow")
        for row in result.bespoke:
            click.secho("bespoke row", fg="cyan", bold=True)
            click.echo(json.dumps(row.to_dict(), indent=2, ensure_ascii=False))
    return EXIT_FINDINGS if result.rejections else EXIT_OK
