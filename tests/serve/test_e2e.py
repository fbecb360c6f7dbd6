"""`ebi-mapper serve` end to end: a real uvicorn process on loopback, the sandbox as the receiver.

Every status code of docs/serve.md, durable accept, dlq/plan/state on a serving state dir,
metrics that agree with the state, the admin guard, and a SIGTERM drain that loses nothing.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import orjson
import pytest

from ebi_mapper.serve.signers import sign_headers

from .serve_helpers import MAPPING, STRIPE_SECRET, WOO_SECRET, ServeProcess, deposit, intake_rows, wait_until

pytestmark = pytest.mark.e2e

PAM = "/in/acme-casino/pam"
KEYED = "/in/acme/keyed"
JSON = {"content-type": "application/json"}


@pytest.fixture
def sandbox():
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567) as sb:
        yield sb


@pytest.fixture
def served(sandbox, tmp_path):
    with ServeProcess(tmp_path / "state", sandbox.endpoint) as sp:
        yield sp


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "ebi_mapper", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_accepts_delivers_and_reads_beside(served, sandbox, tmp_path):
    with httpx.Client(base_url=served.url) as c:
        check_accepts(c, served, sandbox, tmp_path)


def check_accepts(c, served, sandbox, tmp_path):
    r = c.post(PAM, content=orjson.dumps(deposit("t1")), headers=JSON)
    assert r.status_code == 202 and r.json() == {"status": "accepted", "records": 1}
    body = b"\n".join(orjson.dumps(deposit(f"n{i}", amount=i + 1)) for i in range(3))
    assert c.post(PAM, content=body, headers={"content-type": "application/x-ndjson"}).json()["records"] == 3
    arr = orjson.dumps([deposit("a1"), {**deposit("bad"), "amount": "lots"}])
    assert c.post(KEYED, content=arr, headers={**JSON, "x-api-key": "k1"}).json()["records"] == 2
    r = c.post(PAM, content=b'{"type": "deposit", oops', headers=JSON)
    assert r.status_code == 400 and r.json()["error"] == "decode" and "malformed JSON" in r.json()["message"]
    wait_until(lambda: sandbox.stats()["stored"]["events"] == 5, what="5 events at the sandbox")
    # dlq, state and plan read the state dir while serve holds it
    out = cli("dlq", "list", "--state-dir", str(served.state_dir), "--format", "json")
    assert out.returncode == 0, out.stderr
    kinds = sorted((d["kind"], d["reasons"][0]["code"]) for d in json.loads(out.stdout))
    assert kinds == [("intake", "decode"), ("mapping", "coerce_failed")]
    out = cli("state", "stats", "--state-dir", str(served.state_dir), "--format", "json")
    assert out.returncode == 0, out.stderr
    out = cli("plan", str(MAPPING), "--volumes", str(write_volumes(tmp_path)))
    assert out.returncode == 0, out.stderr
    # the durable counters in /metrics are the state's
    def settled_metrics():
        text = c.get("/metrics").text
        return text if 'ebi_mapper_records_total{mapping="acme-casino",outcome="delivered"} 5.0' in text else None

    metrics = wait_until(settled_metrics, what="metrics")
    assert 'ebi_mapper_records_total{mapping="acme-casino",outcome="read"} 7.0' in metrics
    assert 'ebi_mapper_rejections_by_code_total{code="decode",kind="intake",mapping="acme-casino"} 1.0' in metrics
    assert 'ebi_mapper_serve_records_accepted_total{mapping="acme-casino",source="pam"} 4.0' in metrics
    def timeline_flushed():  # the writer flushes the per-minute counts once a second
        m = c.get("/status.json").json()["mappings"][0]
        return m if m["minutes"]["received"].get("pam") and m["minutes"]["delivered"] else None

    m = wait_until(timeline_flushed, what="the timeline")
    assert sum(m["minutes"]["received"]["pam"]) == 4 and sum(m["minutes"]["delivered"]["ootb_deposit"]) == 5
    assert {g["code"] for g in m["rejections"]} == {"decode", "coerce_failed"}
    assert m["lag_seconds"]["p50"] is not None and m["backlog"]["intake_records"] == 0


def write_volumes(tmp_path):
    p = tmp_path / "volumes.yaml"
    p.write_text("ootb_deposit: 5\n")
    return p


def test_status_codes(served):
    with httpx.Client(base_url=served.url) as c:
        check_status_codes(c, served)


def check_status_codes(c, served):
    before = intake_rows(served.state_dir)
    assert c.post("/in/nobody", content=b"{}", headers=JSON).status_code == 404
    assert c.get(PAM).status_code == 405
    assert c.post(PAM, content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    assert c.post(KEYED, content=b"{}", headers={"content-type": "application/x-ndjson", "x-api-key": "k1"}).status_code == 415
    r = c.post(PAM, content=b"[" + b"1," * 3000 + b"1]", headers=JSON)
    assert r.status_code == 413 and r.json()["error"] == "too_large"

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(10):
            yield b" " * 1000

    assert c.post(PAM, content=chunks(), headers=JSON).status_code == 413
    assert c.post(KEYED, content=b"{}", headers=JSON).status_code == 401
    assert c.post(KEYED, content=b"{}", headers={**JSON, "x-api-key": "nope"}).json()["error"] == "bad_credentials"
    assert intake_rows(served.state_dir) == before  # nothing stored for any of them
    # a body that never finishes arriving: 408 after body_timeout_seconds (1 s here)
    with socket.create_connection(("127.0.0.1", served.port)) as s:
        s.sendall(f"POST {PAM} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{".encode())
        s.settimeout(5)
        t0 = time.monotonic()
        head = s.recv(4096)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert 0.9 < time.monotonic() - t0 < 8  # body_timeout_seconds is 1; a loaded machine answers late
    r = c.post(PAM, content=b"[1, 2]", headers=JSON)
    assert r.status_code == 400 and r.json()["error"] == "not_object" and "item 0" in r.json()["message"]
    metrics = c.get("/metrics").text
    for reason in ("unsupported_media_type", "too_large", "missing_credentials", "bad_credentials", "body_timeout", "not_object"):
        assert f'reason="{reason}"' in metrics


def test_backlog_and_disk_bounds(sandbox, tmp_path):
    # A receiver that never answers in time and a one-batch outbox: intake rows wait, the backlog grows.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(1)
    url = f"http://127.0.0.1:{dead.getsockname()[1]}/v2/reportServer"
    env = {"TEST_SERVE_MAX_BACKLOG": "3", "TEST_SERVE_MAX_BATCHES": "1"}
    with ServeProcess(tmp_path / "state", url, env=env, extra=("--sink-option", "timeout=5", "--stop-grace", "1")) as sp:
        with httpx.Client(base_url=sp.url) as c:
            codes = post_until_429(c)
        assert codes[-1] == 429 and set(codes[:-1]) == {202}
    dead.close()
    with ServeProcess(tmp_path / "state2", sandbox.endpoint, env={"TEST_SERVE_MIN_FREE_MB": "999999999"}) as sp:
        r = httpx.post(sp.url + PAM, content=b"{}", headers=JSON)
        assert r.status_code == 503 and r.json()["error"] == "disk_full" and r.headers["retry-after"]
        assert httpx.get(sp.url + "/healthz").status_code == 200
        ready = httpx.get(sp.url + "/readyz")  # a load balancer sends elsewhere meanwhile
        assert ready.status_code == 503 and "MB free" in ready.json()["problems"][0]


def post_until_429(c):
        codes = []
        for i in range(30):
            r = c.post(PAM, content=orjson.dumps(deposit(f"b{i}")), headers=JSON)
            codes.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "5"
                break
            time.sleep(0.05)
        return codes


def test_admin_endpoints_need_the_token(sandbox, tmp_path):
    with ServeProcess(tmp_path / "state", sandbox.endpoint, env={"EBI_MAPPER_ADMIN_TOKEN": "adm-secret-1"}) as sp:
        for path in ("/", "/status.json", "/metrics"):
            assert httpx.get(sp.url + path).status_code == 401
            assert httpx.get(sp.url + path, headers={"authorization": "Bearer wrong"}).status_code == 401
            assert httpx.get(sp.url + path, headers={"authorization": "Bearer adm-secret-1"}).status_code == 200
        assert httpx.get(sp.url + "/readyz").json()["status"] == "ready"
        assert "adm-secret-1" not in httpx.get(sp.url + "/metrics", headers={"authorization": "Bearer adm-secret-1"}).text
    assert "adm-secret-1" not in sp.log.read_text()


def test_sigterm_drains_and_loses_nothing(sandbox, tmp_path):
    sp = ServeProcess(tmp_path / "state", sandbox.endpoint).start()
    accepted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(k: int) -> None:
        with httpx.Client(base_url=sp.url, timeout=10) as c:
            send_until_stopped(c, k)

    def send_until_stopped(c, k):
        i = 0
        while not stop.is_set():
            tx = f"s{k}-{i}"
            try:
                r = c.post(PAM, content=orjson.dumps(deposit(tx, player=k)), headers=JSON)
            except httpx.HTTPError:
                return  # the server went away: this one got no 2xx, a real sender retries it later
            if r.status_code == 202:
                with lock:
                    accepted.append(tx)
            i += 1

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    wait_until(lambda: len(accepted) > 100, what="100 accepted")
    code = sp.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join()
    assert code == 143, sp.log.read_text()[-2000:]
    log = [json.loads(line) for line in sp.log.read_text().splitlines() if line.startswith("{")]
    events = [e["event"] for e in log]
    assert events[-1] == "stopped" and "stopping" in events and events.index("stopping") > events.index("listening")
    assert set(events[events.index("stopping") + 1:-1]) <= {"refused"}  # 503 while stopping, nothing else
    # A restart delivers whatever the drain left in the intake queue.
    with ServeProcess(tmp_path / "state", sandbox.endpoint):
        wait_until(lambda: sandbox.stats()["stored"]["events"] >= len(accepted), what="every accepted record delivered")
    stored = {e["data"]["context"]["ootb_transaction_id"] for e in sandbox.events()}
    assert set(accepted) <= stored


def test_signed_sources_dedup_and_refuse(served, sandbox):
    with httpx.Client(base_url=served.url) as c:
        body = orjson.dumps({**deposit("st1"), "id": "evt_1"})
        r = c.post("/in/acme/stripe", content=body, headers={**JSON, **sign_headers("stripe", STRIPE_SECRET, body)})
        assert r.status_code == 202
        before = intake_rows(served.state_dir)
        # the same Stripe event again (a retry whose 2xx was lost): answered, stored once
        r = c.post("/in/acme/stripe", content=body, headers={**JSON, **sign_headers("stripe", STRIPE_SECRET, body)})
        assert r.status_code == 200 and r.json()["status"] == "duplicate"
        # wrong secret, a replayed old signature, a changed body: 401, nothing stored
        for headers, sent in ((sign_headers("stripe", "whsec_wrong", body), body),
                              (sign_headers("stripe", STRIPE_SECRET, body, now=time.time() - 3600), body),
                              (sign_headers("stripe", STRIPE_SECRET, body), body.replace(b"st1", b"st2"))):
            r = c.post("/in/acme/stripe", content=sent, headers={**JSON, **headers})
            assert r.status_code == 401, r.text
        assert intake_rows(served.state_dir) == before
        # WooCommerce: its form-encoded save-time ping is answered, stored nothing; a signed delivery is taken
        r = c.post("/in/acme/woo", content=b"webhook_id=12", headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200 and r.json()["status"] == "ping"
        assert intake_rows(served.state_dir) == before
        body = orjson.dumps(deposit("wo1"))
        r = c.post("/in/acme/woo", content=body, headers={**JSON, **sign_headers("woocommerce", WOO_SECRET, body, webhook_id="d1")})
        assert r.status_code == 202
        wait_until(lambda: sandbox.stats()["stored"]["events"] == 2, what="both deposits at the sandbox")
    secrets = (STRIPE_SECRET, WOO_SECRET)
    raw = b"".join(p.read_bytes() for p in served.state_dir.iterdir() if p.is_file())
    assert not any(s.encode() in raw for s in secrets)  # no secret in the state or the intake queue
    with httpx.Client(base_url=served.url) as c:
        text = c.get("/metrics").text + c.get("/status.json").text + served.log.read_text()
    assert not any(s in text for s in secrets)  # nor in the metrics, the status or the log
