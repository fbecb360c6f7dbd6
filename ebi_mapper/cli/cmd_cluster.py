"""``ebi-mapper cluster status MAPPING --queue redis://…``: the whole cluster at a glance.

Backlog per partition, which worker holds it, the workers alive (last heartbeat), records by
outcome, dead letters, and the shared limiter's headroom per class; ``--format json`` for
scripts. Exit codes: 0; 3 when the mapping cannot load or Redis does not answer.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from .exits import EXIT_OK

__all__ = ["command"]


@click.group(name="cluster")
def command() -> None:
    """The Redis scale-out cluster (see docs/scale-out.md)."""


@command.command(name="status")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", required=True, envvar="EBI_MAPPER_QUEUE", help="The cluster's Redis, redis://host:port/db.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def status_cmd(mapping: Path, queue: str, fmt: str) -> int:
    """Backlog per partition, workers alive, records by outcome, limiter headroom."""
    from ..app import delivery_setup
    from ..scaleout.queue import Keys, connect, default_prefix, patiently
    from ..scaleout.status import cluster_status, render_status
    from .plugin_args import disabled

    setup = delivery_setup(mapping, disable=disabled())
    loaded, settings = setup.loaded, setup.settings
    client = connect(queue)
    status = patiently(lambda: cluster_status(client, Keys(default_prefix(loaded.mapping.client)),
                                              tenant=loaded.mapping.tenant, plan=settings.plan),
                       "cluster status", patience=10.0)
    if fmt == "json":
        click.echo(orjson.dumps(status, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render_status(status))
    return EXIT_OK
