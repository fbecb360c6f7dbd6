"""`map` completes partial profile updates from earlier records of the same input (issue #11 item 11)."""

from __future__ import annotations

import json

import orjson
import pytest

from ebi_mapper.cli import main

from .conftest import BASE

RULES = """
channels: [email]
rules:
  - name: signup
    when: "type == 'signup'"
    event: ootb_registration
    customer: to_string(player)
    timestamp: at
    context:
      ootb_email: email
      ootb_allow_email: "'Yes'"
  - name: player-updated
    when: "type == 'player_updated'"
    event: ootb_user_details_update
    customer: to_string(player)
    timestamp: at
    context:
      ootb_email: email
      ootb_city: city
      ootb_is_blocked: blocked
"""
AT = "2026-12-10T10:00:00Z"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_map_completes_an_update_from_an_earlier_record(tmp_path, capsys, workers):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(BASE + RULES)
    lines = [{"type": "signup", "player": 1, "email": "a@example.com", "at": AT},
             {"type": "player_updated", "player": 1, "blocked": True, "at": AT},
             {"type": "player_updated", "player": 1, "city": "Rome", "at": AT},
             {"type": "player_updated", "player": 2, "city": "Oslo", "at": AT}]  # never seen before: partial
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    out = tmp_path / "out.jsonl"
    code = main(["map", str(mapping), str(src), "--out", str(out), "--summary", "json", "--now", "2026-12-15T12:00:00Z", "--workers", workers])
    assert code == 0
    summary = json.loads(capsys.readouterr().err)
    events = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert [e["context"] for e in events[1:]] == [
        {"ootb_email": "a@example.com", "ootb_allow_email": "Yes", "ootb_is_blocked": True},
        {"ootb_email": "a@example.com", "ootb_allow_email": "Yes", "ootb_is_blocked": True, "ootb_city": "Rome"},
        {"ootb_city": "Oslo"},
    ]
    assert summary["partial_profiles"] == 1 and summary["mapped"] == 4 and summary["balanced"]
