"""`ebi-mapper run` stopped by SIGTERM / SIGINT in a real subprocess: a clean stop, a summary, 143 / 130, a resume.

Also: with ``--sink stdout`` the events alone are on stdout (the summary goes to stderr).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from delivery_helpers import MAPPING

AT = "2025-03-01T12:00:00Z"


def _deposit(i: int) -> bytes:
    return orjson.dumps({"type": "deposit", "player": i % 7, "tx": f"tx{i}", "amount": 5 + i, "currency": "EUR", "at": AT}) + b"\n"


def _start(tmp_path, *args, stdin=subprocess.DEVNULL):
    cmd = [sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--state-dir", str(tmp_path / "state"), "--no-progress", *args]
    return subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)


def _wait_for_lines(path, n, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {n} lines")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_stdin_cleanly_with_the_summary(tmp_path, sig, code):
    out = tmp_path / "events.jsonl"
    proc = _start(tmp_path, "--input", "-", "--sink", "jsonl", "--sink-option", f"path={out}", "--linger-ms", "0",
                  "--format", "json", stdin=subprocess.PIPE)
    proc.stdin.write(b"".join(_deposit(i) for i in range(30)))
    proc.stdin.flush()
    _wait_for_lines(out, 30)  # read, committed and delivered; stdin stays open: the run would wait for ever
    proc.stdin.write(b"".join(_deposit(i) for i in range(30, 40)))  # read ahead, maybe not yet committed
    proc.stdin.flush()
    time.sleep(0.2)
    proc.send_signal(sig)
    proc.wait(timeout=60)  # stdin stays open: had it closed, the run would have ended on its own
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        pipe.close()
    assert proc.returncode == code, stderr
    assert b"Traceback" not in stderr and b"stopping" in stderr
    summary = json.loads(stdout)
    assert summary["status"] == "interrupted" and summary["adds_up"]
    r = summary["records"]
    # Lines taken from stdin cannot be read again: every one read was committed before stopping.
    assert r["read"] == 40 == r["delivered"] + r["pending"]
    delivered = [json.loads(line)["context"]["ootb_transaction_id"] for line in out.read_bytes().splitlines()]
    assert len(delivered) == len(set(delivered)) >= 30


def test_sigterm_mid_delivery_then_the_next_run_finishes(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_deposit(i) for i in range(200)))
    out = tmp_path / "events.jsonl"
    args = ["--input", str(src), "--sink", "jsonl", "--sink-option", f"path={out}", "--format", "json"]
    proc = _start(tmp_path, *args, "--limit", "default=4/1s")  # 20 batches at 4 a second: time to be stopped
    _wait_for_lines(out, 10)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    first = json.loads(stdout)
    assert first["status"] == "interrupted" and first["adds_up"] and first["backlog"] > 0
    assert first["records"]["read"] == 200
    again = _start(tmp_path, *args)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    final = json.loads(stdout)
    assert final["status"] == "complete" and final["records"]["delivered"] == 200 and final["backlog"] == 0
    delivered = [json.loads(line)["context"]["ootb_transaction_id"] for line in out.read_bytes().splitlines()]
    assert sorted(set(delivered)) == sorted(f"tx{i}" for i in range(200))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_with_the_stdout_sink_stdout_holds_only_events(tmp_path, fmt):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_deposit(i) for i in range(25)) + b'{"type": "deposit", oops\n')
    proc = _start(tmp_path, "--input", str(src), "--sink", "stdout", "--format", fmt)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr  # the malformed line is rejected
    events = [json.loads(line) for line in stdout.splitlines()]
    assert len(events) == 25 and all(e["event"] == "ootb_deposit" for e in events)
    if fmt == "json":
        assert json.loads(stderr[stderr.index(b"{"):])["records"]["rejected"] == 1
    else:
        assert b"records:  26 read = 25 delivered + 1 rejected" in stderr


def test_map_shows_no_progress_on_a_pipe(tmp_path):
    # Progress is for a terminal: a redirected stderr gets the summary alone.
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_deposit(i) for i in range(10)))
    done = subprocess.run([sys.executable, "-m", "ebi_mapper", "map", str(MAPPING), str(src), "--out", os.devnull],
                          capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and b"\r" not in done.stderr and b"summary:" in done.stderr


def _on_a_terminal(cmd, cwd):
    """Run ``cmd`` with stderr on a pseudo-terminal; return what it drew there."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, cwd=cwd)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return seen.decode()


def test_map_draws_progress_with_size_and_eta_on_a_terminal(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(_deposit(i) for i in range(20_000)))
    drawn = _on_a_terminal([sys.executable, "-m", "ebi_mapper", "map", str(MAPPING), str(src), "--out", os.devnull, "--workers", "1"], tmp_path)
    assert "\r" in drawn and "records" in drawn and "% of" in drawn and "ETA" in drawn
    last_draw = drawn.rindex("ETA")
    assert "summary:" in drawn[last_draw:] and " " * 20 + "\r" in drawn[last_draw:]  # erased, then the summary


def test_progress_words_percent_rate_and_eta():
    from ebi_mapper.cli.progress import describe, format_eta
    from ebi_mapper.delivery.summary import Progress

    p = Progress(elapsed=2.0, records_read=5000, records_per_second=2500.0, sent=0, rejected=0, dead_lettered=0,
                 backlog=0, in_flight=0, bytes_done=250_000, bytes_total=1_000_000, bytes_per_second=125_000.0)
    assert p.fraction == 0.25 and p.eta_seconds == 6.0
    assert describe(5000, 2500.0, 250_000, 1_000_000, 6.0) == "5,000 records  2,500/s  25% of 1.0 MB  ETA 6s"
    assert describe(5000, 2500.0) == "5,000 records  2,500/s"  # stdin: no size, no ETA
    assert [format_eta(s) for s in (None, 59.4, 125, 3720)] == ["?", "59s", "2m05s", "1h02m"]
    assert Progress(1.0, 1, 1.0, 0, 0, 0, 0, 0).fraction is None
