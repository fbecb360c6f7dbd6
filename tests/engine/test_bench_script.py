"""bench/bench.py runs from a clone and its three implementations agree (its timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_small_and_its_implementations_agree(tmp_path):
    cmd = [sys.executable, str(ROOT / "bench" / "bench.py"), "--records", "100", "--repeat", "1", "--lines", "200", "--workers", "1", "auto", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    figures = report["in_process"]["figures"]
    assert set(figures) == {"naive", "ebi-mapper", "hand-written"}
    assert figures["ebi-mapper"]["events"] == figures["naive"]["events"] > 100
    same, total = report["in_process"]["agreement"]["naive"]
    assert same == total == report["in_process"]["records"]  # byte-identical events, payload by payload
    runs = report["end_to_end"]
    assert {(r["workload"], r["workers"], r["lines"]) for r in runs} >= {("mixed", "1", 200), ("mixed", "auto", 200), ("deposits", "1", 20)}
    assert all(r["balanced"] and r["exit"] in (0, 1) and r["processes"] == 1 for r in runs)  # 200 lines: auto is one process
