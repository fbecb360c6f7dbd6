"""The optimove sink against the sandbox: each class of answer, and the token kept secret."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from ebi_mapper.default_plugins.http_sink import HttpJsonSink, parse_retry_after, result_from_response
from ebi_mapper.errors import DeliveryError
from sink_helpers import SECRET, TOKEN_ENV, deposit, registration


def test_ok_batches_are_stored_over_one_reused_connection(optimove, sandbox):
    for i in range(5):
        result = optimove.send([deposit("c", f"t{i}.{j}") for j in range(10)])
        assert (result.status, result.http_status) == ("ok", 200)
    assert len(sandbox.events()) == 50
    assert sandbox.stats()["connections"] == 1


def test_429_from_the_limit_is_retry_with_retry_after(optimove):
    assert [optimove.send([registration(f"c{i}")]).status for i in range(2)] == ["ok", "ok"]
    result = optimove.send([registration("c3")])
    assert (result.status, result.http_status, result.retry_after) == ("retry", 429, 1.0)
    assert "Too Many Requests" in result.reason


def test_429_storm_is_retry_with_the_servers_retry_after(optimove, sandbox):
    sandbox.set_faults({"429": 1.0, "retry_after": 7})
    result = optimove.send([deposit()])
    assert (result.status, result.retry_after) == ("retry", 7.0)


@pytest.mark.parametrize("fault, reason", [
    ("500", "HTTP 500"),
    ("timeout", "timeout after 0.5 s"),
    ("drop", "connection error"),
    ("500_after_store", "HTTP 500"),
    ("drop_after_store", "connection error"),
], ids=["500", "timeout", "drop", "500-after-store", "drop-after-store"])
def test_transient_faults_are_retry(optimove, sandbox, fault, reason):
    sandbox.set_faults({fault: 1.0})
    result = optimove.send([deposit()])
    assert result.status == "retry"
    assert reason in result.reason
    sandbox.set_faults({fault: 0.0})
    assert optimove.send([deposit()]).status == "ok"  # the same sink recovers
    assert len(sandbox.events()) == 1  # after-store faults stored it; the retry is a duplicate by PK


def test_a_refused_server_is_retry(registry, token_env):
    sink = registry.sink("optimove").factory({"url": "http://127.0.0.1:9/v2/reportServer", "token_env": token_env})
    try:
        result = sink.send([deposit()])
    finally:
        sink.close()
    assert result.status == "retry" and "ConnectError" in result.reason


def test_a_poison_event_is_rejected_with_the_servers_reason_and_index(optimove, sandbox):
    batch = [deposit("c", f"t{i}") for i in range(10)]
    batch[3]["context"]["ootb_deposit_amount"] = "lots"
    result = optimove.send(batch)
    assert (result.status, result.http_status, result.rejected_index) == ("rejected", 400, 3)
    assert result.reason.startswith("HTTP 400: invalid_event: event 3 (ootb_deposit) is invalid")
    assert "ootb_deposit_amount" in result.reason
    assert sandbox.events() == []


def test_a_rejection_without_an_index(optimove):
    result = optimove.send([deposit("c", f"t{i}") for i in range(11)])
    assert (result.status, result.rejected_index) == ("rejected", None)
    assert "too_many_events" in result.reason


def test_the_tenant_option_rejects_events_of_another_tenant_before_sending(registry, sandbox, token_env):
    sink = registry.sink("optimove").factory({"url": sandbox.endpoint, "token_env": token_env, "tenant": "567"})
    try:
        result = sink.send([deposit(), deposit("x", tenant=8)])
    finally:
        sink.close()
    assert (result.status, result.rejected_index) == ("rejected", 1)
    assert "tenant_mismatch" in result.reason
    assert sandbox.stats()["requests"] == {}


@pytest.mark.parametrize("change, needle", [
    ({"token": "wrong-token"}, "refused the token"),
    ({"auth_header": "Authorization"}, "refused the token"),
    ({"path": "/v1/other"}, "check the endpoint URL"),
], ids=["wrong-token", "wrong-header", "wrong-path"])
def test_configuration_faults_stop_the_run_instead_of_rejecting_events(registry, sandbox, monkeypatch, change, needle):
    options = {"url": sandbox.endpoint, "token_env": TOKEN_ENV}
    monkeypatch.setenv(TOKEN_ENV, change.get("token", SECRET))
    if "auth_header" in change:
        options["auth_header"] = change["auth_header"]
    if "path" in change:
        options["url"] = sandbox.url + change["path"]
    sink = registry.sink("optimove").factory(options)
    try:
        with pytest.raises(DeliveryError, match=needle) as info:
            sink.send([deposit()])
    finally:
        sink.close()
    assert SECRET not in str(info.value)


def test_the_token_never_appears_in_reprs_logs_reasons_or_errors(registry, sandbox, token_env, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    sink = registry.sink("optimove").factory({"url": sandbox.endpoint, "token_env": token_env, "timeout": 0.3})
    texts = [repr(sink), str(vars(sink).get("token_env"))]
    texts.append(sink.send([deposit()]).reason)
    for fault in ("500", "timeout", "drop", "429"):
        sandbox.set_faults({fault: 1.0})
        texts.append(repr(sink.send([deposit()])))
        sandbox.set_faults({fault: 0.0})
    bad = deposit()
    bad["customer"] = 5
    texts.append(repr(sink.send([bad])))
    sink.close()
    assert TOKEN_ENV in texts[0] and "optimove" in texts[0]
    assert caplog.records, "the test must see the debug logs it checks"
    for text in texts + [caplog.text] + [repr(r.__dict__) for r in caplog.records]:
        assert SECRET not in text


def test_a_reason_echoing_the_token_is_scrubbed(token_env):
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "bad", "message": f"token {request.headers['X-Api-Key']} ok?"})

    sink = HttpJsonSink(name="optimove", url="http://sandbox.test/v2/reportServer", token=SECRET,
                        token_env=token_env, transport=httpx.MockTransport(echo))
    result = sink.send([deposit()])
    sink.close()
    assert SECRET not in result.reason and "[redacted]" in result.reason


def test_a_missing_token_variable_is_named(registry, sandbox, monkeypatch):
    monkeypatch.delenv("EBI_NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(DeliveryError, match="EBI_NOT_SET_ANYWHERE"):
        registry.sink("optimove").factory({"url": sandbox.endpoint, "token_env": "EBI_NOT_SET_ANYWHERE"})


@pytest.mark.parametrize("options, needle", [
    ({"url": "ftp://x/y"}, "http(s) URL"),
    ({"url": "http://x/y", "timeout": "0"}, "timeout must be positive"),
    ({"url": "http://x/y", "timout": 3}, "unknown option(s) timout"),
    ({}, "'url' is required"),
], ids=["scheme", "timeout", "misspelt", "no-url"])
def test_option_mistakes(registry, token_env, options, needle):
    with pytest.raises(DeliveryError) as info:
        registry.sink("optimove").factory({"token_env": token_env, **options})
    assert needle in str(info.value)


@pytest.mark.parametrize("value, seconds", [
    ("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("Tue, 01 Dec 2026 10:00:30 GMT", 30.0),
    ("Tue, 01 Dec 2026 09:00:00 GMT", 0.0), ("soon", None), ("", None), (None, None), ("nan", None),
], ids=["seconds", "fraction", "negative", "http-date", "past-date", "garbage", "empty", "absent", "nan"])
def test_retry_after_forms(value, seconds):
    now = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize("status, body, expected", [
    (202, b"", ("ok", None)),
    (408, b"", ("retry", None)),
    (503, b"<html>busy</html>", ("retry", None)),
    (400, b'{"error": "x", "index": 42}', ("rejected", None)),  # index outside the batch is ignored
    (422, b'{"message": "bad", "index": 0}', ("rejected", 0)),
    (400, b"plain words", ("rejected", None)),
], ids=["202", "408", "503-html", "index-out-of-range", "422-index", "text-body"])
def test_response_mapping(status, body, expected):
    response = httpx.Response(status, content=body, request=httpx.Request("POST", "http://x/"))
    result = result_from_response(response, batch_size=2)
    assert (result.status, result.rejected_index) == expected
    if status >= 400:
        assert result.reason.startswith(f"HTTP {status}")


def test_a_redirect_is_a_configuration_fault():
    response = httpx.Response(301, headers={"Location": "https://elsewhere/"}, request=httpx.Request("POST", "http://x/"))
    with pytest.raises(DeliveryError, match="elsewhere"):
        result_from_response(response, batch_size=1)
