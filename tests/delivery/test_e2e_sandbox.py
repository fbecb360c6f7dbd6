"""End to end against the sandbox on loopback: accounting, once-per-PK, ≤10 per request, limits,
faults, poison events, and runs killed with SIGKILL and restarted.

Sizes are modest for CI; ``EBI_E2E_RECORDS=50000`` runs the proof at full size by hand.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from delivery_helpers import MAPPING, reached, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state

pytestmark = pytest.mark.e2e

RECORDS = int(os.environ.get("EBI_E2E_RECORDS", "2000"))
# A small profile window keeps CI fast; the limiter logic is the same at Optimove's 50 / 10 s
# (EBI_E2E_PROFILE=50/10 for the proof run).
_req, _sec = os.environ.get("EBI_E2E_PROFILE", "10/1").split("/")
PROFILE = (int(_req), float(_sec))
TOKEN = "sandbox-token"


@pytest.fixture
def sandbox():
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567, rate_limits=(("profile", *PROFILE),)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("OPTIMOVE_TOKEN", TOKEN)


def _sinks(sandbox, tmp_path, timeout=5.0):
    from ebi_mapper.plugins import make_registry

    reg = make_registry(entry_points=False)
    events = reg.sink("optimove").factory({"url": sandbox.endpoint, "timeout": timeout, "trust_env": False})
    bespoke = reg.sink("data_studio").factory({"dir": str(tmp_path / "data-studio"), "client": "acme"})
    return events, bespoke


def deliver(sandbox, tmp_path, mapper, catalog, src, *, timeout=5.0, options=None):
    events, bespoke = _sinks(sandbox, tmp_path, timeout)
    plan = make_rate_plan(catalog, overrides={"profile": f"{PROFILE[0]}/{PROFILE[1]:g}s"})
    opts = options or DeliveryOptions(linger=0.1, concurrency=8, seed=3,
                                      retry=RetryPolicy(base_delay=0.02, max_delay=0.5, max_attempts=30))
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=plan, event_sink=events, bespoke_sink=bespoke,
                            bespoke_route="data_studio", options=opts)
        try:
            return loop.run_input(make_source(str(src)))
        finally:
            loop.close()
            events.close()
            bespoke.close()


def check_sandbox(sandbox, expected):
    stats = sandbox.stats()
    assert stats["stored"]["events"] == expected["event_pks"]  # every PK held, once (the store is keyed by PK)
    assert stats["max_events_per_request"] <= 10
    assert stats["max_profile_requests_per_window"] <= PROFILE[0]
    stored = sandbox.events()
    assert len(stored) == expected["event_pks"]
    return stats


def check_accounting(summary, expected):
    r = summary.records
    assert summary.adds_up and r["pending"] == 0 and summary.backlog == 0
    assert r["read"] == expected["records"] == r["delivered"] + r["superseded"] + r["rejected"] + r["filtered"] + r["duplicate"]
    for outcome, count in expected["outcomes"].items():
        assert reached(r, outcome) == count, outcome


def test_mixed_records_reach_the_sandbox_once(sandbox, tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, RECORDS, seed=21)
    s = deliver(sandbox, tmp_path, mapper, catalog, src)
    check_accounting(s, expected)
    stats = check_sandbox(sandbox, expected)
    assert stats["rate_classes"]["profile"]["rate_limited"] == 0  # the client never tripped the server's limit
    assert s.events["dead_lettered"] == 0
    csv_rows = sum(len(p.read_text().splitlines()) - 1 for p in (tmp_path / "data-studio").glob("*.csv"))
    assert csv_rows == expected["bespoke_rows"]  # bespoke rows went to Data Studio, never to the events endpoint


FAULTS = {"500": 0.10, "timeout": 0.05, "429": 0.03, "drop": 0.02, "500_after_store": 0.03, "drop_after_store": 0.02,
          "timeout_delay": 0.6, "retry_after": 0.3, "429_burst": 4, "seed": 5}


def test_faults_lose_nothing_and_store_nothing_twice(sandbox, tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, RECORDS, seed=22)
    sandbox.set_faults(FAULTS)
    s = deliver(sandbox, tmp_path, mapper, catalog, src, timeout=0.3)
    check_accounting(s, expected)
    stats = check_sandbox(sandbox, expected)
    assert s.events["dead_lettered"] == 0
    faults = stats["faults"]
    assert all(faults.get(k, 0) > 0 for k in ("500", "timeout", "429", "500_after_store")), faults
    assert s.this_run["requests_retry"] > 0 and s.this_run["requests_throttled"] > 0


def test_one_poison_event_in_a_batch_of_ten(tmp_path, mapper, catalog):
    """The sandbox for the casino vertical refuses a sports bet: 9 delivered, 1 dead-lettered with its reason."""
    from ebi_mapper.sandbox import start_sandbox

    src = tmp_path / "in.jsonl"
    lines = [{"type": "deposit", "player": 7, "tx": f"t{i}", "amount": 10, "currency": "EUR", "at": "2025-01-01T00:00:00Z"}
             for i in range(9)]
    lines.insert(6, {"type": "bet", "player": 7, "tx": "poison", "at": "2025-01-01T00:00:00Z"})
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    with start_sandbox(vertical="casino") as sb:
        s = deliver(sb, tmp_path, mapper, catalog, src)
        stats = sb.stats()
        assert stats["stored"]["events"] == 9 and stats["by_status"].get("400") == 1
    assert s.events["delivered"] == 9 and s.events["dead_lettered"] == 1
    assert s.records == {"read": 10, "delivered": 9, "rejected": 1, "filtered": 0, "duplicate": 0, "stale": 0, "superseded": 0, "pending": 0}
    with open_state(tmp_path / "state") as state:
        [dl] = state.dead_letters()
    assert dl.event["event"] == "ootb_sports_bet_placed" and dl.payload["tx"] == "poison"
    assert dl.reasons[0]["http_status"] == 400 and "ootb_sports_bet_placed" in dl.reasons[0]["message"]


def _run_cli(mapping: Path, src: Path, state_dir: Path, url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OPTIMOVE_TOKEN": TOKEN, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = [sys.executable, "-m", "ebi_mapper", "run", str(mapping), "--input", str(src), "--state-dir", str(state_dir),
            "--sink-option", f"url={url}", "--sink-option", "timeout=0.3", "--sink-option", "trust_env=false",
            "--limit", f"profile={PROFILE[0]}/{PROFILE[1]:g}s", "--linger-ms", "100", "--concurrency", "8",
            "--no-progress", "--format", "json", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(state_dir.parent))


def test_sigkill_at_random_moments_then_restart(sandbox, tmp_path):
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, RECORDS, seed=23)
    sandbox.set_faults({"500": 0.05, "timeout": 0.02, "429": 0.02, "drop_after_store": 0.02, "timeout_delay": 0.5,
                        "retry_after": 0.2, "seed": 9})
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.read_text() + "delivery:\n  retry_base_ms: 20\n  retry_max_ms: 500\n  max_attempts: 30\n")
    state_dir = tmp_path / "state"
    rng = random.Random(int(os.environ.get("EBI_E2E_KILL_SEED", "4")))
    kills = 0
    for _ in range(int(os.environ.get("EBI_E2E_KILLS", "4"))):
        proc = _run_cli(mapping, src, state_dir, sandbox.endpoint)
        time.sleep(rng.uniform(0.8, 2.5))  # interpreter start-up takes part of this
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=30)
    final = _run_cli(mapping, src, state_dir, sandbox.endpoint)
    out, err = final.communicate(timeout=3600)
    assert final.returncode in (0, 1), err.decode()[-2000:]
    summary = orjson.loads(out)
    assert kills >= 2
    r = summary["records"]
    assert summary["adds_up"] and r["pending"] == 0 and summary["backlog"] == 0
    assert r["read"] == expected["records"] == r["delivered"] + r["superseded"] + r["rejected"] + r["filtered"] + r["duplicate"]
    for outcome, count in expected["outcomes"].items():
        assert reached(r, outcome) == count, outcome
    assert final.returncode == (1 if expected["outcomes"].get("rejected") else 0)
    check_sandbox(sandbox, expected)
