"""The scale-out commands end to end (ebi_mapper/cli/cmd_{worker,cluster,run,dlq}.py, scaleout/status.py)."""

from __future__ import annotations

import uuid

import orjson
import pytest

from ebi_mapper.cli import main
from ebi_mapper.scaleout.queue import default_prefix
from scaleout_helpers import MAPPING, ClusterThreads, make_worker, records_settled, wait_for, write_mixed


@pytest.fixture
def client_mapping(tmp_path, rclient):
    """A copy of the test mapping under a client name of this test only (its keys are deleted after)."""
    name = f"acme-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING.read_text().replace("client: acme-casino", f"client: {name}"))
    yield path, default_prefix(name)
    keys = list(rclient.scan_iter(match=default_prefix(name) + "*", count=1000))
    if keys:
        rclient.delete(*keys)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("OPTIMOVE_TOKEN", "sandbox-token")


def test_run_queue_then_status_then_workers_then_dlq(client_mapping, redis_url, rclient, tmp_path, capsys):
    from ebi_mapper.sandbox import start_sandbox

    mapping, prefix = client_mapping
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 300, seed=51)
    assert main(["run", str(mapping), "--input", str(src), "--queue", redis_url, "--partitions", "4",
                 "--state-dir", str(tmp_path / "state"), "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["enqueued"] == 300
    # Run again: the checkpoint says done, nothing is enqueued twice.
    assert main(["run", str(mapping), "--input", str(src), "--queue", redis_url, "--state-dir", str(tmp_path / "state"),
                 "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["enqueued"] == 0
    assert main(["cluster", "status", str(mapping), "--queue", redis_url, "--format", "json"]) == 0
    status = orjson.loads(capsys.readouterr().out)
    assert status["partitions"] == 4 and status["backlog"] == {"waiting": 300, "pending": 0}
    assert status["workers_alive"] == 0 and {r["class"] for r in status["limiter"]} >= {"profile", "global"}
    assert status["accounting"] == {"enqueued": 300, "settled": 0, "open": 300}

    with start_sandbox(vertical="multi_sport_casino", tenant=567, rate_limits=(("profile", 10, 1.0),)) as sb:
        cluster = ClusterThreads()
        cluster.start(make_worker(redis_url, prefix, sb, tmp_path, "w1"))
        try:
            wait_for(lambda: records_settled(rclient, prefix) >= 300, 60, "300 records settled")
            assert main(["cluster", "status", str(mapping), "--queue", redis_url]) == 0
            text = capsys.readouterr().out
            assert "1 worker(s) alive" in text and "limiter profile" in text
            assert "300 enqueued = 300 settled + 0 open" in text
        finally:
            cluster.stop_all()
    assert main(["dlq", "list", str(mapping), "--queue", redis_url, "--format", "json"]) == 0
    letters = orjson.loads(capsys.readouterr().out)
    assert len(letters) == expected["outcomes"]["rejected"]  # every rejected record, from any worker, once
    assert {d["kind"] for d in letters} <= {"malformed", "mapping"}
    broken = [d for d in letters if d["kind"] == "malformed"]
    assert broken and len(broken) == expected["drawn"]["malformed"]
    # The reason the producer's reader gave (as `run` would), carried in the entry, not re-guessed by the worker.
    from ebi_mapper.delivery.source import make_source

    read = {(r.error, r.code) for r in make_source(str(src)).records() if r.error is not None}
    assert {(d["reasons"][0]["message"], d["reasons"][0]["code"]) for d in broken} == read
    assert main(["dlq", "list", str(mapping), "--queue", redis_url]) == 0
    assert f"{len(letters)} dead letter(s) in the cluster" in capsys.readouterr().out


def test_a_partition_mismatch_and_a_dead_redis_are_one_line_errors(client_mapping, redis_url, tmp_path, capsys):
    mapping, _ = client_mapping
    src = tmp_path / "in.jsonl"
    write_mixed(src, 5, seed=52)
    assert main(["run", str(mapping), "--input", str(src), "--queue", redis_url, "--partitions", "4",
                 "--state-dir", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    assert main(["run", str(mapping), "--input", str(src), "--queue", redis_url, "--partitions", "8",
                 "--state-dir", str(tmp_path / "b")]) == 3
    err = capsys.readouterr().err
    assert "has 4 partitions, not 8" in err and "Traceback" not in err
    assert main(["cluster", "status", str(mapping), "--queue", "redis://127.0.0.1:1/0"]) == 3
    err = capsys.readouterr().err
    assert "does not answer" in err and len(err.strip().splitlines()) == 1
    assert main(["dlq", "list", "--queue", redis_url]) == 2  # the cluster is named by its mapping


def test_the_redis_password_is_never_shown(client_mapping, capsys):
    mapping, _ = client_mapping
    assert main(["cluster", "status", str(mapping), "--queue", "redis://:s3cret-pass@127.0.0.1:1/0"]) == 3
    err = capsys.readouterr().err
    assert "does not answer" in err and "s3cret-pass" not in err
    assert main(["cluster", "status", str(mapping), "--queue", "http://:s3cret-pass@x"]) == 3
    assert "s3cret-pass" not in capsys.readouterr().err
