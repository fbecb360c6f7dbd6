"""Shared pieces of the scale-out tests: a worker wired to a sandbox, waiting for the cluster's counts.

(Imported by name: a module called conftest is ambiguous across folders.)"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent
DELIVERY = HERE.parent / "delivery"
if str(DELIVERY) not in sys.path:
    sys.path.insert(0, str(DELIVERY))

from delivery_helpers import MAPPING, reached, write_mixed  # noqa: E402 - after the sys.path line above

__all__ = ["MAPPING", "ClusterThreads", "cluster_counts", "make_worker", "reached", "records_settled", "write_mixed"]

RECORD_OUTCOMES = ("records_delivered", "records_rejected", "records_filtered", "records_duplicate", "records_stale",
                   "records_superseded")


def cluster_counts(client, prefix: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(f"{prefix}counts").items()}


def records_settled(client, prefix: str) -> int:
    c = cluster_counts(client, prefix)
    return sum(c.get(k, 0) for k in RECORD_OUTCOMES)


def make_worker(url: str, prefix: str, sandbox, state_dir: Path, name: str, *, partitions: int = 4,
                profile: str = "10/1s", lease_ttl: float = 2.0, concurrency: int = 4, mapping: Path = MAPPING,
                events_file: Path | None = None):
    """A worker sending to ``sandbox``, or with ``events_file`` to a jsonl file sink (one file per partition)."""
    import redis

    from ebi_mapper import compile_mapping, load_mapping
    from ebi_mapper.catalog import load_catalog
    from ebi_mapper.delivery.pipeline import DeliveryOptions
    from ebi_mapper.delivery.rateplan import make_rate_plan
    from ebi_mapper.delivery.retry import RetryPolicy
    from ebi_mapper.plugins import make_registry
    from ebi_mapper.scaleout.queue import Keys
    from ebi_mapper.scaleout.worker import Worker, WorkerConfig

    catalog = load_catalog()
    mapper = compile_mapping(load_mapping(mapping, lint=False))
    reg = make_registry(entry_points=False)

    def sinks(p: int):
        if events_file is not None:
            events = reg.sink("jsonl").factory({"path": str(events_file.with_suffix(f".p{p}.jsonl"))})
        else:
            events = reg.sink("optimove").factory({"url": sandbox.endpoint, "timeout": 2.0, "trust_env": False})
        bespoke = reg.sink("data_studio").factory({"dir": str(state_dir / "data-studio" / name / f"p{p}"), "client": "acme"})
        return events, bespoke

    cfg = WorkerConfig(mapper=mapper, plan=make_rate_plan(catalog, overrides={"profile": profile}), make_sinks=sinks,
                       options=DeliveryOptions(linger=0.05, concurrency=concurrency, seed=3,
                                               retry=RetryPolicy(base_delay=0.02, max_delay=0.5, max_attempts=30)),
                       tenant=567, state_dir=state_dir / name, bespoke_route="data_studio", lease_ttl=lease_ttl,
                       partitions=partitions)
    return Worker(redis.Redis.from_url(url), Keys(prefix), cfg, me=name)


class ClusterThreads:
    """Workers run on threads of this process (the e2e test runs them as processes)."""

    def __init__(self):
        self.running: dict[str, tuple] = {}

    def start(self, worker) -> None:
        stop = threading.Event()
        t = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        t.start()
        self.running[worker.me] = (worker, stop, t)

    def stop(self, name: str) -> None:
        worker, stop, t = self.running.pop(name)
        stop.set()
        t.join(60)
        worker.client.close()  # its connections, not left to the garbage collector

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class OwnRedis:
    """A redis-server of the test's own (AOF on, fsync at every write) that it may SIGKILL and restart."""

    def __init__(self, workdir: Path):
        import os
        import shutil
        import socket

        self.binary = os.environ.get("EBI_MAPPER_TEST_REDIS_SERVER") or shutil.which("redis-server")
        if not self.binary:  # pragma: no cover - scripts/test-services installs it
            import pytest

            pytest.skip("no redis-server binary (scripts/test-services installs it)")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> None:
        import subprocess

        import redis

        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("own redis-server did not start")

    def kill(self) -> None:
        import os
        import signal

        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
