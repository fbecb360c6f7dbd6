"""A real `ebi-mapper serve` whose source signs the way Slack does, described with the generic ``hmac`` scheme.

The sender's headers are built from the platform's recipe with ``hmac`` directly; the receiver is
a loopback HTTP server that stores what it is sent. A forged, tampered or stale request is
refused with 401 and stores nothing; the genuine one is accepted, delivered, and a replay of
its delivery id is a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from .serve_helpers import MAPPING, ServeProcess, deposit, intake_rows, wait_until

pytestmark = pytest.mark.e2e

SECRET = "slack-like-signing-secret-e2e"
SOURCE = """serve:
  sources:
    - name: chat
      path: /in/acme/chat
      auth: {scheme: hmac, secret_env: TEST_HMAC_SECRET, header: X-Slack-Signature, prefix: "v0=",
             signed: "v0:{timestamp}:{body}", timestamp_header: X-Slack-Request-Timestamp, id_header: X-Delivery-Id}
      formats: [json]
"""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    got: list[bytes] = []

    class Store(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            got.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Store)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2/reportServer", got
    server.shutdown()
    server.server_close()
    thread.join()


def _signed(body: bytes, *, at: float | None = None, secret: str = SECRET, delivery: str = "d-1") -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-slack-signature": sig, "x-slack-request-timestamp": ts, "x-delivery-id": delivery}


def test_a_platform_described_by_the_generic_hmac_scheme_is_verified_end_to_end(receiver, tmp_path):
    sink_url, got = receiver
    text = MAPPING.read_text()
    start, end = text.index("serve:\n"), text.index("  max_body_bytes:")
    mapping = tmp_path / "chat.yaml"
    mapping.write_text(text[:start] + SOURCE + text[end:])
    with ServeProcess(tmp_path / "state", sink_url, mapping=mapping, env={"TEST_HMAC_SECRET": SECRET}) as sp, \
            httpx.Client(base_url=sp.url) as c:
        body = orjson.dumps(deposit("hmac-1"))
        refused = {
            "wrong secret": (body, _signed(body, secret="someone-else")),
            "tampered": (body.replace(b"hmac-1", b"hmac-2"), _signed(body)),
            "stale": (body, _signed(body, at=time.time() - 400)),
            "unsigned": (body, {"content-type": "application/json"}),
        }
        for what, (content, headers) in refused.items():
            r = c.post("/in/acme/chat", content=content, headers=headers)
            assert r.status_code == 401, (what, r.status_code, r.text)
            assert SECRET not in r.text
        assert intake_rows(sp.state_dir) == 0
        assert c.post("/in/acme/chat", content=body, headers=_signed(body)).status_code == 202
        again = c.post("/in/acme/chat", content=body, headers=_signed(body))
        assert again.status_code in (200, 202) and again.json()["status"] == "duplicate"
        wait_until(lambda: any(b"hmac-1" in b for b in got), timeout=30, what="the deposit at the receiver")
    assert SECRET.encode() not in sp.log.read_bytes()
