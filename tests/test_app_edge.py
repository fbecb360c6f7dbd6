"""The application edge (ebi_mapper/app.py): each command builds one plugin registry and hands it on.

A mapping-local plugin counts how often its registration hook runs: once per registry built.
Before the edge, ``run`` built two (lint's and delivery's) and ``map`` two (lint's and the engine's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ebi_mapper import compile_mapping, load_mapping
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
