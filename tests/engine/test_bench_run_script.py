"""bench/bench_run.py runs from a clone and its runs account for every record (its timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_run_runs_small_and_every_run_adds_up(tmp_path):
    cmd = [sys.executable, str(ROOT / "bench" / "bench_run.py"), "--sizes", "300", "--http-records", "200",
           "--state-records", "0", "--concurrency", "4", "--http-repeat", "2", "--json"]  # the state-size part: tests/delivery/test_retention.py
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (size,) = report["sizes"]
    assert size["records"] == 300 and size["map"]["balanced"] and size["run"]["adds_up"] and size["run_vs_first"] == 1.0
    assert size["run"]["delivered"] == size["map"]["events"] > 250  # the same events, whichever command
    http = report["http"]
    assert http["run"]["adds_up"] and http["run"]["events"] == http["load_generator"]["events"] > 150
    assert http["load_generator"]["failures"] == 0 and "state" not in report
    assert len(http["repeats"]) == 2 and http["ratio"] in [r["ratio"] for r in http["repeats"]]  # the median repeat's figures
    assert all(r["run"]["adds_up"] and r["run_one_process"]["adds_up"] for r in http["repeats"])
