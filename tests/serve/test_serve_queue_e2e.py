"""`ebi-mapper serve --queue`: webhooks accepted locally, forwarded to Redis, delivered by a worker process.

Real parts: a uvicorn serve process, the Redis of EBI_MAPPER_TEST_REDIS_URL (the cluster's keys under
a client name of this test only, deleted afterwards), an `ebi-mapper worker` process, the sandbox.
Proves ebi_mapper/serve/forward.py: accepted while Redis is away (/readyz says why), a SIGKILL between
accept and forward loses nothing after a restart, every record reaches the sandbox once, and a bad
record ends in the cluster's DLQ with the code `run` gives.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from .serve_helpers import MAPPING, ServeProcess, deposit, free_port, intake_rows, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REDIS_URL = os.environ.get("EBI_MAPPER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
JSON = {"content-type": "application/json"}


@pytest.fixture
def cluster(tmp_path):
    """(mapping copy with a client name of this test only, its key prefix, a Redis client); keys deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:  # pragma: no cover - scripts/test starts one
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); run the tests through scripts/test, which starts one")
    name = f"acme-casino-q{uuid.uuid4().hex[:8]}"
    mapping = tmp_path / "serve-queue.yaml"
    mapping.write_text(MAPPING.read_text().replace("client: acme-casino", f"client: {name}"))
    prefix = f"ebi:{name}:"
    yield mapping, name, prefix, client
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def sandbox():
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567) as sb:
        yield sb


def _worker(mapping: Path, state: Path, endpoint: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "ebi_mapper", "worker", str(mapping), "--queue", REDIS_URL, "--partitions", "4",
            "--state-dir", str(state), "--sink-option", f"url={endpoint}", "--sink-option", "trust_env=false",
            "--linger-ms", "20", "--lease-seconds", "2"]
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(state.parent / "worker.log", "ab") as log:
        return subprocess.Popen(args, stdout=log, stderr=log, env={**os.environ, "OPTIMOVE_TOKEN": "sandbox-token"})


def _checkpoint(state_dir: Path, name: str) -> int:
    conn = sqlite3.connect(f"file:{state_dir / 'state.sqlite'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT offset FROM checkpoint WHERE input_id = ?", (f"serve:{name}",)).fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


def test_serve_queue_forwards_once_survives_a_kill_and_dead_letters_in_the_cluster(cluster, sandbox, tmp_path):
    mapping, name, prefix, rclient = cluster
    pam = f"/in/{name}/pam"
    state = tmp_path / "state"
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: accepted, not forwarded
    first = ServeProcess(state, sandbox.endpoint, mapping=mapping, extra=("--queue", dead, "--partitions", "4")).start()
    try:
        with httpx.Client(base_url=first.url) as c:
            for i in range(3):
                assert c.post(pam, content=orjson.dumps(deposit(f"k{i}", player=i + 1)), headers=JSON).status_code == 202
            ready = wait_until(lambda: (r := c.get("/readyz")).status_code == 503 and r, what="/readyz 503 while Redis is away")
            assert "forwarding to the queue waits" in ready.text and "does not answer" in ready.text
        log = first.log.read_text()
        assert "Traceback" not in log and log.count('"queue_waiting"') == 1  # one line, not one per retry
    finally:
        first.kill()  # SIGKILL between accept and forward
    assert intake_rows(state) == 3 and _checkpoint(state, name) == 0

    worker = _worker(mapping, tmp_path / "w1" / "state", sandbox.endpoint)
    try:
        with ServeProcess(state, sandbox.endpoint, mapping=mapping, extra=("--queue", REDIS_URL, "--partitions", "4")) as sp, \
                httpx.Client(base_url=sp.url) as c:
            body = b"\n".join(orjson.dumps(deposit(f"n{i}", amount=i + 1, player=10 + i)) for i in range(2))
            assert c.post(pam, content=body, headers={"content-type": "application/x-ndjson"}).json()["records"] == 2
            assert c.post(pam, content=orjson.dumps({**deposit("bad"), "amount": "lots"}), headers=JSON).status_code == 202
            assert c.post(pam, content=b'{"type": "deposit", oops', headers=JSON).status_code == 400  # kept, forwarded
            wait_until(lambda: c.get("/readyz").status_code == 200, what="ready once Redis answers")
            wait_until(lambda: sandbox.stats()["stored"]["events"] == 5, timeout=60, what="5 events at the sandbox")

            def settled():
                counts = {k.decode(): int(v) for k, v in rclient.hgetall(prefix + "counts").items()}
                return counts if sum(v for k, v in counts.items() if k.startswith("records_")) >= 7 else None

            counts = wait_until(settled, timeout=60, what="7 records settled in the cluster")
            assert counts["enqueued"] == 7 and counts["records_delivered"] == 5 and counts["records_rejected"] == 2
            assert _checkpoint(state, name) == intake_rows(state) == 7  # every intake row forwarded, none twice
            metrics = c.get("/metrics").text
            assert f'ebi_mapper_serve_records_forwarded_total{{mapping="{name}"}} 7.0' in metrics  # 3 kept from before the kill + 4
        assert sandbox.stats()["stored"]["events"] == 5
        assert "Traceback" not in sp.log.read_text()
    finally:
        worker.kill()
        worker.wait(10)
    out = subprocess.run([sys.executable, "-m", "ebi_mapper", "dlq", "list", str(mapping), "--queue", REDIS_URL,
                          "--format", "json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    codes = sorted(d["reasons"][0]["code"] for d in orjson.loads(out.stdout))
    assert codes == ["coerce_failed", "decode"]  # the codes serve without --queue (and run) give them


def test_queue_options_are_checked_before_serving(tmp_path):
    def serve(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ebi_mapper", "serve", str(MAPPING), "--port", "0",
                               "--state-dir", str(tmp_path / "s"), *extra], capture_output=True, text=True, timeout=60)

    bad = serve("--queue", "http://user:hunter2@example.invalid/0")
    assert bad.returncode == 3 and "expected redis://host:port/db" in bad.stderr
    assert "hunter2" not in bad.stderr and "Traceback" not in bad.stderr
    lone = serve("--partitions", "4")
    assert lone.returncode == 2 and "--partitions goes with --queue" in lone.stderr


def test_a_partition_count_the_cluster_disagrees_with_stops_serve_with_exit_3(cluster, tmp_path):
    mapping, _, prefix, rclient = cluster
    rclient.hset(prefix + "meta", "partitions", 8)
    run = subprocess.run([sys.executable, "-m", "ebi_mapper", "serve", str(mapping), "--port", "0", "--state-dir",
                          str(tmp_path / "s"), "--queue", REDIS_URL, "--partitions", "4"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "TEST_SERVE_KEY": "k1",
                                                                          "TEST_SERVE_STRIPE": "s", "TEST_SERVE_WOO": "w"})
    assert run.returncode == 3 and "has 8 partitions, not 4" in run.stderr and "Traceback" not in run.stderr
