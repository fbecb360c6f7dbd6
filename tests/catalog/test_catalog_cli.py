"""``ebi-mapper catalog``: tables, JSON output, and clear errors for unknown names."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ebi_mapper.catalog import load_catalog
from ebi_mapper.cli import cli, main
from ebi_mapper.cli.exits import EXIT_CONFIG, EXIT_OK
from ebi_mapper.errors import UnknownNameError


def _run(*args: str):
    result = CliRunner().invoke(cli, ["catalog", *args])
    return result


def test_lists_every_event_and_vertical():
    result = _run()
    assert result.exit_code == EXIT_OK, result.output
    for event in load_catalog().events:
        assert event in result.output
    for vertical in ("multi_sport_casino", "sport", "casino", "sweepstakes", "ecom"):
        assert vertical in result.output
    assert "50 requests / 10 s" in result.output
    assert "inferred matrix" in result.output


def test_one_event_shows_params_with_type_class_pk_and_monetary():
    result = _run("--event", "ootb_deposit")
    assert result.exit_code == EXIT_OK, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip().startswith("ootb_")}
    assert set(load_catalog().events["ootb_deposit"].params) <= set(lines)
    assert "string_or_number" in lines["ootb_transaction_id"] and "mandatory" in lines["ootb_transaction_id"]
    assert "PK" in lines["ootb_transaction_id"]
    assert "monetary" in lines["ootb_deposit_amount"] and "enrichment" in lines["ootb_deposit_amount"]
    assert "monetary" not in lines["ootb_deposit_method"]
    assert "primary key: customer, ootb_transaction_id, timestamp" in result.output


def test_event_shows_channels_and_allowed_values():
    result = _run("--event", "ootb_registration")
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip().startswith("ootb_")}
    assert "channel: sms, whatsapp" in lines["ootb_mobile_number"]
    assert "Started, Completed, Failed" in lines["ootb_status"]
    assert "profile" in result.output


def test_one_vertical_shows_its_events_only():
    result = _run("--vertical", "ecom")
    assert result.exit_code == EXIT_OK, result.output
    assert "ootb_product_refund" in result.output
    assert "ootb_deposit" not in result.output
    assert "inferred matrix" in result.output


def test_event_within_its_vertical():
    assert _run("--vertical", "casino", "--event", "ootb_game_session").exit_code == EXIT_OK


def test_json_for_an_event():
    result = _run("--event", "ootb_deposit", "--format", "json")
    assert result.exit_code == EXIT_OK
    data = json.loads(result.output)
    assert data["key"] == "ootb_deposit"
    assert data["primary_key"] == ["customer", "ootb_transaction_id", "timestamp"]
    assert data["params"]["ootb_deposit_amount"]["monetary"] is True
    assert data["rate_limit"]["requests"] == 10_000
    assert "sweepstakes" in data["verticals"]


def test_json_for_a_vertical_and_for_everything():
    data = json.loads(_run("--vertical", "sport", "--format", "json").output)
    assert list(data["events"]) == list(load_catalog().verticals["sport"].events)
    assert data["matrix"] == "inferred"
    everything = json.loads(_run("--format", "json").output)
    assert len(everything["events"]) == 10
    assert everything["rate_classes"]["profile"]["requests"] == 50
    assert everything["choices"]["unknown_ebi_class"]["value"] == "enrichment"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--vertical", "casinoo"], "did you mean casino"),
        (["--event", "ootb_deposits"], "did you mean ootb_deposit"),
        (["--vertical", "lottery"], "known: multi_sport_casino"),
        (["--vertical", "casino", "--event", "ootb_product_refund"], "not one of vertical 'casino'"),
    ],
    ids=["vertical-typo", "event-typo", "vertical-unknown", "event-outside-vertical"],
)
def test_unknown_names_are_clear_errors(args, message, capsys):
    with pytest.raises(UnknownNameError, match=message):
        CliRunner().invoke(cli, ["catalog", *args], catch_exceptions=False)
    assert main(["catalog", *args]) == EXIT_CONFIG
    assert message in capsys.readouterr().err


def test_bad_format_is_a_usage_error():
    assert _run("--format", "xml").exit_code == 2
