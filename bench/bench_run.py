"""The delivery bench: `ebi-mapper run` against `ebi-mapper map` and against a plain load generator, in one run.

Run from the repository root::

    python bench/bench_run.py                        # 20k, 200k and 1M records, HTTP, state size
    python bench/bench_run.py --huge                 # also 5M records (about ten minutes more)
    python bench/bench_run.py --sizes 2000 --http-records 2000 --state-records 3000   # a quick look

What it prints, every figure from this one run (the machine is shared: compare ratios):

1. For each size, on the same generated feed (casino deposits and game sessions, one event per
   line, 1% garbage lines, event times in order over 7 days): `map --workers 1` lines/s and
   `run --sink jsonl` records/s (limits off, a fresh state dir; with its mapping process, the
   default on 2+ cores, and again with `--map-process off`: one process), the ratio run/map (target
   >= 0.5), each run rate relative to the smallest size's (target within +-20%: flat in the size
   of the state), and the peak RSS of each (flat).
2. HTTP on loopback: the bundled sandbox (limits off, no faults) fed by `run --sink optimove`
   (with its mapping process, and with `--map-process off`), against the same sandbox fed by two plain load generators (threads posting
   ready-made 10-event batches over keep-alive connections, one with the standard library's
   http.client, one with httpx): events/s of each and the ratio to the faster one, the
   receiver's ceiling (targets: >= 10,000 events/s and >= 0.5). The machine's rates move by
   10-20% from one minute to the next, so this is repeated (`--http-repeat`, 3 by default): each
   repeat's figures, then in full the repeat with the median ratio.
3. State size: the state dir after a feed spanning 7 days, with a 1-day dedup window and
   without one (the window keeps the file the size of one day of PKs, not of the input).

Each command runs as a child process through a small Python that reports the child's peak RSS
(``getrusage``); records/s is wall-clock from process start to exit (start-up and compiling the
mapping included), as in bench/bench.py. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import make_payloads  # noqa: E402

MAPPING = Path(__file__).resolve().parent / "mappings" / "casino.yaml"
MIX = {"wallet.deposit": 1, "casino.session.closed": 1}  # the feed: deposits and casino sessions
START = datetime(2026, 7, 1, tzinfo=UTC)
SPAN = timedelta(days=7)
NO_LIMITS = ["--limit", "profile=none", "--limit", "default=none", "--limit", "global=none"]
TOKEN = "bench-token"
_RSS = "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code, file=sys.stderr)"


def write_feed(path: Path, n: int, seed: int) -> int:
    """``n`` lines in event-time order over 7 days, 1% garbage; return the file's size."""
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        done = 0
        while done < n:
            size = min(20_000, n - done)
            # Each slice of the file covers its share of the 7 days, so the whole feed is in order.
            lo = START + SPAN * (done / n)
            batch = make_payloads("casino", size, rng, mix=MIX, timeline=(lo, SPAN * (size / n)))
            fh.write(b"\n".join(b'{"type": "wallet.deposit", "data": {oops' if rng.random() < 0.01 else orjson.dumps(p) for p in batch) + b"\n")
            done += size
    return path.stat().st_size


def _child(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, bytes, bytes]:
    """Run ``cmd`` through the RSS reporter: wall seconds, peak RSS MB, exit code, stdout, stderr."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RSS, *cmd], capture_output=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - started
    last = done.stderr.rstrip().rsplit(b"\n", 1)
    maxrss_kb, code = map(int, last[-1].split())
    return wall, maxrss_kb / 1024, code, done.stdout, (last[0] if len(last) > 1 else b"")


def compile_bytecode() -> None:
    """Write the project's ``.pyc`` files before anything is timed.

    An editable install under ``PYTHONDONTWRITEBYTECODE`` (this machine sets it) compiles every
    module from source at each start: about 0.2 s of each command's start-up that an installed
    package (pip writes the bytecode) never pays, and that would count against the small sizes.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", "ebi_mapper", "plugins"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def startup_once(workdir: Path, seed: int, repeat: int = 3) -> dict[str, float]:
    """Start-up of `map` and of `run` (seconds, the median of ``repeat``): each on a 20-line feed of the same kind."""
    feed = workdir / "feed-startup.jsonl"
    write_feed(feed, 20, seed)
    maps = sorted(map_once(feed, 20)["wall_s"] for _ in range(repeat))
    runs = sorted(run_once(feed, 20, workdir)["wall_s"] for _ in range(repeat))
    feed.unlink()
    return {"map_s": maps[len(maps) // 2], "run_s": runs[len(runs) // 2]}


def state_bytes(state_dir: Path) -> int:
    return sum(p.stat().st_size for p in state_dir.glob("state.sqlite*") if p.is_file())


def with_retention(workdir: Path, dedup: str) -> Path:
    """A copy of the bench mapping with ``delivery.retention.dedup`` set (beside the original's plugins: none)."""
    path = workdir / f"casino-retention-{dedup}.yaml"
    path.write_text(MAPPING.read_text(encoding="utf-8") + f"\ndelivery:\n  retention: {{dedup: {dedup}}}\n", encoding="utf-8")
    return path


def map_once(feed: Path, lines: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "ebi_mapper", "map", str(MAPPING), str(feed), "--out", os.devnull, "--summary", "json", "--workers", "1"]
    wall, rss, code, _, err = _child(cmd)
    summary = json.loads(err[err.index(b"{"):])
    return {"lines": lines, "wall_s": wall, "lines_per_s": lines / wall, "peak_rss_mb": rss, "exit": code,
            "events": summary["events_total"], "balanced": summary["balanced"]}


def run_once(feed: Path, lines: int, workdir: Path, mapping: Path = MAPPING, keep_state: bool = False,
             map_process: str = "auto") -> dict[str, Any]:
    state, out = workdir / "state", workdir / "events.jsonl"
    shutil.rmtree(state, ignore_errors=True)
    cmd = [sys.executable, "-m", "ebi_mapper", "run", str(mapping), "--input", str(feed), "--state-dir", str(state),
           "--sink", "jsonl", "--sink-option", f"path={out}", "--no-progress", "--format", "json", "--map-process", map_process,
           *NO_LIMITS]
    wall, rss, code, stdout, err = _child(cmd)
    if not stdout:
        raise SystemExit(f"run failed ({code}): {err.decode()[-2000:]}")
    summary = json.loads(stdout)
    result = {"lines": lines, "wall_s": wall, "records_per_s": lines / wall, "loop_s": summary["elapsed_seconds"],
              "peak_rss_mb": rss, "exit": code, "delivered": summary["events"]["delivered"],
              "adds_up": summary["adds_up"] and summary["records"]["read"] == lines, "state_bytes": state_bytes(state)}
    out.unlink(missing_ok=True)
    if not keep_state:
        shutil.rmtree(state, ignore_errors=True)
    return result


# -- HTTP ------------------------------------------------------------------------------------------


class Sandbox:
    """The bundled sandbox in a child process, limits off, no faults."""

    def __enter__(self) -> Sandbox:
        cmd = [sys.executable, "-m", "ebi_mapper", "sandbox", "--port", "0", "--no-rate-limit", "--vertical", "casino",
               "--token", TOKEN, "--format", "json"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
        self.info = json.loads(self.proc.stdout.readline())
        return self

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def load_generator(endpoint: str, batches: list[bytes], threads: int, client: str = "http.client") -> dict[str, Any]:
    """``threads`` threads post the ready-made batches over keep-alive connections: the receiver's ceiling.

    ``client``: ``http.client`` (the standard library's, about a third of httpx's CPU per request,
    so the receiver, not the generator, is what runs out) or ``httpx``.
    """
    import http.client
    from urllib.parse import urlsplit

    import httpx

    todo = iter(range(len(batches)))
    lock = threading.Lock()
    failures = []
    headers = {"X-Api-Key": TOKEN, "Content-Type": "application/json"}
    where = urlsplit(endpoint)

    def post_httpx(conn: httpx.Client, body: bytes) -> int:
        return conn.post(endpoint, content=body).status_code

    def post_stdlib(conn: http.client.HTTPConnection, body: bytes) -> int:
        conn.request("POST", where.path, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status

    def worker() -> None:
        conn: Any = (httpx.Client(headers=headers, timeout=30) if client == "httpx"
                     else http.client.HTTPConnection(where.hostname, where.port, timeout=30))
        post = post_httpx if client == "httpx" else post_stdlib
        try:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                status = post(conn, batches[i])
                if status != 200:
                    failures.append(status)
        finally:
            conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    events = sum(b.count(b'"tenant"') for b in batches)
    return {"client": client, "requests": len(batches), "events": events, "wall_s": wall, "events_per_s": events / wall,
            "failures": len(failures)}


def http_bench(records: int, workdir: Path, seed: int, concurrency: int, repeat: int = 3) -> dict[str, Any]:
    feed = workdir / "http.jsonl"
    write_feed(feed, records, seed)
    # The load generator sends exactly the events `run` sends: map the same feed first.
    events_file = workdir / "http-events.jsonl"
    subprocess.run([sys.executable, "-m", "ebi_mapper", "map", str(MAPPING), str(feed), "--out", str(events_file), "--summary", "none",
                    "--workers", "1"], cwd=ROOT, check=False)
    lines = events_file.read_bytes().splitlines()
    batches = [b"[" + b",".join(lines[i:i + 10]) + b"]" for i in range(0, len(lines), 10)]
    env = {**os.environ, "OPTIMOVE_TOKEN": TOKEN}
    # The machine is shared and its rates move by 10-20% from one minute to the next: each repeat
    # measures the receiver's ceiling and `run` one after the other, and the repeat with the median
    # ratio is the one reported (each repeat is printed too).
    repeats = [_http_repeat(feed, batches, records, workdir, concurrency, env) for _ in range(max(1, repeat))]
    middle = sorted(repeats, key=lambda r: r["ratio"])[len(repeats) // 2]
    return {**middle, "repeats": repeats}


def _http_repeat(feed: Path, batches: list[bytes], records: int, workdir: Path, concurrency: int, env: dict[str, str]) -> dict[str, Any]:
    """One measurement: both load generators, then `run` with and without its mapping process, each to a fresh sandbox."""
    generators = []
    for client in ("http.client", "httpx"):
        with Sandbox() as sandbox:  # a fresh receiver for each: the same work (every PK new to it)
            generators.append(load_generator(sandbox.info["endpoint"], batches, concurrency, client))
    plain = max(generators, key=lambda g: g["events_per_s"])  # the receiver's ceiling: the faster generator
    runs = {}
    for map_process in ("auto", "off"):  # with the mapping process (the default on 2+ cores), and in one process
        with Sandbox() as sandbox:  # a fresh receiver: the same work (every PK new to it)
            state = workdir / "http-state"
            shutil.rmtree(state, ignore_errors=True)
            cmd = [sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--input", str(feed), "--state-dir", str(state),
                   "--sink", "optimove", "--sink-option", f"url={sandbox.info['endpoint']}", "--no-progress", "--format", "json",
                   "--concurrency", str(concurrency), "--map-process", map_process, *NO_LIMITS]
            wall, rss, code, stdout, err = _child(cmd, env)
            shutil.rmtree(state, ignore_errors=True)
        if not stdout:
            raise SystemExit(f"run over HTTP failed ({code}): {err.decode()[-2000:]}")
        summary = json.loads(stdout)
        delivered = summary["events"]["delivered"]
        runs[map_process] = {"records": records, "events": delivered, "wall_s": wall, "loop_s": summary["elapsed_seconds"],
                             "events_per_s": delivered / wall, "loop_events_per_s": delivered / max(summary["elapsed_seconds"], 1e-9),
                             "requests": summary["this_run"].get("requests_ok", 0), "peak_rss_mb": rss, "adds_up": summary["adds_up"]}
    run = runs["auto"]
    return {"concurrency": concurrency, "load_generator": plain, "load_generators": generators, "run": run,
            "run_one_process": runs["off"], "ratio": run["loop_events_per_s"] / plain["events_per_s"],
            "ratio_one_process": runs["off"]["loop_events_per_s"] / plain["events_per_s"]}


def state_size_bench(records: int, workdir: Path, seed: int) -> dict[str, Any]:
    feed = workdir / "state-feed.jsonl"
    write_feed(feed, records, seed)
    out = {"records": records, "feed_days": SPAN.days}
    for label, mapping in (("window_1d", with_retention(workdir, "1d")), ("no_window", with_retention(workdir, "none"))):
        r = run_once(feed, records, workdir, mapping, keep_state=True)
        stats = subprocess.run([sys.executable, "-m", "ebi_mapper", "state", "stats", "--state-dir", str(workdir / "state"), "--format", "json"],
                               capture_output=True, cwd=ROOT, check=True)
        data = json.loads(stats.stdout)
        out[label] = {"state_bytes": r["state_bytes"], "dedup_rows": data["rows"]["dedup"], "records_per_s": r["records_per_s"]}
        shutil.rmtree(workdir / "state", ignore_errors=True)
    feed.unlink()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000, 1_000_000], help="feed sizes for map vs run (the first is the reference rate)")
    parser.add_argument("--huge", action="store_true", help="add 5,000,000 records to --sizes (and to the state-size run)")
    parser.add_argument("--http-records", type=int, default=100_000, help="records fed to the sandbox over HTTP (0: skip)")
    parser.add_argument("--http-repeat", type=int, default=3, help="HTTP measurements, one after the other (the median ratio's is reported)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight: `run --concurrency` and the load generator's threads")
    parser.add_argument("--state-records", type=int, default=200_000, help="records of the 7-day feed for the state size (0: skip)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    sizes = args.sizes + ([5_000_000] if args.huge else [])
    report: dict[str, Any] = {"sizes": []}
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="ebi-bench-run-") as tmp:
        work = Path(tmp)
        report["startup"] = start = startup_once(work, args.seed)
        for n in sizes:
            feed = work / f"feed-{n}.jsonl"
            size = write_feed(feed, n, args.seed)
            m, r, one = map_once(feed, n), run_once(feed, n, work), run_once(feed, n, work, map_process="off")
            feed.unlink()
            # The rates once started: the fixed start-up (a 20-line feed's wall time) taken off each.
            m["lines_per_s_started"] = n / max(m["wall_s"] - start["map_s"], 1e-9)
            r["records_per_s_started"] = n / max(r["wall_s"] - start["run_s"], 1e-9)
            report["sizes"].append({"records": n, "bytes": size, "map": m, "run": r, "ratio": r["records_per_s"] / m["lines_per_s"],
                                    "ratio_started": r["records_per_s_started"] / m["lines_per_s_started"],
                                    "run_one_process": one, "ratio_one_process": one["records_per_s"] / m["lines_per_s"]})
        base = report["sizes"][0]["run"]["records_per_s"]
        base_started = report["sizes"][0]["run"]["records_per_s_started"]
        for entry in report["sizes"]:
            entry["run_vs_first"] = entry["run"]["records_per_s"] / base
            entry["run_vs_first_started"] = entry["run"]["records_per_s_started"] / base_started
        if args.http_records:
            report["http"] = http_bench(args.http_records, work, args.seed, args.concurrency, args.http_repeat)
        if args.state_records:
            report["state"] = state_size_bench(5_000_000 if args.huge else args.state_records, work, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("map --workers 1 vs run --sink jsonl (limits off), the same feed: casino deposits + sessions, 1 event a line, 1% garbage, 7 days")
    st = report["startup"]
    print(f"  start-up (a 20-line feed, median of 3): map {st['map_s']:.2f} s, run {st['run_s']:.2f} s; 'started' rates take it off")
    for e in report["sizes"]:
        m, r = e["map"], e["run"]
        print(f"  {e['records']:>9,} records ({e['bytes'] / 1e6:,.0f} MB): map {m['lines_per_s']:>8,.0f} lines/s ({m['peak_rss_mb']:.0f} MB)   "
              f"run {r['records_per_s']:>8,.0f} records/s ({r['peak_rss_mb']:.0f} MB, state {r['state_bytes'] / 1e6:,.0f} MB)   "
              f"run/map {e['ratio']:.2f}   run vs {report['sizes'][0]['records']:,}: {e['run_vs_first']:.2f}   adds up: {r['adds_up']}")
        print(f"  {'':>9}   started: map {m['lines_per_s_started']:>8,.0f} lines/s   run {r['records_per_s_started']:>8,.0f} records/s   "
              f"run/map {e['ratio_started']:.2f}   run vs {report['sizes'][0]['records']:,}: {e['run_vs_first_started']:.2f}")
        one = e["run_one_process"]
        print(f"  {'':>9}   one process (--map-process off): run {one['records_per_s']:>8,.0f} records/s ({one['peak_rss_mb']:.0f} MB)   "
              f"run/map {e['ratio_one_process']:.2f}   adds up: {one['adds_up']}")
    if "http" in report:
        h = report["http"]
        g, r = h["load_generator"], h["run"]
        print(f"HTTP to the sandbox on loopback, limits off, {h['concurrency']} requests in flight, {len(h['repeats'])} repeats "
              f"(receiver's ceiling, then run, then run in one process; events/s in the loop):")
        for n, rep in enumerate(h["repeats"], 1):
            print(f"  repeat {n}: ceiling {rep['load_generator']['events_per_s']:>7,.0f}   run {rep['run']['loop_events_per_s']:>7,.0f} "
                  f"(ratio {rep['ratio']:.2f})   one process {rep['run_one_process']['loop_events_per_s']:>7,.0f} "
                  f"(ratio {rep['ratio_one_process']:.2f})   adds up: {rep['run']['adds_up'] and rep['run_one_process']['adds_up']}")
        print("  the repeat with the median ratio:")
        for lg in h["load_generators"]:
            print(f"  plain load generator ({lg['client']}): {lg['events']:,} events in {lg['requests']:,} requests: "
                  f"{lg['events_per_s']:,.0f} events/s ({lg['failures']} failed)")
        print(f"  run --sink optimove:  {r['events']:,} events in {r['requests']:,} requests: {r['loop_events_per_s']:,.0f} events/s in the loop "
              f"({r['events_per_s']:,.0f} with start-up), peak RSS {r['peak_rss_mb']:.0f} MB, adds up: {r['adds_up']}")
        one = h["run_one_process"]
        print(f"  run --map-process off: {one['loop_events_per_s']:,.0f} events/s in the loop ({one['events_per_s']:,.0f} with start-up), "
              f"adds up: {one['adds_up']}")
        print(f"  run / the faster load generator ({g['client']}): {h['ratio']:.2f} (one process: {h['ratio_one_process']:.2f})")
    if "state" in report:
        s = report["state"]
        print(f"state dir after {s['records']:,} records spanning {s['feed_days']} days:")
        for label, name in (("window_1d", "1-day dedup window"), ("no_window", "no window        ")):
            v = s[label]
            print(f"  {name}: {v['state_bytes'] / 1e6:,.1f} MB, {v['dedup_rows']:,} dedup entries ({v['records_per_s']:,.0f} records/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
