"""Security of a real `ebi-mapper serve`: forged, stale and replayed signatures store nothing; no
secret (webhook secret, API key, admin token, sink token) leaks into the state files, the log,
/metrics, /status.json or the status page, even when the upstream echoes the sink token back.

The receiver here is an echo server: it answers every batch 503 once, then 400, with the
``X-Api-Key`` it got (plain, base64 and percent-encoded) in its error body, so every event is
retried, then dead-lettered with an echo of the token in its reason.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import httpx
import orjson
import pytest

from ebi_mapper.serve.signers import sign_headers

from .serve_helpers import ServeProcess, deposit, intake_rows, wait_until

pytestmark = pytest.mark.e2e

STRIPE = "/in/acme/stripe"
KEYED = "/in/acme/keyed"
STRIPE_SECRET = "whsec_security_e2e_4b1d2c3a"
API_KEY = "api-key-security-e2e-77f0"
ADMIN = "admin-token-security-e2e-9c2e"
SINK_TOKEN = "sink-token-security-e2e-51aa"
SECRETS = (STRIPE_SECRET, API_KEY, ADMIN, SINK_TOKEN)


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [value, base64.b64encode(raw).decode().rstrip("="), quote(value, safe=""), value[:14]]


@pytest.fixture
def echo_sink() -> Iterator[str]:
    seen: set[bytes] = set()
    lock = threading.Lock()

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("X-Api-Key", "")
            with lock:
                first = body not in seen
                seen.add(body)
            out = json.dumps({"error": f"bad key {key}", "message": f"b64 {base64.b64encode(key.encode()).decode()} "
                                                                   f"url {quote(key, safe='')}"}).encode()
            self.send_response(503 if first else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2/reportServer"
    server.shutdown()
    server.server_close()
    thread.join()


def _stripe(body: bytes, *, secret: str = STRIPE_SECRET, at: float | None = None) -> dict[str, str]:
    return {"content-type": "application/json", **sign_headers("stripe", secret, body, now=at)}


def _event(evt: str, tx: str) -> bytes:
    return orjson.dumps({"id": evt, **deposit(tx)})


def test_forged_stale_and_replayed_requests_store_nothing_and_no_secret_leaks(echo_sink, tmp_path):
    env = {"TEST_SERVE_STRIPE": STRIPE_SECRET, "TEST_SERVE_KEY": API_KEY, "EBI_MAPPER_ADMIN_TOKEN": ADMIN,
           "OPTIMOVE_TOKEN": SINK_TOKEN}
    admin = {"authorization": f"Bearer {ADMIN}"}
    with ServeProcess(tmp_path / "state", echo_sink, env=env) as sp, httpx.Client(base_url=sp.url) as c:
        before = intake_rows(sp.state_dir)
        good = _event("evt_good_1", "sec-1")
        refused = {
            "wrong secret": (good, _stripe(good, secret="whsec_not_the_one_0000")),
            "no signature": (good, {"content-type": "application/json"}),
            "stale": (good, _stripe(good, at=time.time() - 301)),
            "from the future": (good, _stripe(good, at=time.time() + 301)),
            "tampered body": (good.replace(b"sec-1", b"sec-2"), _stripe(good)),
            "secret in the body, unsigned": (orjson.dumps({"id": "evt_x", "note": STRIPE_SECRET}),
                                             {"content-type": "application/json", "stripe-signature": "t=1,v1=00"}),
        }
        for what, (body, headers) in refused.items():
            r = c.post(STRIPE, content=body, headers=headers)
            assert r.status_code == 401, (what, r.text)
            assert all(s not in r.text for s in SECRETS), what
        assert c.post(KEYED, content=b"{}", headers={"content-type": "application/json",
                                                      "x-api-key": API_KEY[:-1]}).status_code == 401
        assert intake_rows(sp.state_dir) == before, "a refused request was stored"
        # the real one is accepted once; replays (same event id, even freshly signed) are duplicates
        assert c.post(STRIPE, content=good, headers=_stripe(good)).status_code == 202
        assert c.post(STRIPE, content=good, headers=_stripe(good)).json()["status"] == "duplicate"
        assert c.post(STRIPE, content=good, headers=_stripe(good, at=time.time() - 200)).json()["status"] == "duplicate"
        assert intake_rows(sp.state_dir) == before + 1
        keyed = orjson.dumps(deposit("sec-3"))
        assert c.post(KEYED, content=keyed, headers={"content-type": "application/json", "x-api-key": API_KEY}).status_code == 202
        # both records' events end dead-lettered with the upstream's echo of the sink token in the reason
        def dead_letters() -> list | None:
            status = c.get("/status.json", headers=admin).json()
            rows = status["mappings"][0]["dead_letters"]
            return rows if sum(r["count"] for r in rows) >= 2 else None

        rows = wait_until(dead_letters, timeout=30, what="2 dead letters")
        assert any("bad key [redacted]" in (r["reason"] + json.dumps(r.get("example"))) for r in rows), rows
        views = {path: c.get(path, headers=admin).text for path in ("/metrics", "/status.json", "/")}
    files = {p.name: p.read_bytes() for p in sp.state_dir.rglob("*") if p.is_file()}
    assert "state.sqlite" in files and "intake.sqlite" in files
    places = {**{f"state file {k}": v for k, v in files.items()}, "serve log": sp.log.read_bytes(),
              **{f"GET {k}": v.encode() for k, v in views.items()}}
    for place, data in places.items():
        for secret in SECRETS:
            for form in _forms(secret):
                assert form.encode() not in data, f"{place} holds {secret[:6]}… as {form[:8]}…"
