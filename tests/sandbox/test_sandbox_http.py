"""The sandbox over real loopback HTTP: storage, validation, auth, limits, inspection."""

from __future__ import annotations

import http.client
import json
import time

import httpx
import pytest

from ebi_mapper.sandbox import start_sandbox
from sandbox_helpers import TOKEN, deposit, registration


def test_a_valid_batch_is_stored_and_listed(sandbox, client):
    batch = [deposit("c1", "t1"), deposit("c2", "t2"), registration("c3")]
    r = client.post(sandbox.endpoint, json=batch)
    assert r.status_code == 200
    assert r.json() == {"status": 200, "received": 3, "accepted": 3, "duplicates": 0, "updates": 0}
    listed = client.get(sandbox.url + "/events").json()
    assert listed["count"] == 3
    assert [e["data"] for e in listed["events"]] == batch
    assert listed["events"][0]["pk"] == ["c1", "t1", "2026-12-01 10:00:00.000000 UTC"]
    assert sandbox.stats()["events"] == {"accepted": 3}


def test_the_default_path_is_the_partner_documented_one(sandbox):
    assert sandbox.endpoint.endswith("/v2/reportServer")


@pytest.mark.parametrize("n, status", [(10, 200), (11, 400)], ids=["10-ok", "11-refused"])
def test_at_most_ten_events_per_request(sandbox, client, n, status):
    r = client.post(sandbox.endpoint, json=[deposit("c", f"t{i}") for i in range(n)])
    assert r.status_code == status
    if status == 400:
        assert r.json()["error"] == "too_many_events"
        assert sandbox.events() == []
    assert sandbox.stats()["max_events_per_request"] == n


@pytest.mark.parametrize("body, needle", [
    (b"{not json", "not JSON"),
    (b'{"event": "ootb_deposit"}', "JSON array"),
    (b"[]", "empty array"),
], ids=["not-json", "object-not-array", "empty-array"])
def test_a_malformed_body_is_a_400(sandbox, client, body, needle):
    r = client.post(sandbox.endpoint, content=body)
    assert r.status_code == 400
    assert r.json()["error"] == "bad_request"
    assert needle in r.json()["message"]


def test_one_invalid_event_refuses_the_whole_request_with_its_index_and_reason(sandbox, client):
    bad = deposit("c3", "t3")
    bad["context"]["ootb_deposit_amount"] = "ten"
    batch = [deposit("c1", "t1"), deposit("c2", "t2"), bad, deposit("c4", "t4")]
    r = client.post(sandbox.endpoint, json=batch)
    assert r.status_code == 400
    body = r.json()
    assert (body["status"], body["error"], body["index"]) == (400, "invalid_event", 2)
    assert body["errors"][0]["field"] == "$.context.ootb_deposit_amount"
    assert "ootb_deposit_amount" in body["message"]
    assert sandbox.events() == []  # atomic: the valid ones were not stored either
    stats = sandbox.stats()
    assert stats["events"] == {"invalid": 1, "refused": 3}
    assert stats["requests"]["invalid"] == 1


@pytest.mark.parametrize("mutate, field", [
    (lambda e: e.update(tenant=999), "$.tenant"),
    (lambda e: e.update(event="ootb_product_refund"), "$.event"),
    (lambda e: e["context"].update(vip_tier="gold"), "$.context.vip_tier"),
    (lambda e: e.update(timestamp="2026-12-01T10:00:00Z"), "$.timestamp"),
    (lambda e: e["context"].pop("ootb_transaction_id"), "$.context.ootb_transaction_id"),
], ids=["other-tenant", "event-not-in-vertical", "bespoke-key", "iso-envelope-timestamp", "missing-mandatory"])
def test_each_kind_of_invalid_event_is_named(sandbox, client, mutate, field):
    event = deposit()
    mutate(event)
    r = client.post(sandbox.endpoint, json=[deposit("ok", "ok"), event])
    assert r.status_code == 400
    assert r.json()["index"] == 1
    assert field in [e["field"] for e in r.json()["errors"]]


def test_every_invalid_event_is_listed(sandbox, client):
    bad = deposit()
    bad["customer"] = 5
    r = client.post(sandbox.endpoint, json=[bad, deposit(), bad])
    assert [i["index"] for i in r.json()["invalid"]] == [0, 2]


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"Authorization": TOKEN}],
                         ids=["no-token", "wrong-token", "wrong-header"])
def test_requests_without_the_token_are_401(sandbox, headers):
    r = httpx.post(sandbox.endpoint, json=[deposit()], headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert sandbox.events() == []


def test_the_auth_header_name_is_configurable_and_auth_can_be_off(tmp_path):
    with start_sandbox(vertical="casino", auth_header="X-Optimove-Token", token="t") as sb:
        assert httpx.post(sb.endpoint, json=[deposit()], headers={"x-optimove-token": "t"}).status_code == 200
        assert httpx.post(sb.endpoint, json=[deposit()], headers={"X-Api-Key": "t"}).status_code == 401
    with start_sandbox(vertical="casino", token=None) as sb:
        assert httpx.post(sb.endpoint, json=[deposit()]).status_code == 200


def test_storage_is_idempotent_by_primary_key(sandbox, client):
    client.post(sandbox.endpoint, json=[deposit("c1", "t1", 10.0), deposit("c2", "t2", 5.0)])
    r = client.post(sandbox.endpoint, json=[deposit("c1", "t1", 10.0), deposit("c2", "t2", 7.0)])
    assert r.json() == {"status": 200, "received": 2, "accepted": 0, "duplicates": 1, "updates": 1}
    stored = {e["data"]["customer"]: e for e in sandbox.events()}
    assert len(stored) == 2
    assert stored["c2"]["data"]["context"]["ootb_deposit_amount"] == 7.0
    assert (stored["c1"]["duplicates"], stored["c1"]["updates"]) == (1, 0)
    assert (stored["c2"]["duplicates"], stored["c2"]["updates"]) == (0, 1)
    assert sandbox.stats()["by_event"]["ootb_deposit"] == {"accepted": 2, "duplicate": 1, "update": 1}
    assert sandbox.stats()["stored"]["events"] == 2


def test_key_order_does_not_make_a_duplicate_an_update(sandbox, client):
    event = deposit()
    reordered = {k: event[k] for k in reversed(list(event))}
    client.post(sandbox.endpoint, json=[event])
    r = client.post(sandbox.endpoint, json=[reordered])
    assert r.json()["duplicates"] == 1


def test_profile_requests_over_the_window_get_429_with_retry_after(sandbox, client):
    codes = [client.post(sandbox.endpoint, json=[registration(f"c{i}")]).status_code for i in range(5)]
    assert codes == [200] * 5
    r = client.post(sandbox.endpoint, json=[registration("c6")])
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    body = r.json()
    assert (body["status"], body["error"]) == (429, "Too Many Requests")
    assert "profile" in body["message"]
    # the default class is not held back by the profile window
    assert client.post(sandbox.endpoint, json=[deposit()]).status_code == 200
    # a mixed request counts against the profile window too
    assert client.post(sandbox.endpoint, json=[deposit("m", "m"), registration("m")]).status_code == 429
    time.sleep(float(r.headers["Retry-After"]))
    assert client.post(sandbox.endpoint, json=[registration("c6")]).status_code == 200
    stats = sandbox.stats()
    profile = stats["rate_classes"]["profile"]
    assert profile["max_admitted_in_window"] == 5
    assert profile["max_received_in_window"] == 7  # refused requests were still sent by the client
    assert stats["max_profile_requests_per_window"] == 7
    assert stats["requests"]["rate_limited"] == 2
    assert sandbox.events(event="ootb_registration").__len__() == 6


def test_the_profile_limit_defaults_to_the_catalog_50_per_10_seconds(tmp_path):
    with start_sandbox(vertical="casino", token=None) as sb, httpx.Client() as c:
        codes = [c.post(sb.endpoint, json=[registration(f"c{i}")]).status_code for i in range(51)]
        assert codes[:50] == [200] * 50 and codes[50] == 429
        assert sb.stats()["rate_classes"]["profile"]["window_seconds"] == 10


def test_rate_limiting_can_be_off_but_is_still_measured(tmp_path):
    with start_sandbox(vertical="casino", token=None, rate_limits={"profile": "2/1"}, rate_limit=False) as sb:
        codes = [httpx.post(sb.endpoint, json=[registration(f"c{i}")]).status_code for i in range(4)]
        assert codes == [200] * 4
        assert sb.stats()["max_profile_requests_per_window"] == 4


def test_events_can_be_filtered_by_event_customer_and_limit(sandbox, client):
    client.post(sandbox.endpoint, json=[deposit("a", "1"), deposit("b", "2"), registration("a"), deposit("a", "3")])
    get = lambda **q: client.get(sandbox.url + "/events", params=q).json()  # noqa: E731
    assert get(event="ootb_registration")["count"] == 1
    assert [e["pk"][1] for e in get(customer="a", event="ootb_deposit")["events"]] == ["1", "3"]
    assert get(limit=2)["count"] == 2
    assert client.get(sandbox.url + "/events", params={"limit": "x"}).status_code == 400


def test_stats_over_http_match_the_handle(sandbox, client):
    client.post(sandbox.endpoint, json=[deposit()])
    over_http = client.get(sandbox.url + "/stats").json()
    assert over_http["events"] == sandbox.stats()["events"] == {"accepted": 1}
    assert over_http["requests"] == {"total": 1, "ok": 1}
    assert over_http["by_status"] == {"200": 1}


def test_reset_clears_events_counters_and_windows(sandbox, client):
    for i in range(5):
        client.post(sandbox.endpoint, json=[registration(f"c{i}")])
    assert client.post(sandbox.url + "/_reset").json()["reset"] is True
    assert sandbox.events() == []
    assert sandbox.stats()["requests"] == {}
    assert client.post(sandbox.endpoint, json=[registration("again")]).status_code == 200


def test_connections_are_kept_alive(sandbox):
    conn = http.client.HTTPConnection(sandbox.url.removeprefix("http://"))
    try:
        sockets = set()
        for i in range(5):
            conn.request("POST", "/v2/reportServer", body=json.dumps([deposit("c", f"t{i}")]),
                         headers={"X-Api-Key": TOKEN, "Content-Type": "application/json"})
            assert conn.getresponse().read() and True
            sockets.add(id(conn.sock))
        assert len(sockets) == 1
        assert sandbox.stats()["connections"] == 1
    finally:
        conn.close()


def test_unknown_routes_are_404(sandbox, client):
    assert client.post(sandbox.url + "/v1/reportEvent", json=[]).status_code == 404
    assert client.get(sandbox.url + "/nope").status_code == 404


def test_a_db_file_keeps_events_across_restarts(tmp_path):
    db = tmp_path / "keep.db"
    with start_sandbox(vertical="casino", token=None, db=db) as sb:
        httpx.post(sb.endpoint, json=[deposit("c1", "t1")])
    with start_sandbox(vertical="casino", token=None, db=db) as sb:
        assert httpx.post(sb.endpoint, json=[deposit("c1", "t1")]).json()["duplicates"] == 1
        assert len(sb.events()) == 1


def test_bespoke_attribute_rows_keep_the_latest_value(sandbox, client):
    rows = [{"customer": "p1", "timestamp": "2026-12-01T10:00:00Z", "attributes": {"tier": "gold"}},
            {"customer": "p1", "timestamp": "2026-12-01T09:00:00Z", "attributes": {"tier": "silver", "seg": "a"}}]
    r = client.post(sandbox.attributes_endpoint, json=rows)
    assert r.status_code == 200
    assert sandbox.attributes() == [{"customer": "p1", "attributes": {"seg": "a", "tier": "gold"},
                                     "timestamps": {"seg": "2026-12-01T09:00:00Z", "tier": "2026-12-01T10:00:00Z"}}]
    bad = client.post(sandbox.attributes_endpoint, json=[rows[0], {"customer": "p2", "attributes": {}}])
    assert (bad.status_code, bad.json()["index"]) == (400, 1)
    assert client.get(sandbox.url + "/attributes").json()["count"] == 1
