"""`dlq list|show|replay` through the real command line, on real state files."""

from __future__ import annotations

import orjson

from delivery_helpers import MAPPING
from ebi_mapper.cli import main

BAD = {"type": "deposit", "player": 1, "tx": "a", "amount": "12,5", "currency": "EUR", "at": "2025-01-01T00:00:00Z"}
GOOD = {"type": "deposit", "player": 2, "tx": "b", "amount": "3", "currency": "EUR", "at": "2025-01-01T00:00:00Z"}


def _run(tmp_path, src, *extra):
    return main(["run", str(MAPPING), "--input", str(src), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}", "--linger-ms", "10", "--no-progress", *extra])


def _replay(tmp_path, mapping, *extra):
    return main(["dlq", "replay", str(mapping), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}", *extra])


def _listing(tmp_path, capsys, *extra) -> list[dict]:
    capsys.readouterr()
    assert main(["dlq", "list", "--state-dir", str(tmp_path / "state"), "--format", "json", *extra]) == 0
    return orjson.loads(capsys.readouterr().out)


def test_a_replayed_record_that_fails_again_is_a_new_visible_dead_letter(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps(BAD) + b"\n" + orjson.dumps(GOOD) + b"\n")
    assert _run(tmp_path, src) == 1
    [first] = _listing(tmp_path, capsys)
    # Replayed with the same (unfixed) mapping: the record fails the same way again.
    assert _replay(tmp_path, MAPPING, "--format", "json") == 1
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["records"]["rejected"] == 1 and summary["dead_letters"] == 1
    [again] = _listing(tmp_path, capsys)
    assert again["id"] != first["id"] and again["payload"] == BAD and again["kind"] == "mapping"
    assert again["source"] == first["source"] and again["input_id"].startswith("dlq-replay@")
    everything = {d["id"]: d for d in _listing(tmp_path, capsys, "--all")}
    assert everything[first["id"]]["replayed_at"] is not None and everything[again["id"]]["replayed_at"] is None
    capsys.readouterr()
    assert main(["dlq", "list", "--state-dir", str(tmp_path / "state")]) == 0
    assert "1 dead letter(s)" in capsys.readouterr().out
    # A second failed replay chains on: still exactly one letter waiting, never zero.
    assert _replay(tmp_path, MAPPING) == 1
    [third] = _listing(tmp_path, capsys)
    assert third["id"] > again["id"] and third["payload"] == BAD
    # After the fix the replay delivers it and nothing is left waiting.
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(MAPPING.read_text().replace("ootb_deposit_amount: amount",
                                                 "ootb_deposit_amount: to_number(replace(to_string(amount), ',', '.'))"))
    assert _replay(tmp_path, fixed) == 0
    assert _listing(tmp_path, capsys) == []
    sent = [orjson.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(e["context"]["ootb_transaction_id"] for e in sent) == ["a", "b"]


def test_list_and_show_find_the_state_from_the_mapping_or_the_state_dir(tmp_path, capsys, monkeypatch):
    # The mapping names its state dir (relative to the mapping file), as `run` and `replay` read it.
    monkeypatch.chdir(tmp_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text() + "delivery:\n  state_dir: st\n")
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps(BAD) + b"\n")
    assert main(["run", str(mapping), "--input", str(src), "--sink", "jsonl", "--sink-option",
                 f"path={tmp_path / 'out.jsonl'}", "--linger-ms", "10", "--no-progress"]) == 1
    assert (tmp_path / "st" / "state.sqlite").is_file()
    capsys.readouterr()
    for argv in (["dlq", "list", str(mapping)], ["dlq", "list", "--state-dir", str(tmp_path / "st")]):
        assert main(argv) == 0, argv
        assert "1 dead letter(s)" in capsys.readouterr().out
    for argv in (["dlq", "show", "1", str(mapping)], ["dlq", "show", str(mapping), "1"],
                 ["dlq", "show", "1", "--state-dir", str(tmp_path / "st")]):
        assert main(argv) == 0, argv
        assert orjson.loads(capsys.readouterr().out)["payload"] == BAD
    # `state stats|compact` find the same state from the mapping.
    for argv in (["state", "stats", str(mapping), "--format", "json"], ["state", "compact", str(mapping)]):
        assert main(argv) == 0, argv
        assert str(tmp_path / "st") in capsys.readouterr().out or argv[1] == "compact"
    # --state-dir wins over the mapping's: an empty state elsewhere has no letters.
    from ebi_mapper.delivery.state import open_state

    open_state(tmp_path / "other").close()
    assert main(["dlq", "list", str(mapping), "--state-dir", str(tmp_path / "other")]) == 0
    assert "0 dead letter(s)" in capsys.readouterr().out
    assert main(["dlq", "show", str(mapping), "1", "--state-dir", str(tmp_path / "other")]) == 1
    # The replay reads the same state from the mapping alone.
    assert main(["dlq", "replay", str(mapping), "--sink", "jsonl", "--sink-option", f"path={tmp_path / 'out.jsonl'}"]) == 1
    capsys.readouterr()
    assert main(["dlq", "list", str(mapping), "--all", "--format", "json"]) == 0
    assert len(orjson.loads(capsys.readouterr().out)) == 2


def test_dlq_usage_mistakes_exit_2_or_3_with_a_message(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MAPPING's own state dir (.ebi-state/<client>) does not exist here
    cases = [
        (["dlq", "list"], 2, "give MAPPING"),
        (["state", "stats"], 2, "give MAPPING"),
        (["dlq", "list", "--state-dir", str(tmp_path / "nope")], 3, "holds no state store"),
        (["dlq", "list", str(MAPPING)], 3, "holds no state store"),
        (["dlq", "show", str(MAPPING), "1"], 3, "holds no state store"),
        (["dlq", "show", "x"], 2, "not a dead letter id"),
        (["dlq", "show", "1", "2", "3"], 2, "at most one MAPPING"),
        (["dlq", "show", str(tmp_path / "missing.yaml"), "1"], 2, "not a mapping file"),
    ]
    for argv, code, needle in cases:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)
