"""``ebi-mapper dlq list|show|replay``: inspect and replay dead letters.

Every sub-command finds the state as ``run`` does: from MAPPING (its ``delivery.state_dir``, else
``.ebi-state/<client>``), with ``--state-dir`` winning; ``list`` and ``show`` need only one of
the two. ``replay`` feeds each stored original payload through the (fixed) mapping and the same
dedup as ``run``, so events that went out before are duplicates and only what was missing is sent.
Exit codes: ``list``/``show`` 0 (``show`` of an unknown id: 1; no MAPPING nor ``--state-dir``: 2;
a state dir holding no state store: 3, and nothing is created there); ``replay`` as ``run``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click
import orjson

from .exits import EXIT_FINDINGS, EXIT_OK
from .state_args import MAPPING_PATH, optional_mapping_argument, state_dir_for, state_dir_option

__all__ = ["command"]


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _first_reason(reasons: list) -> str:
    if not reasons:
        return ""
    r = reasons[0]
    text = f"{r.get('code', '')}: {r.get('message', '')}" if isinstance(r, dict) else str(r)
    return text + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")


@click.group(name="dlq")
def command() -> None:
    """Dead letters: records (or events) that could not be delivered, with reasons and payloads."""


@command.command(name="list")
@optional_mapping_argument()
@state_dir_option()
@click.option("--all", "include_replayed", is_flag=True, help="Include dead letters already replayed.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--queue", default=None, help="The whole cluster's dead letters, from its Redis (needs MAPPING).")
def list_cmd(mapping: Path | None, state_dir: Path | None, include_replayed: bool, limit: int, fmt: str,
             queue: str | None) -> int:
    """List dead letters, oldest first (of MAPPING's state, of --state-dir, or of the cluster with --queue)."""
    from ..delivery.state import open_state

    if queue is not None:
        return _list_cluster(mapping, queue, limit, fmt)
    with open_state(state_dir_for(mapping, state_dir), create=False, shared=True) as state:
        letters = state.dead_letters(include_replayed=include_replayed, limit=limit)
        total = state.dead_letter_count(include_replayed=include_replayed)
    if fmt == "json":
        click.echo(orjson.dumps([d.to_dict() for d in letters], option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    for d in letters:
        replayed = f"  replayed {_when(d.replayed_at)}" if d.replayed_at else ""
        click.echo(f"{d.id:>6}  {_when(d.created_at)}  {d.kind:<9} {d.source}  {_first_reason(d.reasons)}{replayed}")
    click.echo(f"{total} dead letter(s)" + (f", {len(letters)} shown" if total > len(letters) else ""))
    return EXIT_OK


def _list_cluster(mapping: Path | None, queue: str, limit: int, fmt: str) -> int:
    from ..app import load_mapping
    from ..scaleout.queue import Keys, connect, default_prefix, patiently
    from ..scaleout.status import dead_letters

    if mapping is None:
        raise click.UsageError("dlq list --queue needs MAPPING (its client names the cluster)")
    keys = Keys(default_prefix(load_mapping(mapping, lint=False).client))
    client = connect(queue)
    total = int(patiently(lambda: client.hlen(keys.dlq), "dlq list", patience=10.0))
    letters = patiently(lambda: dead_letters(client, keys, limit=limit), "dlq list", patience=10.0)
    if fmt == "json":
        click.echo(orjson.dumps(letters, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    for d in letters:
        click.echo(f"p{d.get('partition', '?'):<3} {_when(d.get('created_at'))}  {d.get('kind', ''):<9} {d.get('source', '')}  "
                   f"{_first_reason(d.get('reasons') or [])}")
    click.echo(f"{total} dead letter(s) in the cluster" + (f", {len(letters)} shown" if total > len(letters) else ""))
    return EXIT_OK


def _show_args(args: tuple[str, ...]) -> tuple[Path | None, int]:
    """``ID``, ``ID MAPPING`` or ``MAPPING ID`` → (mapping, id)."""
    if len(args) == 1:
        mapping, ident = None, args[0]
    elif len(args) == 2:
        first_is_id = args[0].isdigit() and not Path(args[0]).is_file()
        ident, mapping = (args[0], args[1]) if first_is_id else (args[1], args[0])
    else:
        raise click.UsageError(f"dlq show takes ID and at most one MAPPING, got {len(args)} arguments")
    if not ident.isdigit():
        raise click.BadParameter(f"{ident!r} is not a dead letter id (a number)", param_hint="ID")
    if mapping is not None and not Path(mapping).is_file():
        raise click.BadParameter(f"{mapping} is not a mapping file", param_hint="MAPPING")
    return (None if mapping is None else Path(mapping)), int(ident)


@command.command(name="show")
@click.argument("args", nargs=-1, required=True, metavar="[MAPPING] ID")
@state_dir_option()
def show_cmd(args: tuple[str, ...], state_dir: Path | None) -> int:
    """Show one dead letter: reasons, original payload, and the refused event if any (JSON)."""
    from ..delivery.state import open_state

    mapping, dlq_id = _show_args(args)
    with open_state(state_dir_for(mapping, state_dir), create=False, shared=True) as state:
        d = state.dead_letter(dlq_id)
    if d is None:
        click.echo(f"no dead letter {dlq_id}", err=True)
        return EXIT_FINDINGS
    click.echo(orjson.dumps(d.to_dict(), option=orjson.OPT_INDENT_2).decode())
    return EXIT_OK


@command.command(name="replay")
@click.argument("mapping", type=MAPPING_PATH)
@state_dir_option("Default: delivery.state_dir of the mapping, else .ebi-state/<client>.")
@click.option("--sink", default=None)
@click.option("--sink-option", "sink_options", multiple=True, metavar="KEY=VALUE")
@click.option("--limit", "limits", multiple=True, metavar="CLASS=N/Ws")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def replay_cmd(mapping: Path, state_dir: Path | None, sink: str | None, sink_options: tuple[str, ...],
               limits: tuple[str, ...], fmt: str) -> int:
    """Re-map dead-lettered payloads with MAPPING (fixed) and deliver what is now valid."""
    from ..app import delivering, delivery_setup
    from ..delivery.state import open_state
    from .cmd_run import render_summary, summary_to_stderr
    from .plugin_args import disabled

    setup = delivery_setup(mapping, disable=disabled(), sink=sink, sink_options=sink_options, limits=limits,
                           state_dir=state_dir)
    with open_state(setup.settings.state_dir) as state:
        input_id = f"dlq-replay@{int(time.time() * 1000)}"
        with delivering(setup, state, input_id=input_id, mapping=str(mapping)) as run:
            run.summary = summary = run.loop.replay_dead_letters(input_id)
        dead = state.dead_letter_count()
    err = summary_to_stderr(*run.sinks)
    if fmt == "json":
        click.echo(orjson.dumps({**summary.to_dict(), "dead_letters": dead}, option=orjson.OPT_INDENT_2).decode(), err=err)
    else:
        click.echo(render_summary(summary, dead_letters=dead), err=err)
    return EXIT_OK if summary.clean else EXIT_FINDINGS
