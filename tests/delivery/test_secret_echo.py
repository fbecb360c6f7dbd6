"""An upstream that echoes the token back: it reaches no dead letter, state file, stdout or stderr.

A real receiver on loopback answers every batch with the ``X-Api-Key`` it got, plainly, in
base64 and percent-encoded, in its error body (first a 503, then a 400; or a 401). ``ebi-mapper
run`` delivers to it as a subprocess; then the raw bytes of every file in the state dir, the
run's stdout and stderr, and ``ebi-mapper dlq list`` are searched for any form of the token.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from delivery_helpers import MAPPING, write_mixed

pytestmark = pytest.mark.e2e

TOKEN = "echo-me-S3CRET-7f3a9c1b2d4e5f60"
FORMS = (TOKEN, base64.b64encode(TOKEN.encode()).decode(), base64.b64encode(TOKEN.encode()).decode().rstrip("="),
         quote(TOKEN, safe=""), TOKEN[:12])  # a prefix too: no cut message may keep part of it


def _echo_server(mode: str) -> tuple[ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    lock = threading.Lock()

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("X-Api-Key", "")
            with lock:
                first = body not in seen
                seen.append(body)  # type: ignore[arg-type]
            status = 401 if mode == "401" else (503 if first else 400)
            echo = {"error": f"invalid api key {key!s}",
                    "message": "x" * 280 + f" {key} b64={base64.b64encode(key.encode()).decode()} url={quote(key, safe='')}"}
            out = json.dumps(echo).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Retry-After", "0")
            self.send_header("X-Echo", key)
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Echo), seen  # type: ignore[return-value]


@pytest.fixture(params=["503-then-400", "401"])
def echo(request) -> Iterator[tuple[str, str, list[str]]]:
    server, seen = _echo_server(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}/events", seen
    server.shutdown()
    server.server_close()
    thread.join()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPTIMOVE_TOKEN": TOKEN, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "ebi_mapper", *args], capture_output=True, env=env, cwd=str(cwd),
                          timeout=120)


def _leaks(data: bytes) -> list[str]:
    return [form for form in FORMS if form.encode() in data]


def test_an_echoed_token_is_nowhere(echo, tmp_path):
    mode, url, seen = echo
    src = tmp_path / "in.jsonl"
    write_mixed(src, 12, kinds={"deposit": 1})
    state = tmp_path / "state"
    run = _cli("run", str(MAPPING), "--input", str(src), "--state-dir", str(state), "--sink-option", f"url={url}",
               "--sink-option", "trust_env=false", "--no-progress", "--format", "json", cwd=tmp_path)
    assert seen, "the receiver was never reached"
    assert run.returncode in (1, 3), run.stderr.decode()  # findings or a refused token; never a traceback
    assert b"Traceback" not in run.stderr
    assert _leaks(run.stdout) == [] and _leaks(run.stderr) == []
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "state.sqlite" for p in files)
    for path in files:
        assert _leaks(path.read_bytes()) == [], path.name
    if mode == "401":
        assert b"refused the token" in run.stderr and b"[redacted]" in run.stderr  # said, with the echo masked
        return
    dlq = _cli("dlq", "list", "--state-dir", str(state), "--format", "json", cwd=tmp_path)
    assert dlq.returncode in (0, 1), dlq.stderr.decode()
    assert _leaks(dlq.stdout + dlq.stderr) == []
    assert b"[redacted]" in dlq.stdout and b"invalid api key" in dlq.stdout  # the reason is kept, the token masked
