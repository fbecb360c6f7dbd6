"""The application edge (ebi_mapper/app/): each command builds one plugin registry and hands it on.

A mapping-local plugin counts how often its registration hook runs: once per registry built.
Before the edge, ``run`` built two (lint's and delivery's) and ``map`` two (lint's and the engine's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebi_mapper import EbiMapperError, compile_mapping, load_mapping
from ebi_mapper.app import load
from ebi_mapper.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "mappings" / "examples"
COUNTER = """\
from pathlib import Path
from ebi_mapper import FunctionDef, hookimpl

@hookimpl
def register_functions(register):
    with open(Path(__file__).with_name("registrations.txt"), "a") as f:
        f.write("x")
    register(FunctionDef("counted", lambda x: x, (("any",),)))
"""


@pytest.fixture
def counted(tmp_path):
    """The casino example with a local plugin that counts registries; returns (mapping path, count())."""
    text = (EXAMPLES / "casino.yaml").read_text().replace("channels: [email]\n", "channels: [email]\nplugins: [counter.py]\n", 1)
    (tmp_path / "casino.yaml").write_text(text)
    (tmp_path / "counter.py").write_text(COUNTER)
    counts = tmp_path / "registrations.txt"

    def count() -> int:
        n = len(counts.read_text()) if counts.exists() else 0
        counts.unlink(missing_ok=True)
        return n

    return tmp_path / "casino.yaml", count


def test_run_builds_one_registry(counted, tmp_path, capsys):
    mapping, count = counted
    code = main(["run", str(mapping), "--input", str(EXAMPLES / "casino.jsonl"), "--state-dir", str(tmp_path / "state"),
                 "--sink", "jsonl", "--sink-option", f"path={tmp_path / 'out.jsonl'}", "--no-progress"])
    assert code == 1, capsys.readouterr().err  # the sample has bad lines on purpose
    assert count() == 1
    assert main(["dlq", "replay", str(mapping), "--state-dir", str(tmp_path / "state"), "--sink", "jsonl",
                 "--sink-option", f"path={tmp_path / 'out.jsonl'}"]) == 1
    assert count() == 1


@pytest.mark.parametrize("command", [["lint"], ["test"], ["map", str(EXAMPLES / "casino.jsonl"), "--out", "-"]])
def test_each_command_builds_one_registry(counted, capsys, command):
    mapping, count = counted
    main([command[0], str(mapping), *command[1:]])
    capsys.readouterr()
    assert count() == 1


def test_the_python_api_loads_with_one_registry_and_compiles_with_it(counted):
    mapping, count = counted
    loaded = load(mapping)
    assert count() == 1 and loaded.mapper is not None and loaded.mapper.registry is loaded.registry
    assert "counted" in loaded.registry.functions
    # The two-step public API keeps working: it builds a registry per step, as documented.
    compile_mapping(load_mapping(mapping))
    assert count() == 2


def test_the_engine_is_handed_a_registry():
    from ebi_mapper.engine import compile_mapping as engine_compile

    with pytest.raises(TypeError, match="registry"):
        engine_compile(load_mapping(EXAMPLES / "casino.yaml"))  # type: ignore[call-arg]


def test_delivering_records_how_the_run_ended_and_closes_the_sinks(tmp_path):
    """The set-up run, dlq replay, worker and serve share: a failure inside is recorded 'failed', Ctrl-C 'interrupted'."""
    from ebi_mapper.app import delivering, delivery_setup
    from ebi_mapper.delivery.state import open_state

    setup = delivery_setup(EXAMPLES / "casino.yaml", sink="jsonl", sink_options=[f"path={tmp_path / 'out.jsonl'}"],
                           state_dir=tmp_path / "state")
    assert setup.loaded.mapper.registry is setup.loaded.registry
    with open_state(setup.settings.state_dir) as state:
        for exc, status in ((RuntimeError("boom"), "failed"), (KeyboardInterrupt(), "interrupted")):
            with pytest.raises(type(exc)), delivering(setup, state, input_id=f"in-{status}", mapping="m") as run:
                sink = run.event_sink
                raise exc
            assert state.runs(1)[0]["status"] == status and state.runs(1)[0]["input_id"] == f"in-{status}"
            with pytest.raises(EbiMapperError, match="closed"):
                sink.send([{"event": "x"}])
        src = tmp_path / "in.jsonl"
        src.write_bytes((EXAMPLES / "casino.jsonl").read_bytes())
        from ebi_mapper.delivery.source import make_source

        source = make_source(str(src), run_tag="t")
        with delivering(setup, state, input_id=source.input_id, mapping="m") as run:
            run.summary = run.loop.run_input(source)
        assert state.runs(1)[0]["status"] == run.summary.status == "complete"
