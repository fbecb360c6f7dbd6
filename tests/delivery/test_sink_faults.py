"""A sink plugin's faults, through a real plugin registered by a mapping's ``plugins:`` and the real CLI.

A bug in the plugin's code (any exception that is not a declared transient or permanent fault)
stops the run at once with exit 4, naming the sink and the plugin; the batch is kept (in the outbox, or read again),
nothing is dead-lettered, and the next run (with the plugin fixed) delivers everything.
"""

from __future__ import annotations

import time

import orjson
import pytest

from delivery_helpers import MAPPING
from ebi_mapper.cli import main
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state

PLUGIN = '''
import os
from pathlib import Path

import orjson

from ebi_mapper import SendResult, SinkDef, hookimpl
from ebi_mapper.errors import PermanentSinkError, TransientSinkError


class FlakySink:
    """Behaves as the file named by option `mode` says (read at each send, so a test can change it)."""

    def __init__(self, options):
        self.mode_file = Path(options["mode"])
        self.out = Path(options["out"])

    def send(self, batch):
        mode = self.mode_file.read_text().strip()
        calls = self.mode_file.with_suffix(".calls")
        calls.write_text(str(int(calls.read_text() or 0) + 1) if calls.exists() else "1")
        if mode == "bug":
            return batch[0]["context"]["no_such_param"] + 1  # a KeyError: a bug in this plugin
        if mode == "type_error":
            raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
        if mode == "not_a_result":
            return True
        if mode == "transient_once" and not self.mode_file.with_suffix(".seen").exists():
            self.mode_file.with_suffix(".seen").write_text("x")
            raise TransientSinkError("database is locked", retry_after=0.01)
        ids = [event["context"].get("ootb_transaction_id") for event in batch]
        if mode == "refuse_second" and "t1" in ids:
            raise PermanentSinkError("no such customer", rejected_index=ids.index("t1"))
        if mode == "connection":
            raise ConnectionRefusedError(111, "Connection refused")
        with self.out.open("ab") as fh:
            for event in batch:
                fh.write(orjson.dumps(event) + b"\\n")
        return SendResult("ok")

    def close(self):
        pass


@hookimpl
def register_sinks(register):
    register(SinkDef("flaky", FlakySink, doc="a test sink"))
'''


def _deposit(i: int) -> dict:
    return {"type": "deposit", "player": i, "tx": f"t{i}", "amount": 5, "currency": "EUR", "at": "2025-01-01T00:00:00Z"}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flaky_plugin.py").write_text(PLUGIN)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text() + "plugins: [flaky_plugin.py]\n"
                       "delivery:\n  retry_base_ms: 1\n  retry_max_ms: 5\n  max_attempts: 3\n")
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(_deposit(i)) + b"\n" for i in range(3)))
    mode = tmp_path / "mode.txt"

    def run(kind: str, *extra: str) -> int:
        mode.write_text(kind)
        return main(["run", str(mapping), "--input", str(src), "--state-dir", str(tmp_path / "state"), "--sink", "flaky",
                     "--sink-option", f"mode={mode}", "--sink-option", f"out={tmp_path / 'out.jsonl'}",
                     "--linger-ms", "1", "--no-progress", *extra])

    return tmp_path, run


def _sent(tmp_path) -> list[str]:
    out = tmp_path / "out.jsonl"
    return sorted(orjson.loads(x)["context"]["ootb_transaction_id"] for x in out.read_text().splitlines()) if out.exists() else []


@pytest.mark.parametrize("kind,exc_name", [("bug", "KeyError"), ("type_error", "TypeError"),
                                           ("not_a_result", "returned bool")], ids=["KeyError", "TypeError", "bad-return"])
def test_a_bug_in_a_sink_plugin_stops_the_run_and_loses_nothing(setup, capsys, kind, exc_name):
    tmp_path, run = setup
    started = time.monotonic()
    assert run(kind) == 4
    assert time.monotonic() - started < 5  # no rounds of backoff
    err = capsys.readouterr().err
    assert "sink 'flaky'" in err and "local:flaky_plugin.py" in err and exc_name in err, err
    assert "the batch is kept" in err and "nothing was acknowledged or dead-lettered" in err
    assert (tmp_path / "mode.calls").read_text() == "1"  # tried once, not retried as if transient
    if kind != "not_a_result":
        assert "flaky_plugin.py" in err and "Traceback" in err  # the plugin's own frames, for its author
    with open_state(tmp_path / "state") as state:
        assert state.dead_letter_count(include_replayed=True) == 0
        # Kept: in the outbox, or (the direct path) its chunk rolled back with the checkpoint, to be read again.
        read = state.totals(make_source(str(tmp_path / "in.jsonl")).input_id).get("records_read", 0)
        assert sum(n for _, n in state.backlog().values()) == 3 or read == 0
        [last] = state.runs(1)
        assert last["status"] == "failed"
    # The plugin fixed: the next run delivers everything the failed one left.
    assert run("ok", "--format", "json") == 0
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["adds_up"] and summary["backlog"] == 0
    assert _sent(tmp_path) == ["t0", "t1", "t2"]


def test_a_sink_signals_transient_and_permanent_faults_by_exception(setup, capsys):
    tmp_path, run = setup
    assert run("transient_once") == 0
    assert _sent(tmp_path) == ["t0", "t1", "t2"]
    (tmp_path / "out.jsonl").unlink()
    # Permanent: the named event is dead-lettered with the sink's reason, the rest delivered.
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(dict(_deposit(i), amount=7)) + b"\n" for i in range(3)))
    capsys.readouterr()
    assert run("refuse_second") == 1
    assert _sent(tmp_path) == ["t0", "t2"]
    with open_state(tmp_path / "state") as state:
        [letter] = state.dead_letters()
        assert letter.kind == "sink" and letter.event["context"]["ootb_transaction_id"] == "t1"
        assert "no such customer" in letter.reasons[0]["message"]


def test_a_network_error_raised_by_a_sink_is_retried_then_dead_lettered(setup, capsys):
    tmp_path, run = setup
    assert run("connection") == 1
    assert int((tmp_path / "mode.calls").read_text()) == 3  # max_attempts
    with open_state(tmp_path / "state") as state:
        letters = state.dead_letters()
        assert len(letters) == 3 and "ConnectionRefusedError" in letters[0].reasons[0]["message"]
