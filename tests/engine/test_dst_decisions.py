"""DST decisions (a local time in a gap or an overlap, settled by the dst policy) are counted and shown.

Issue #11 item 18: the `dst` policy settled such times silently. `map`'s summary now counts them
(any number of worker processes), and `explain` shows each decision.
"""

from __future__ import annotations

import json

import pytest

from ebi_mapper.cli import main

from .conftest import BASE, DEPOSIT_RULE, deposit_payload

# Europe/Malta: 2026-03-29 02:00 -> 03:00 (gap), 2026-10-25 03:00 -> 02:00 (overlap).
GAP, OVERLAP, PLAIN = "2026-03-29 02:30:00", "2026-10-25 02:30:00", "2026-06-01 12:00:00"


@pytest.fixture
def files(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(BASE.replace('go_live: "2026-12-01T00:00:00Z"\n', "") + "rules:\n" + DEPOSIT_RULE)
    src = tmp_path / "in.jsonl"
    times = [GAP, OVERLAP, PLAIN, GAP]
    src.write_text("".join(json.dumps(deposit_payload(processed_at=t, tx_id=f"t{i}")) + "\n" for i, t in enumerate(times)))
    return mapping, src


@pytest.mark.parametrize("workers", ["1", "2"])
def test_map_counts_dst_decisions_in_its_summary(files, tmp_path, capsys, workers):
    mapping, src = files
    assert main(["map", str(mapping), str(src), "-o", str(tmp_path / "out.jsonl"), "--summary", "json", "--workers", workers, "--now", "2026-12-15T12:00:00Z"]) == 0
    summary = json.loads(capsys.readouterr().err)
    # one decision per record: the envelope and ootb_deposit_timestamp read the time with one parse
    assert summary["dst_resolved"] == {"gap": 2, "overlap": 1}


def test_map_text_summary_says_so(files, tmp_path, capsys):
    mapping, src = files
    main(["map", str(mapping), str(src), "-o", str(tmp_path / "out.jsonl"), "--workers", "1", "--now", "2026-12-15T12:00:00Z"])
    assert "dst resolved  2 gap, 1 overlap" in capsys.readouterr().err


@pytest.mark.parametrize(("when", "shown"), [(GAP, "gap: local time 2026-03-29 02:30:00 in Europe/Malta does not exist"),
                                             (OVERLAP, "overlap: local time 2026-10-25 02:30:00 in Europe/Malta occurs twice")])
def test_explain_shows_the_decision(tmp_path, capsys, files, when, shown):
    mapping, _ = files
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps(deposit_payload(processed_at=when)))
    assert main(["explain", str(mapping), str(payload), "--now", "2026-12-15T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert f"dst {shown}" in out and "(dst: earlier)" in out


def test_explain_shows_nothing_for_an_ordinary_time(tmp_path, capsys, files):
    mapping, _ = files
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps(deposit_payload(processed_at=PLAIN)))
    main(["explain", str(mapping), str(payload), "--now", "2026-12-15T12:00:00Z"])
    assert "dst " not in capsys.readouterr().out


def test_run_counts_dst_decisions_in_its_summary(files, tmp_path, capsys, monkeypatch):
    mapping, src = files
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(mapping), "--input", str(src), "--state-dir", str(tmp_path / "st"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'sent.jsonl'}", "--linger-ms", "1", "--no-progress", "--format", "json"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["dst_gap"], totals["dst_overlap"]) == (2, 1)
