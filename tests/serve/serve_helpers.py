"""Helpers of the serve tests: a real `ebi-mapper serve` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "casino-serve.yaml"
AT = "2025-03-01T12:00:00Z"
STRIPE_SECRET = "whsec_test_serve_0123456789"
WOO_SECRET = "woo-secret-test-serve-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deposit(tx: str, amount: float = 5, player: int = 1) -> dict:
    return {"type": "deposit", "player": player, "tx": tx, "amount": amount, "currency": "EUR", "at": AT}


class ServeProcess:
    """``ebi-mapper serve`` in a child process; ``url`` once /healthz answers."""

    def __init__(self, state_dir: Path, sink_url: str, *, mapping: Path = MAPPING, env: dict | None = None,
                 extra: tuple[str, ...] = (), port: int | None = None):
        self.state_dir = state_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state_dir.parent / f"serve-{self.port}.log"
        self.env = {**os.environ, "OPTIMOVE_TOKEN": "sandbox-token", "TEST_SERVE_KEY": "k1",
                    "TEST_SERVE_STRIPE": STRIPE_SECRET, "TEST_SERVE_WOO": WOO_SECRET, **(env or {})}
        self.cmd = [sys.executable, "-m", "ebi_mapper", "serve", str(mapping), "--port", str(self.port),
                    "--state-dir", str(state_dir), "--sink-option", f"url={sink_url}", "--sink-option", "trust_env=false",
                    "--linger-ms", "20", *extra]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> ServeProcess:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=fh, stderr=fh)
        fh.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"serve did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        self.kill()


def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def intake_rows(state_dir: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(state_dir / "intake.sqlite")
    try:
        return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'intake'").fetchone()[0]
    finally:
        conn.close()
