"""``ebi-mapper sandbox`` in the foreground, as a user starts it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from sandbox_helpers import deposit

ROOT = Path(__file__).resolve().parents[2]


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "ebi_mapper", "sandbox", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_serves_until_interrupted_and_prints_its_address(tmp_path):
    proc = _start("--format", "json", "--vertical", "casino", "--token", "cli-token", "--tenant", "567",
                  "--db", str(tmp_path / "s.db"), "--rate-limit", "profile=5/1", "--seed", "1")
    try:
        info = json.loads(proc.stdout.readline())
        assert info["endpoint"] == info["url"] + "/v2/reportServer"
        r = httpx.post(info["endpoint"], json=[deposit()], headers={info["auth_header"]: "cli-token"})
        assert r.status_code == 200
        stats = httpx.get(info["url"] + "/stats").json()
        assert stats["rate_classes"]["profile"]["limit"] == 5
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err


def test_cli_text_output_and_faults_from_flags(tmp_path):
    proc = _start("--no-auth", "--vertical", "casino", "--fault-500", "1")
    try:
        header = [proc.stdout.readline() for _ in range(5)]
        first = header[0]
        assert first.startswith("ebi-mapper sandbox listening on http://127.0.0.1:")
        url = first.split()[-1]
        assert httpx.post(url + "/v2/reportServer", json=[deposit()]).status_code == 500
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "  auth: none\n" in header
    assert "stopped: 1 requests" in err


def test_cli_refuses_a_bad_probability():
    proc = _start("--fault-500", "2")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert "probability" in err
