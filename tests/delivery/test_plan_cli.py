"""`plan`: volumes for misspelt events are errors, for events the mapping never produces warnings."""

from __future__ import annotations

import orjson
import pytest

from delivery_helpers import MAPPING
from ebi_mapper.cli import main

# MAPPING produces ootb_deposit, ootb_registration, ootb_user_details_update, ootb_sports_bet_placed.


def _plan(tmp_path, capsys, volumes: dict, *extra: str) -> tuple[int, str, str]:
    vol = tmp_path / "volumes.yaml"
    vol.write_text("".join(f"{k}: {v}\n" for k, v in volumes.items()))
    code = main(["plan", str(MAPPING), "--volumes", str(vol), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_misspelt_event_is_an_error_with_a_suggestion(tmp_path, capsys):
    code, out, err = _plan(tmp_path, capsys, {"ootb_deposit": 10, "ootb_product_order": 5})
    assert code == 1
    assert "error: volumes: ootb_product_order is not an OOTB event; did you mean 'ootb_product_order_completed'?" in out
    assert "all classes fit" in out  # the plan itself is still shown


def test_an_event_the_mapping_never_produces_is_a_warning_and_an_error_under_strict(tmp_path, capsys):
    volumes = {"ootb_deposit": 10, "ootb_withdrawal": 5}
    code, out, _ = _plan(tmp_path, capsys, volumes)
    assert code == 0
    assert "warning: volumes: ootb_withdrawal is an OOTB event no rule of the mapping produces" in out
    code, out, _ = _plan(tmp_path, capsys, volumes, "--strict")
    assert code == 1 and "warning: volumes: ootb_withdrawal" in out


def test_events_the_mapping_produces_without_a_volume_are_noted(tmp_path, capsys):
    code, out, _ = _plan(tmp_path, capsys, {"ootb_deposit": 10}, "--strict")
    assert code == 0  # a note, not a warning: the plan counts them as 0 events/s
    assert "note: no volume given for ootb_registration, ootb_sports_bet_placed, ootb_user_details_update" in out


@pytest.mark.parametrize("strict", [False, True])
def test_json_carries_the_findings(tmp_path, capsys, strict):
    extra = ("--format", "json") + (("--strict",) if strict else ())
    code, out, _ = _plan(tmp_path, capsys, {"ootb_deposit": 10, "ootb_depost": 1, "ootb_withdrawal": 2}, *extra)
    report = orjson.loads(out)
    assert code == 1
    assert [(f["severity"], f["event"]) for f in report["findings"]] == [
        ("error", "ootb_depost"), ("warning", "ootb_withdrawal"),
        ("note", "ootb_registration"), ("note", "ootb_sports_bet_placed"), ("note", "ootb_user_details_update")]
    assert report["unknown_events"] == ["ootb_depost"]
