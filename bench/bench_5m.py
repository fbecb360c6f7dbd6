"""5,000,000 records through bench_run's own pieces, in one invocation: `map` vs `run --sink jsonl`
(the default 7-day window) and the state size with a 1-day dedup window on the same 7-day feed,
after a 20,000-record reference run (the rate the 5M run is compared with).

Run from the repository root (about 15 minutes and 2 GB of temporary files on the 2-core machine)::

    python bench/bench_5m.py > 5m.json

It prints one JSON document: ``ref_20k`` (map and run), ``map_5m``, ``run_5m``, ``run_5m_1d`` and
``stats_5m_1d`` (``ebi-mapper state stats`` of the 1-day state). docs/delivery.md ("Measured")
quotes its figures; bench/bench_run.py ``--huge`` measures the same and more in one longer run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_run as b  # noqa: E402


def main() -> int:
    out: dict = {}
    b.compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="ebi-bench-5m-") as tmp:
        work = Path(tmp)
        out["startup"] = b.startup_once(work, 2026)
        ref = work / "feed-20k.jsonl"
        b.write_feed(ref, 20_000, 2026)
        out["ref_20k"] = {"map": b.map_once(ref, 20_000), "run": b.run_once(ref, 20_000, work)}
        feed = work / "feed-5m.jsonl"
        started = time.time()
        out["feed_bytes"] = b.write_feed(feed, 5_000_000, 2026)
        out["feed_write_s"] = time.time() - started
        out["map_5m"] = b.map_once(feed, 5_000_000)
        out["run_5m"] = b.run_once(feed, 5_000_000, work)
        out["run_5m_1d"] = b.run_once(feed, 5_000_000, work, b.with_retention(work, "1d"), keep_state=True)
        stats = subprocess.run([sys.executable, "-m", "ebi_mapper", "state", "stats", "--state-dir", str(work / "state"),
                                "--format", "json"], capture_output=True, check=True, cwd=b.ROOT)
        out["stats_5m_1d"] = json.loads(stats.stdout)
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
