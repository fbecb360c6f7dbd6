"""``ebi-mapper sandbox``: run the local Optimove stand-in in the foreground until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import click
import orjson

from ..sandbox import (
    DEFAULT_ATTRIBUTES_PATH,
    DEFAULT_AUTH_HEADER,
    DEFAULT_PATH,
    DEFAULT_TOKEN,
    DEFAULT_VERTICAL,
    make_sandbox_config,
    make_sandbox_server,
)

__all__ = ["command"]


def _probability(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise click.BadParameter("must be a probability between 0 and 1")
    return value


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free port).")
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file to keep accepted events in (default: memory).")
@click.option("--vertical", default=DEFAULT_VERTICAL, show_default=True, help="Vertical whose schemas events are validated against.")
@click.option("--tenant", type=int, help="Only accept events of this tenant (default: any).")
@click.option("--token", default=DEFAULT_TOKEN, show_default=True, help="Token clients must send.")
@click.option("--no-auth", is_flag=True, help="Accept requests without a token.")
@click.option("--auth-header", default=DEFAULT_AUTH_HEADER, show_default=True, help="Header that carries the token.")
@click.option("--path", "path", default=DEFAULT_PATH, show_default=True, help="Events endpoint path.")
@click.option("--attributes-path", default=DEFAULT_ATTRIBUTES_PATH, show_default=True, help="Bespoke attributes endpoint path.")
@click.option("--rate-limit", "rate_limits", multiple=True, metavar="CLASS=N/S",
              help="Override a rate class, e.g. profile=5/1 (repeatable).")
@click.option("--no-rate-limit", is_flag=True, help="Do not refuse requests over the limits (still measured).")
@click.option("--fault-500", type=float, callback=_probability, help="Probability of a 500 before storing.")
@click.option("--fault-timeout", type=float, callback=_probability, help="Probability of holding a request, then closing.")
@click.option("--fault-429", type=float, callback=_probability, help="Probability of a 429 storm.")
@click.option("--fault-drop", type=float, callback=_probability, help="Probability of closing without an answer.")
@click.option("--fault-500-after-store", type=float, callback=_probability, help="Probability of a 500 after storing.")
@click.option("--fault-drop-after-store", type=float, callback=_probability, help="Probability of a drop after storing.")
@click.option("--timeout-delay", type=float, default=2.0, show_default=True, help="Seconds a timeout fault holds a request.")
@click.option("--reply-delay", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Seconds every request waits after storing before it is answered (a slow receiver).")
@click.option("--burst", type=click.IntRange(1), default=1, show_default=True, help="Requests one 429 storm lasts.")
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to print the address (json: one line for scripts).")
@click.option("-v", "--verbose", is_flag=True, help="Log every request to stderr.")
def command(host: str, port: int, db: str | None, vertical: str, tenant: int | None, token: str, no_auth: bool,
            auth_header: str, path: str, attributes_path: str, rate_limits: tuple[str, ...], no_rate_limit: bool,
            fault_500: float | None, fault_timeout: float | None, fault_429: float | None, fault_drop: float | None,
            fault_500_after_store: float | None, fault_drop_after_store: float | None, timeout_delay: float,
            reply_delay: float, burst: int, seed: int | None, fmt: str, verbose: bool) -> int:
    """Run a local stand-in for Optimove's events endpoint (validation, limits, faults) until Ctrl-C."""
    faults: dict[str, Any] = {"seed": seed, "timeout_delay": timeout_delay, "429_burst": burst, "reply_delay": reply_delay}
    for key, value in (("500", fault_500), ("timeout", fault_timeout), ("429", fault_429), ("drop", fault_drop),
                       ("500_after_store", fault_500_after_store), ("drop_after_store", fault_drop_after_store)):
        if value:
            faults[key] = value
    config = make_sandbox_config(
        host=host, port=port, db=db, vertical=vertical, tenant=tenant, token=None if no_auth else token,
        auth_header=auth_header, path=path, attributes_path=attributes_path, rate_limits=list(rate_limits),
        rate_limit=not no_rate_limit, faults=faults)
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s", stream=sys.stderr)
    server = make_sandbox_server(config)
    info = {"url": server.url, "endpoint": server.url + config.path,
            "attributes_endpoint": server.url + config.attributes_path,
            "auth_header": config.auth_header, "token": config.token, "vertical": config.vertical}
    if fmt == "json":
        click.echo(orjson.dumps(info).decode())
    else:
        click.echo(f"ebi-mapper sandbox listening on {server.url}")
        click.echo(f"  events endpoint:     {info['endpoint']}  (vertical {config.vertical})")
        click.echo(f"  attributes endpoint: {info['attributes_endpoint']}")
        if config.token is None:
            click.echo("  auth: none")
        else:
            click.echo(f"  auth: header {config.auth_header}: {config.token}")
        click.echo(f"  inspect: GET {server.url}/stats, GET {server.url}/events; Ctrl-C to stop")
    sys.stdout.flush()
    # SIGTERM stops as cleanly as Ctrl-C (a script that started the sandbox may send either).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stats = server.app.stats()
        server.close_all()
        server.app.close()
    if fmt == "text":
        requests = stats["requests"].get("total", 0)
        stored = stats["stored"]["events"]
        click.echo(f"stopped: {requests} requests, {stored} events stored", err=True)
    return 0
