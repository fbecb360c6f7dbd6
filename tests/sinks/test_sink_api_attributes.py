"""The api_attributes sink against the sandbox's attributes route on loopback."""

from __future__ import annotations

import pytest

from ebi_mapper.errors import DeliveryError
from ebi_mapper.outcomes import BespokeRow
from ebi_mapper.sandbox import start_sandbox
from sink_helpers import SECRET, TOKEN_ENV


def _row(customer: str, ts: str, **attributes) -> dict:
    return BespokeRow(customer=customer, timestamp=ts, attributes=attributes, rule="vip").to_dict()


@pytest.fixture
def attributes_sink(registry, sandbox, token_env):
    sink = registry.sink("api_attributes").factory({"url": sandbox.attributes_endpoint, "token_env": token_env,
                                                    "timeout": 0.5})
    yield sink
    sink.close()


def test_rows_are_posted_and_the_latest_value_kept(attributes_sink, sandbox):
    result = attributes_sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold"),
                                   _row("p1", "2026-12-01T09:00:00Z", tier="silver", segment="a")])
    assert result.status == "ok"
    assert sandbox.attributes() == [{"customer": "p1", "attributes": {"segment": "a", "tier": "gold"},
                                     "timestamps": {"segment": "2026-12-01T09:00:00Z", "tier": "2026-12-01T10:00:00Z"}}]


def test_the_rule_name_is_not_sent(attributes_sink, sandbox):
    # the sandbox refuses unknown keys in a row, so a leaked 'rule' would be a rejection
    assert attributes_sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold")]).status == "ok"


def test_a_bad_row_is_rejected_with_its_index(attributes_sink):
    result = attributes_sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold"),
                                   {"customer": "", "timestamp": "2026-12-01T10:00:00Z", "attributes": {"a": 1}}])
    assert (result.status, result.rejected_index) == ("rejected", 1)
    assert "invalid_row" in result.reason


@pytest.mark.parametrize("fault", ["500", "drop", "timeout", "429"])
def test_transient_faults_are_retry(attributes_sink, sandbox, fault):
    sandbox.set_faults({fault: 1.0})
    assert attributes_sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold")]).status == "retry"


def test_without_token_env_no_auth_header_is_sent(registry):
    with start_sandbox(vertical="casino", token=None) as open_sb, start_sandbox(vertical="casino", token=SECRET) as locked:
        sink = registry.sink("api_attributes").factory({"url": open_sb.attributes_endpoint})
        assert sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold")]).status == "ok"
        sink.close()
        sink = registry.sink("api_attributes").factory({"url": locked.attributes_endpoint})
        with pytest.raises(DeliveryError, match="refused the token"):
            sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold")])
        sink.close()


def test_a_named_but_unset_token_variable_is_an_error(registry, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(DeliveryError, match=TOKEN_ENV):
        registry.sink("api_attributes").factory({"url": "http://127.0.0.1:9/", "token_env": TOKEN_ENV})
