"""The `run`, `dlq` and `plan` commands through the real command line entry point."""

from __future__ import annotations

import orjson
import pytest

from delivery_helpers import MAPPING, write_mixed
from ebi_mapper.cli import main
from ebi_mapper.delivery.state import open_state


def _run(tmp_path, src, *extra):
    return main(["run", str(MAPPING), "--input", str(src), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}", "--linger-ms", "10", "--no-progress", *extra])


def test_run_clean_input_exits_0_and_prints_counts_that_add_up(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the data_studio sink writes under the working directory
    src = tmp_path / "in.jsonl"
    write_mixed(src, 200, seed=1, kinds={"deposit": 5, "signup": 2, "no_rule": 1, "vip": 1})
    assert _run(tmp_path, src) == 0
    out = capsys.readouterr().out
    assert "records:  200 read = " in out and "WARNING" not in out
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert all("attributes" not in line for line in lines)  # bespoke rows never reach the events sink


def test_run_with_rejections_exits_1_and_dlq_shows_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, 100, seed=2, kinds={"deposit": 3, "bad_amount": 1, "malformed": 1})
    assert _run(tmp_path, src, "--format", "json") == 1
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["records"]["rejected"] == expected["outcomes"]["rejected"] and summary["adds_up"]
    assert summary["dead_letters"] == expected["outcomes"]["rejected"]
    assert main(["dlq", "list", "--state-dir", str(tmp_path / "state")]) == 0
    listing = capsys.readouterr().out
    assert f"{expected['outcomes']['rejected']} dead letter(s)" in listing and "coerce_failed" in listing
    assert main(["dlq", "show", "1", "--state-dir", str(tmp_path / "state")]) == 0
    shown = orjson.loads(capsys.readouterr().out)
    assert shown["id"] == 1 and shown["reasons"]
    assert main(["dlq", "show", "999", "--state-dir", str(tmp_path / "state")]) == 1


def test_run_on_a_locked_state_dir_exits_3(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    write_mixed(src, 5, seed=3, kinds={"deposit": 1})
    with open_state(tmp_path / "state"):
        assert _run(tmp_path, src) == 3
    assert "in use by another ebi-mapper run" in capsys.readouterr().err


def test_dlq_replay_after_fix_through_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps({"type": "deposit", "player": 1, "tx": "a", "amount": "12,5", "currency": "EUR",
                                  "at": "2025-01-01T00:00:00Z"}) + b"\n")
    assert _run(tmp_path, src) == 1
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(MAPPING.read_text().replace("ootb_deposit_amount: amount",
                                                 "ootb_deposit_amount: to_number(replace(to_string(amount), ',', '.'))"))
    capsys.readouterr()
    code = main(["dlq", "replay", str(fixed), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}"])
    assert code == 0, capsys.readouterr()
    [line] = (tmp_path / "out.jsonl").read_text().splitlines()
    assert orjson.loads(line)["context"]["ootb_deposit_amount"] == 12.5


@pytest.mark.parametrize("volumes,code,needle", [
    ({"ootb_deposit": 300, "ootb_registration": 20}, 0, "all classes fit"),
    ({"ootb_registration": 80, "ootb_user_details_update": 20}, 1, "backlog grows by 180,000 events per hour"),
], ids=["fits", "profile-overflows"])
def test_plan(tmp_path, capsys, volumes, code, needle):
    vol = tmp_path / "volumes.yaml"
    vol.write_text("".join(f"{k}: {v}\n" for k, v in volumes.items()))
    assert main(["plan", str(MAPPING), "--volumes", str(vol), "--peak-minutes", "30"]) == code
    out = capsys.readouterr().out
    assert needle in out
    if code:
        # 100 events/s = 10 req/s against 5 req/s: 50 events/s pile up; 30 min leave 90,000, drained in 30 min.
        assert "90,000 events wait" in out and "30.0 min late" in out


def test_plan_json_and_custom_limits(tmp_path, capsys):
    vol = tmp_path / "volumes.json"
    vol.write_text('{"ootb_registration": 80, "ootb_user_details_update": 20}')
    assert main(["plan", str(MAPPING), "--volumes", str(vol), "--limit", "profile=100/10s", "--format", "json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    profile = next(c for c in report["classes"] if c["name"] == "profile")
    assert profile["fits"] and profile["requests_per_second"] == 10.0 and profile["limit_requests_per_second"] == 10.0


def test_reading_an_input_again_sends_nothing_the_receiver_already_has(tmp_path, capsys, monkeypatch):
    # One PK in two versions (A, then B): the first pass sends B last; a second pass over the same
    # file queues A and B again as updates, and must send neither (A is older, B is already there).
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    base = {"type": "deposit", "player": 1, "tx": "a", "currency": "EUR", "at": "2025-01-01T00:00:00Z"}
    src.write_bytes(orjson.dumps({**base, "amount": "10"}) + b"\n" + orjson.dumps({**base, "amount": "11"}) + b"\n")
    assert _run(tmp_path, src) == 0
    first = (tmp_path / "out.jsonl").read_text().splitlines()
    assert orjson.loads(first[-1])["context"]["ootb_deposit_amount"] == 11
    capsys.readouterr()
    assert _run(tmp_path, src, "--format", "json") == 0
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["adds_up"]
    assert (tmp_path / "out.jsonl").read_text().splitlines() == first  # nothing sent on the second pass
