"""``ebi-mapper serve MAPPING...``: receive webhooks, acknowledge only what is durable, deliver continuously.

Exit codes: 3 when a mapping, its ``serve:`` section (a source without ``auth``, a missing
secret variable), a sink, the state dir (locked by another process), the address or the
``--queue`` URL cannot be used, or ``--partitions`` disagrees with the cluster's; 143 (SIGTERM) or 130 (SIGINT) after a graceful drain (docs/serve.md); 4 for a bug.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..errors import ConfigError

__all__ = ["command"]

ADMIN_TOKEN_ENV = "EBI_MAPPER_ADMIN_TOKEN"


@click.command(name="serve")
@click.argument("mappings", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all; put a reverse proxy in front).")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, show_default=True, help="Port (0: any free port, logged).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The state dir (only with one MAPPING; default: each mapping's own).")
@click.option("--sink", default=None, help="Events sink (default: delivery.sink, else optimove).")
@click.option("--sink-option", "sink_options", multiple=True, metavar="KEY=VALUE", help="A sink option; repeatable.")
@click.option("--limit", "limits", multiple=True, metavar="CLASS=N/Ws", help="Override a rate limit (e.g. profile=100/10s).")
@click.option("--linger-ms", type=click.IntRange(min=0), default=None, help="How long a half-full batch waits for more events.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Requests in flight at once, per mapping.")
@click.option("--admin-token-env", default=ADMIN_TOKEN_ENV, show_default=True,
              help="Environment variable holding the bearer token of /, /status.json and /metrics (unset: loopback only).")
@click.option("--queue", default=None,
              help="Forward the accepted records to this Redis (redis://host:port/db) for `ebi-mapper worker`s instead of delivering.")
@click.option("--partitions", type=click.IntRange(min=1), default=None,
              help="With --queue: the cluster's partition count (fixed at first use; default 16).")
@click.option("--stop-grace", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds a stop waits for requests and sends in flight.")
def command(mappings: tuple[Path, ...], host: str, port: int, state_dir: Path | None, sink: str | None,
            sink_options: tuple[str, ...], limits: tuple[str, ...], linger_ms: int | None, concurrency: int | None,
            admin_token_env: str, stop_grace: float, queue: str | None = None, partitions: int | None = None) -> int:
    """Serve MAPPING(s) over HTTP: each source's path takes webhooks (JSON or NDJSON), answers 2xx
    only once the records are committed to the state dir's intake queue, and a delivery loop per
    mapping sends them as `run` does (dedup, batches, rate limits, retries, dead letters), or with
    --queue forwards them to the cluster's Redis for `ebi-mapper worker`s."""
    from importlib.metadata import PackageNotFoundError, version

    from ..serve.app import ServiceState
    from ..serve.metrics import ServeMetrics
    from ..serve.runner import Service
    from ..serve.served import ServedMapping
    from .plugin_args import disabled

    if queue is not None:
        from ..scaleout.queue import check_url

        check_url(queue)
    elif partitions is not None:
        raise click.UsageError("--partitions goes with --queue")
    if state_dir is not None and len(mappings) > 1:
        raise click.UsageError("--state-dir takes one MAPPING only (each mapping keeps its own state dir)")
    metrics = ServeMetrics()
    overrides = {"sink": sink, "sink_options": sink_options, "limits": limits, "linger_ms": linger_ms,
                 "concurrency": concurrency, "state_dir": state_dir,
                 "stop_grace": stop_grace, "disable": disabled(), "queue": queue, "partitions": partitions}
    served = [ServedMapping(path, metrics, overrides) for path in mappings]
    clients = [sm.client for sm in served]
    if len(set(clients)) != len(clients):
        raise ConfigError(f"two mappings serve the same client ({', '.join(sorted({c for c in clients if clients.count(c) > 1}))})")
    paths = [s.path for sm in served for s in sm.config.sources]
    reserved = {"/", "/healthz", "/readyz", "/metrics", "/status.json"}
    clash = sorted({p for p in paths if paths.count(p) > 1 or p in reserved})
    if clash:
        raise ConfigError(f"serve paths clash: {', '.join(clash)} (each source needs a path of its own, not an admin path)")
    dirs = [str(Path(sm.state_dir).resolve()) for sm in served]
    if len(set(dirs)) != len(dirs):
        raise ConfigError("two mappings share a state dir: give each its own delivery.state_dir")
    token = os.environ.get(admin_token_env) or None
    if token is not None:
        from ..secrets import register

        register(token)  # redacted wherever text leaves the process
    try:
        ver = version("ebi-mapper")
    except PackageNotFoundError:  # pragma: no cover
        ver = ""
    svc = ServiceState(served=served, metrics=metrics, admin_token=token, version=ver)
    return Service(svc, host=host, port=port, stop_grace=stop_grace).run()
