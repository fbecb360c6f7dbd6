"""The serve bench: accepted webhooks/s and accept latency at 1, 8 and 64 concurrent senders, the
lag from accept to delivered, and `run` on a file of the same records as the reference, in one run.

Run from the repository root::

    python bench/bench_serve.py                     # 5,000 webhooks per level
    python bench/bench_serve.py --requests 500 --levels 1 8 --json    # a quick look

What it prints (every figure from this one run; the machine is shared, compare ratios):

1. For each number of concurrent senders (asyncio tasks, each on its own keep-alive connection,
   a minimal HTTP/1.1 client so the generator costs the shared CPU little; one record a request,
   as webhooks come): accepted requests/s (each 202 follows the intake COMMIT), p50 and
   p99 accept latency, and, with the sandbox on loopback as the receiver (limits off), the drain
   time after the last accept and the accept → delivered lag that serve's /status.json reports
   (p50/p99 over the level).
2. `run --sink optimove` on a file holding the same records, to the same kind of sandbox: records/s
   from process start to exit (the reference of the ratio serve accepted/s ÷ run records/s).

`serve` runs as a child process (its own interpreter, as in production); the senders run here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_run import MAPPING, NO_LIMITS, ROOT, TOKEN, Sandbox, write_feed  # noqa: E402

KEY = "bench-serve-key"
PATH = "/in/bench-casino/bench"


def serve_mapping(workdir: Path) -> Path:
    """bench/mappings/casino.yaml with a serve: section (one source behind an API key)."""
    text = MAPPING.read_text()
    text += ("\nserve:\n  sources:\n    - name: bench\n      auth: {scheme: api_key, secret_env: BENCH_SERVE_KEY}\n"
             "  max_backlog: 10000000\n  min_free_disk_mb: 0\n")
    path = workdir / "casino-serve.yaml"
    path.write_text(text)
    # the bench mapping's plugins and tables are found next to it
    for item in MAPPING.parent.iterdir():
        if item.name != MAPPING.name and not (workdir / item.name).exists():
            (workdir / item.name).symlink_to(item)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    def __init__(self, mapping: Path, state: Path, endpoint: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OPTIMOVE_TOKEN": TOKEN, "BENCH_SERVE_KEY": KEY}
        cmd = [sys.executable, "-m", "ebi_mapper", "serve", str(mapping), "--port", str(self.port), "--state-dir", str(state),
               "--sink-option", f"url={endpoint}", "--sink-option", "trust_env=false", "--linger-ms", "50",
               "--concurrency", "8", *NO_LIMITS]
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_ready(self) -> None:
        import httpx

        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit("serve did not start")

    def status(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(self.url + "/status.json", timeout=10).json()["mappings"][0])

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(60)


async def _sender(host: str, port: int, todo: Any, bodies: list[bytes], latencies: list[float],
                  refused: dict[int, int]) -> None:
    """One keep-alive connection posting webhooks one after the other (a minimal HTTP/1.1 client:
    the load generator must cost the shared CPU little, or it measures itself)."""
    reader, writer = await asyncio.open_connection(host, port)
    head = f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nX-Api-Key: {KEY}\r\n".encode()
    try:
        for i in todo:
            body = bodies[i]
            t0 = time.perf_counter()
            writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if status == 202:
                latencies.append(time.perf_counter() - t0)
            else:
                refused[status] = refused.get(status, 0) + 1
    finally:
        writer.close()


async def senders(url: str, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    refused: dict[int, int] = {}
    todo = iter(range(len(bodies)))
    started = time.perf_counter()
    await asyncio.gather(*(_sender(host, int(port), todo, bodies, latencies, refused) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {"concurrency": concurrency, "requests": len(bodies), "accepted": n, "refused": refused, "wall_s": wall,
            "accepted_per_s": n / wall, "p50_ms": 1000 * latencies[n // 2] if n else None,
            "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None}


def level(mapping: Path, bodies: list[bytes], concurrency: int, workdir: Path, expected_events: int) -> dict[str, Any]:
    import httpx

    state = workdir / f"state-{concurrency}"
    shutil.rmtree(state, ignore_errors=True)
    with Sandbox() as sandbox:
        serve = Serve(mapping, state, sandbox.info["endpoint"])
        try:
            serve.wait_ready()
            result = asyncio.run(senders(serve.url, bodies, concurrency))
            accepted_at = time.perf_counter()
            base = sandbox.info["endpoint"].rsplit("/v2/", 1)[0]
            end = time.monotonic() + 300
            stored = 0
            while time.monotonic() < end:  # the receiver holds every event: drained
                stored = int(httpx.get(base + "/stats", timeout=10).json()["stored"]["events"])
                if stored >= expected_events:
                    break
                time.sleep(0.02)
            result["drain_s"] = time.perf_counter() - accepted_at
            result["delivered_events"] = stored
            result["lag_s"] = serve.status()["lag_seconds"]
        finally:
            code = serve.stop()
            result["exit"] = code
    shutil.rmtree(state, ignore_errors=True)
    return result


def run_reference(feed: Path, workdir: Path) -> dict[str, Any]:
    state = workdir / "run-state"
    shutil.rmtree(state, ignore_errors=True)
    with Sandbox() as sandbox:
        cmd = [sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--input", str(feed), "--state-dir", str(state),
               "--sink", "optimove", "--sink-option", f"url={sandbox.info['endpoint']}", "--no-progress", "--format", "json",
               "--concurrency", "8", *NO_LIMITS]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, cwd=ROOT, env={**os.environ, "OPTIMOVE_TOKEN": TOKEN}, check=False)
        wall = time.perf_counter() - started
    shutil.rmtree(state, ignore_errors=True)
    if not done.stdout:
        raise SystemExit(f"run failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    summary = json.loads(done.stdout)
    records = summary["records"]["read"]
    return {"records": records, "wall_s": wall, "records_per_s": records / wall, "events": summary["events"]["delivered"],
            "loop_records_per_s": records / max(summary["elapsed_seconds"], 1e-9)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000, help="webhooks per concurrency level")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 64], help="concurrent senders")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        workdir = Path(tmp)
        feed = workdir / "feed.jsonl"
        write_feed(feed, args.requests, args.seed)
        lines = [line for line in feed.read_bytes().splitlines() if line.strip()]
        good = [line for line in lines if _is_object(line)]  # serve refuses a bad body with 400; run rejects the line
        mapping = serve_mapping(workdir)
        reference = run_reference(feed, workdir)
        levels = [level(mapping, good, c, workdir, reference["events"]) for c in args.levels]
    report = {"requests": args.requests, "levels": levels, "run": reference,
              "ratios": {str(lv["concurrency"]): lv["accepted_per_s"] / reference["records_per_s"] for lv in levels}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"serve on loopback, {args.requests} webhooks per level (one record each), the sandbox as receiver, limits off")
    print(f"reference: run on a file of the same records: {reference['records_per_s']:,.0f} records/s from start to exit "
          f"({reference['records']} records, {reference['wall_s']:.2f}s), {reference['loop_records_per_s']:,.0f}/s in its loop")
    for lv in levels:
        lag = lv["lag_s"]
        print(f"  {lv['concurrency']:>3} senders: {lv['accepted_per_s']:>8,.0f} accepted/s  p50 {lv['p50_ms']:.2f} ms  "
              f"p99 {lv['p99_ms']:.2f} ms  (x{lv['accepted_per_s'] / reference['records_per_s']:.2f} of run)  "
              f"drained {lv['drain_s']:.2f}s after the last accept; lag accept->delivered p50 {lag['p50']} s p99 {lag['p99']} s"
              + (f"  refused {lv['refused']}" if lv["refused"] else ""))
    return 0


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
