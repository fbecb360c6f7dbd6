"""``ebi-mapper worker MAPPING --queue redis://…``: deliver a share of the cluster's partitions.

Runs until stopped. SIGTERM (143) or SIGINT (130): every partition drains (no more reading, the
answers of requests in flight are awaited and settled, their entries acknowledged), the leases
are given back and the worker leaves, so the others take its partitions at once. 3 when the
mapping, a sink, Redis or the state dir cannot be used (one line saying why). See
docs/scale-out.md.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..errors import StateError

__all__ = ["command", "lock_state_dir"]


def lock_state_dir(path: Path) -> int:
    """One worker per state dir: it wipes its partitions' folders at every takeover."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / "worker.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateError(f"state dir {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateError(f"state dir {path} is used by another worker; give each worker its own --state-dir") from None
    return fd


@click.command(name="worker")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", required=True, envvar="EBI_MAPPER_QUEUE", help="The cluster's Redis, redis://host:port/db.")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="This worker's own folder (default: the mapping's state dir + /worker).")
@click.option("--partitions", type=click.IntRange(min=1), default=None,
              help="The cluster's partition count (fixed at first use; default 16).")
@click.option("--sink", default=None, help="Events sink (default: delivery.sink, else optimove).")
@click.option("--sink-option", "sink_options", multiple=True, metavar="KEY=VALUE",
              help="A sink option; repeatable (a file sink's `path` gets a .p<N> per partition).")
@click.option("--bespoke-option", "bespoke_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the bespoke sink; a `dir` gets a sub-folder per partition.")
@click.option("--limit", "limits", multiple=True, metavar="CLASS=N/Ws", help="Override a rate limit (shared by the cluster).")
@click.option("--linger-ms", type=click.IntRange(min=0), default=None)
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="Requests in flight per partition.")
@click.option("--max-attempts", type=click.IntRange(min=1), default=None)
@click.option("--lease-seconds", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="How long a dead worker's partitions wait before the others take them.")
def command(mapping: Path, queue: str, state_dir: Path | None, partitions: int | None, sink: str | None,
            sink_options: tuple[str, ...], bespoke_options: tuple[str, ...], limits: tuple[str, ...],
            linger_ms: int | None, concurrency: int | None, max_attempts: int | None, lease_seconds: float) -> int:
    """Deliver MAPPING's records from the Redis queue, sharing partitions and rate limits with the other workers."""
    from ..app import delivery_setup
    from ..scaleout.queue import Keys, connect, default_prefix
    from ..scaleout.worker import Worker, WorkerConfig
    from .plugin_args import disabled

    setup = delivery_setup(mapping, disable=disabled(), sink=sink, sink_options=sink_options, bespoke_options=bespoke_options,
                           limits=limits, overrides={"linger_ms": linger_ms, "concurrency": concurrency,
                                                     "max_attempts": max_attempts})
    loaded, settings = setup.loaded, setup.settings
    home = state_dir if state_dir is not None else Path(settings.state_dir) / "worker"
    lock = lock_state_dir(home)
    client = connect(queue, patience=10.0)  # under a supervisor, a worker may start while Redis restarts

    def sinks_for(p: int) -> tuple[Any, Any]:
        # Partitions run side by side: a sink writing files gets its own per partition.
        options = dict(settings.bespoke_options)
        if "dir" in options:
            options["dir"] = str(Path(str(options["dir"])) / f"p{p}")
        events = dict(settings.sink_options)
        if "path" in events and str(events["path"]) != "-":
            path = Path(str(events["path"]))
            events["path"] = str(path.with_name(f"{path.stem}.p{p}{path.suffix}"))
        return setup.make_sinks(replace(settings, bespoke_options=options, sink_options=events))

    for s in sinks_for(0):  # a sink that cannot start is a config error now, not in a runner thread
        if s is not None:
            s.close()
    from ..secrets import RedactFilter

    log_handler = logging.StreamHandler()
    log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log_handler.addFilter(RedactFilter())  # a sink's error may quote its token: registered secrets are masked
    logging.basicConfig(level=logging.INFO, handlers=[log_handler])
    config = WorkerConfig(mapper=loaded.mapper, plan=settings.plan, make_sinks=sinks_for, options=settings.options,
                          tenant=loaded.mapping.tenant, state_dir=home, bespoke_route=settings.bespoke_route,
                          lease_ttl=lease_seconds, partitions=partitions)
    worker = Worker(client, Keys(default_prefix(loaded.mapping.client)), config)
    stop = threading.Event()
    received: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        click.echo(f"{signal.Signals(signum).name}: draining the partitions and leaving the cluster", err=True)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    click.echo(f"worker {worker.me}: {worker.partitions} partitions under {worker.keys.prefix!r}, state {home}", err=True)
    try:
        worker.run(stop)
    finally:
        os.close(lock)
    return 128 + received[0] if received else 0
