"""Injected faults: what the client sees, and whether anything was stored."""

from __future__ import annotations

import httpx
import pytest

from ebi_mapper.sandbox import FaultError, FaultInjector, make_fault_plan
from sandbox_helpers import deposit


@pytest.mark.parametrize("kind, stored", [
    ("500", False), ("500_after_store", True),
], ids=["500-before-store", "500-after-store"])
def test_500_faults_answer_with_a_body(sandbox, client, kind, stored):
    sandbox.set_faults({kind: 1.0})
    r = client.post(sandbox.endpoint, json=[deposit()])
    assert r.status_code == 500
    assert r.json()["status"] == 500 and "injected" in r.json()["message"]
    assert len(sandbox.events()) == (1 if stored else 0)
    assert sandbox.stats()["faults"] == {kind: 1}


@pytest.mark.parametrize("kind, stored", [
    ("drop", False), ("drop_after_store", True),
], ids=["drop-before-store", "drop-after-store"])
def test_dropped_connections_send_no_response(sandbox, client, kind, stored):
    sandbox.set_faults({kind: 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(sandbox.endpoint, json=[deposit()])
    assert len(sandbox.events()) == (1 if stored else 0)
    sandbox.set_faults({kind: 0.0})
    assert client.post(sandbox.endpoint, json=[deposit()]).status_code == 200  # the client reconnects


def test_timeout_holds_the_request_past_the_client_timeout(sandbox, client):
    sandbox.set_faults({"timeout": 1.0, "timeout_delay": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        client.post(sandbox.endpoint, json=[deposit()], timeout=0.2)
    assert sandbox.events() == []
    assert sandbox.stats()["faults"] == {"timeout": 1}


def test_timeout_with_a_patient_client_ends_in_a_closed_connection(sandbox, client):
    sandbox.set_faults({"timeout": 1.0, "timeout_delay": 0.2})
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(sandbox.endpoint, json=[deposit()], timeout=3.0)


def test_429_storms_carry_retry_after(sandbox, client):
    sandbox.set_faults({"429": 1.0, "retry_after": 2})
    r = client.post(sandbox.endpoint, json=[deposit()])
    assert (r.status_code, r.headers["Retry-After"]) == (429, "2")
    assert r.json() == {"status": 429, "error": "Too Many Requests", "message": "injected fault: 429 storm"}
    assert sandbox.events() == []
    sandbox.set_faults({"429": 0.0})  # a new plan ends the storm at once
    assert client.post(sandbox.endpoint, json=[deposit()]).status_code == 200


def test_a_429_storm_lasts_its_burst():
    injector = FaultInjector(make_fault_plan({"429": 0.05, "429_burst": 4, "seed": 11}))
    draws = "".join("x" if injector.draw() == "429" else "." for _ in range(3000))
    runs = [len(run) for run in draws.rstrip("x").split(".") if run]
    assert runs and all(n >= 4 for n in runs)
    assert any(n == 4 for n in runs)


def test_faults_are_set_over_http_and_validated(sandbox, client):
    r = client.post(sandbox.url + "/_faults", json={"500": 0.1, "timeout": 0.05, "429": 0.02, "drop": 0.02, "seed": 1})
    assert r.status_code == 200
    assert client.get(sandbox.url + "/_faults").json()["500"] == 0.1
    for bad in ({"500": 1.5}, {"500": 0.6, "drop": 0.6}, {"boom": 0.1}, {"seed": "x"}):
        r = client.post(sandbox.url + "/_faults", json=bad)
        assert r.status_code == 400, bad
        assert r.json()["error"] == "bad_faults"
    assert client.get(sandbox.url + "/_faults").json()["drop"] == 0.02  # refused settings changed nothing


def test_a_seed_replays_the_same_faults(sandbox, client):
    def run() -> list[int]:
        sandbox.set_faults({"500": 0.5, "seed": 7})
        return [client.post(sandbox.endpoint, json=[deposit("c", str(i))]).status_code for i in range(20)]

    first = run()
    assert run() == first
    assert set(first) == {200, 500}


def test_fault_draws_follow_their_probabilities():
    injector = FaultInjector(make_fault_plan({"500": 0.2, "drop": 0.1, "seed": 3}))
    draws = [injector.draw() for _ in range(5000)]
    assert 850 < draws.count("500") < 1150
    assert 400 < draws.count("drop") < 600
    assert draws.count(None) + draws.count("500") + draws.count("drop") == 5000


@pytest.mark.parametrize("settings", [{"500": -0.1}, {"timeout": True}, {"429_burst": 0}, {"timeout_delay": -1}],
                         ids=["negative", "bool", "zero-burst", "negative-delay"])
def test_fault_plan_refuses_nonsense(settings):
    with pytest.raises(FaultError):
        make_fault_plan(settings)
