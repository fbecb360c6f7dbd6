"""The scale-out bench (issue #13): N = 1, 2, 4 worker processes on one Redis, and the shared limiter's cost.

Run from the repository root::

    python bench/bench_scaleout.py                       # 20,000 records, N = 1 2 4
    python bench/bench_scaleout.py --records 5000 --workers 1 2   # a quick look
    python bench/bench_scaleout.py --json

What it prints, every figure from this one run (the machine is shared: compare ratios):

1. The producer (`run --queue`): records/s enqueued, against `map --workers 1` lines/s on the
   same feed.
2. For each N: N `ebi-mapper worker` processes (limits off, `--sink jsonl`, each its own state
   dir) drain the same feed from a redis-server the bench starts (AOF on, appendfsync everysec);
   aggregate records/s and events/s of the workers alone (started and sharing the partitions,
   paused while the feed is enqueued, timed from their resumption to the last settled record), the efficiency
   rate(N) / (N x rate(1)), and the Redis server's CPU seconds per 1,000 events (INFO cpu).
   The dedup entries a takeover loads (``MEMORY USAGE`` of each partition's hash and sighting set):
   bytes per PK.
3. The limiter: microseconds per `try_admit` + `complete` (two round trips, one Lua script each)
   against a plain PING round trip in the same process.
4. The projection for Optimove's cap (100,000 events/s): workers at rate(1) each, and Redis CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import MAPPING, NO_LIMITS, map_once, write_feed  # noqa: E402 - after the sys.path line

CAP = 100_000  # Optimove's overall cap, events/s


class OwnRedis:
    """A redis-server on a free port in a temp dir, AOF on (appendfsync everysec)."""

    def __init__(self, workdir: Path):
        self.binary = os.environ.get("EBI_MAPPER_TEST_REDIS_SERVER") or shutil.which("redis-server")
        if not self.binary:
            raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(workdir),
                                      "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        self.client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def cpu(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(30)


def enqueue(redis_url: str, feed: Path, workdir: Path, partitions: int) -> dict[str, Any]:
    state = workdir / "producer"
    shutil.rmtree(state, ignore_errors=True)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--input", str(feed), "--queue", redis_url,
                          "--partitions", str(partitions), "--state-dir", str(state), "--format", "json"],
                         capture_output=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"run --queue failed: {out.stderr.decode()[-2000:]}")
    return {"records": json.loads(out.stdout)["enqueued"], "wall_s": wall}


def settled(client: Any, prefix: str) -> int:
    return sum(int(v) for k, v in client.hgetall(f"{prefix}counts").items() if k.startswith(b"records_"))


def balanced(client: Any, prefix: str, partitions: int, n: int) -> bool:
    """Every partition held, by exactly ``n`` workers, none above its fair share."""
    owners = [client.get(f"{prefix}lease:{p}") for p in range(partitions)]
    if any(o is None for o in owners):
        return False
    held: dict[bytes, int] = {}
    for o in owners:
        held[o.rsplit(b"/", 1)[0]] = held.get(o.rsplit(b"/", 1)[0], 0) + 1
    return len(held) == n and max(held.values()) <= -(-partitions // n)


def workers_once(own: OwnRedis, feed: Path, records: int, n: int, workdir: Path, partitions: int) -> dict[str, Any]:
    """Start N workers on an empty queue and wait until they share the partitions; pause them (SIGSTOP), enqueue
    the feed, resume them (SIGCONT) and time from there to the last record settled: the workers' rate alone, the
    producer's measured apart (it would share the same 2 cores)."""
    own.client.flushall()
    own.client.hset("ebi:bench-casino:meta", "partitions", partitions)
    prefix = "ebi:bench-casino:"
    env = {**os.environ, "OPTIMOVE_TOKEN": "unused"}
    procs, outs = [], []
    for i in range(n):
        state = workdir / f"w{i}"
        shutil.rmtree(state, ignore_errors=True)
        out = workdir / f"events-{i}.jsonl"
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "ebi_mapper", "worker", str(MAPPING), "--queue", own.url, "--state-dir", str(state),
             "--sink", "jsonl", "--sink-option", f"path={out}", "--concurrency", "4", "--lease-seconds", "60", *NO_LIMITS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env))
    deadline = time.monotonic() + 120
    while not balanced(own.client, prefix, partitions, n):
        if time.monotonic() > deadline:
            raise SystemExit(f"N={n}: the workers did not share the partitions within 120 s")
        time.sleep(0.2)
    time.sleep(1.0)  # every runner has loaded its (empty) partition
    for p in procs:
        p.send_signal(signal.SIGSTOP)
    enq = enqueue(own.url, feed, workdir, partitions)
    cpu0 = own.cpu()
    started = time.perf_counter()
    for p in procs:
        p.send_signal(signal.SIGCONT)
    last = None
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        if settled(own.client, prefix) >= records:
            last = time.perf_counter()
            break
        time.sleep(0.05)
    cpu = own.cpu() - cpu0
    # The dedup entries that survive a worker: bytes per PK in Redis (hash + sighting sorted set).
    dedup_bytes = dedup_pks = 0
    for part in range(partitions):
        for key in (f"{prefix}dd:{part}", f"{prefix}dds:{part}"):
            dedup_bytes += int(own.client.memory_usage(key, samples=0) or 0)
        dedup_pks += int(own.client.hlen(f"{prefix}dd:{part}"))
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(120)
    if last is None:
        raise SystemExit(f"N={n}: the workers did not settle {records} records")
    events = 0
    for o in outs:  # one file per partition: events-<worker>.p<N>.jsonl
        for part in o.parent.glob(f"{o.stem}.p*.jsonl"):
            with open(part, "rb") as fh:
                events += sum(1 for _ in fh)
            part.unlink()
    span = last - started
    return {"workers": n, "records": records, "events": events, "seconds": span,
            "records_per_s": records / span, "events_per_s": events / span,
            "redis_cpu_s": cpu, "redis_cpu_ms_per_1k_events": 1e6 * cpu / max(events, 1),
            "dedup_pks": dedup_pks, "dedup_bytes_per_pk": dedup_bytes / max(dedup_pks, 1),
            "enqueue_records_per_s": enq["records"] / enq["wall_s"]}


def limiter_cost(own: OwnRedis, calls: int) -> dict[str, Any]:
    from ebi_mapper.delivery.ratelimit import Limit
    from ebi_mapper.scaleout.limiter import RedisRateLimiter

    own.client.flushall()
    lim = RedisRateLimiter(own.client, prefix="bench:", tenant=1, classes={"default": Limit(10_000_000, 1.0)},
                           global_limit=Limit(10_000_000, 1.0))
    for _ in range(200):  # warm up (script load, connection)
        lim.try_admit("default")
        lim.complete("default")
    started = time.perf_counter()
    for _ in range(calls):
        own.client.ping()
    ping = (time.perf_counter() - started) / calls
    cpu0 = own.cpu()
    started = time.perf_counter()
    for _ in range(calls):
        if lim.try_admit("default") == 0.0:
            lim.complete("default")
    both = (time.perf_counter() - started) / calls
    redis_cpu = (own.cpu() - cpu0) / calls
    started = time.perf_counter()
    for _ in range(calls):
        lim.try_admit("default")
    admit = (time.perf_counter() - started) / calls
    return {"calls": calls, "usec_per_call": admit * 1e6, "usec_per_admit_and_complete": both * 1e6,
            "usec_per_ping": ping * 1e6, "ratio_admit_to_ping": admit / ping,
            "redis_cpu_usec_per_admit_and_complete": redis_cpu * 1e6}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--limiter-calls", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ebi-bench-scaleout-"))
    own = OwnRedis(work)
    try:
        feed = work / "feed.jsonl"
        write_feed(feed, args.records, args.seed)
        out: dict[str, Any] = {"records": args.records, "cpus": os.cpu_count(), "map": map_once(feed, args.records)}
        out["runs"] = [workers_once(own, feed, args.records, n, work, args.partitions) for n in args.workers]
        base = next((r for r in out["runs"] if r["workers"] == 1), out["runs"][0])
        for r in out["runs"]:
            r["efficiency"] = r["events_per_s"] / (r["workers"] * base["events_per_s"] / base["workers"])
        out["limiter"] = limiter_cost(own, args.limiter_calls)
        per_worker = base["events_per_s"] / base["workers"]
        cpu_per_event = base["redis_cpu_s"] / max(base["events"], 1)
        out["projection"] = {"target_events_per_s": CAP, "workers_at_rate_1": CAP / per_worker,
                             "redis_cores": CAP * cpu_per_event,
                             "limiter_calls_per_s": CAP / 10,
                             "limiter_redis_cores": CAP / 10 * out["limiter"]["redis_cpu_usec_per_admit_and_complete"] / 1e6}
    finally:
        own.close()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    m = out["map"]
    print(f"feed: {args.records:,} records on {out['cpus']} CPUs; map --workers 1: {m['lines_per_s']:,.0f} lines/s")
    for r in out["runs"]:
        print(f"N={r['workers']}: {r['records_per_s']:,.0f} records/s, {r['events_per_s']:,.0f} events/s "
              f"({r['events']:,} events in {r['seconds']:.1f}s), efficiency {r['efficiency']:.2f}, "
              f"Redis CPU {r['redis_cpu_ms_per_1k_events']:.1f} ms per 1k events; producer {r['enqueue_records_per_s']:,.0f} records/s; "
              f"dedup in Redis {r['dedup_bytes_per_pk']:.0f} bytes per PK ({r['dedup_pks']:,} PKs)")
    lim = out["limiter"]
    print(f"limiter: {lim['usec_per_call']:.0f} usec per try_admit ({lim['ratio_admit_to_ping']:.2f}x a PING of "
          f"{lim['usec_per_ping']:.0f} usec); {lim['usec_per_admit_and_complete']:.0f} usec per admit + complete, "
          f"of which Redis CPU {lim['redis_cpu_usec_per_admit_and_complete']:.1f} usec")
    p = out["projection"]
    print(f"projection for {CAP:,} events/s: {p['workers_at_rate_1']:.0f} workers at the N=1 rate, "
          f"{p['redis_cores']:.2f} Redis cores for the queue; the limiter adds {p['limiter_calls_per_s']:,.0f} admissions/s "
          f"(10 events a request), ~{p['limiter_redis_cores']:.2f} Redis cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
