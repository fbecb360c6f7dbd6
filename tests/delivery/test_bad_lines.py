"""A line that is not one JSON object is rejected with the same code and reason by `map` and `run`.

`[1,2,3]`, a bare scalar and an array wrapping a valid event used to be silently `filtered` (exit 0,
no dead letter): a producer batching events into arrays lost them all without a sign (issue #11
item 2). Both commands now read lines through one decoder (engine/jsonl/decode.py), so each bad line gets
one code whichever command reads it, and both keep it (rejects file / dead letter).
"""

from __future__ import annotations

import orjson
import pytest

from delivery_helpers import MAPPING
from ebi_mapper.cli import main
from ebi_mapper.delivery.state import open_state

GOOD = orjson.dumps({"type": "deposit", "player": 1, "tx": "a", "amount": "12.5", "currency": "EUR", "at": "2025-01-01T00:00:00Z"})

BAD_LINES = {
    "array of numbers": (b"[1,2,3]", "not_object"),
    "bare number": (b"42", "not_object"),
    "bare string": (b'"deposit"', "not_object"),
    "null": (b"null", "not_object"),
    "array wrapping an event": (b"[" + GOOD + b"]", "not_object"),
    "malformed": (b"{broken", "decode"),
    "invalid utf-8": (b'{"a": "\xff"}', "decode"),
    "nested too deep": (b'{"a": ' * 80 + b"1" + b"}" * 80, "too_deep"),
}


def _map_codes(tmp_path, src) -> list[tuple[str, str]]:
    rejects = tmp_path / "rejects.jsonl"
    assert main(["map", str(MAPPING), str(src), "-o", str(tmp_path / "events.jsonl"), "--rejects", str(rejects), "--workers", "1"]) == 1
    rows = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    return [(row["source"].rsplit(":", 1)[1], row["rejections"][0]["code"]) for row in rows]


def _run_codes(tmp_path, src) -> list[tuple[str, str]]:
    assert main(["run", str(MAPPING), "--input", str(src), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}", "--linger-ms", "10", "--no-progress"]) == 1
    with open_state(tmp_path / "state") as state:
        letters = state.dead_letters()
    return [(d.source.rsplit(":", 1)[1], d.reasons[0]["code"]) for d in letters]


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_map_and_run_reject_a_bad_line_with_the_same_code(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line, code = BAD_LINES[name]
    src = tmp_path / "in.jsonl"
    src.write_bytes(GOOD + b"\n" + line + b"\n" + GOOD.replace(b'"a"', b'"b"') + b"\n")
    assert _map_codes(tmp_path, src) == [("2", code)]
    assert _run_codes(tmp_path, src) == [("2", code)]


def test_the_reason_says_what_the_line_is_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"[" + GOOD + b"]\n")
    rejects = tmp_path / "rejects.jsonl"
    assert main(["map", str(MAPPING), str(src), "-o", str(tmp_path / "events.jsonl"), "--rejects", str(rejects)]) == 1
    [row] = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    message = row["rejections"][0]["message"]
    assert "array" in message and "object" in message
    assert row["raw"].startswith("[{")  # the line is kept whole for the rejects file


@pytest.mark.parametrize(("text", "code"), [(b"[1, 2, 3]", "not_object"), (b"42", "not_object"), (b"{broken", "decode")])
def test_explain_refuses_a_payload_that_is_not_one_object(tmp_path, capsys, text, code):
    payload = tmp_path / "p.json"
    payload.write_bytes(text)
    assert main(["explain", str(MAPPING), str(payload)]) == 2
    err = capsys.readouterr().err
    assert f"[{code}]" in err and "Traceback" not in err
