"""Disabling a plugin by name (``--disable-plugin NAME`` / ``EBI_MAPPER_DISABLE_PLUGINS``), like pytest's ``-p no:NAME``.

Built-ins, installed (entry-point) plugins and a mapping's local plugins can all be disabled; an
unknown name is an error with the nearest name; a mapping that uses a disabled plugin's function,
guard, enricher or sink gets an error saying which plugin was disabled.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ebi_mapper import MappingError, PluginError, UnknownNameError, make_registry
from ebi_mapper.app import disabled_plugins, load
from ebi_mapper.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "mappings" / "examples"
GUARDS = "ebi_mapper.default_plugins.guards"
FUNCTIONS = "ebi_mapper.default_plugins.functions"
SINKS = "ebi_mapper.default_plugins.sinks"


def test_a_disabled_builtin_registers_nothing_and_its_names_say_why():
    registry = make_registry(entry_points=False, disable=[GUARDS])
    assert registry.guards == {} and registry.disabled_plugins == (GUARDS,)
    assert registry.functions and registry.sinks  # the other built-ins are still there
    with pytest.raises(UnknownNameError, match=rf"guard 'currency' comes from plugin '{GUARDS}', which is disabled"):
        registry.guard("currency")
    with pytest.raises(UnknownNameError, match="unknown sink 'nope'"):
        registry.sink("nope")


@pytest.mark.parametrize(("name", "hint"), [("guards", GUARDS), ("ebi_mapper.default_plugins.gaurds", GUARDS), ("webhok", "webhook")])
def test_an_unknown_name_is_an_error_with_the_nearest_name(name, hint):
    with pytest.raises(PluginError, match=rf"cannot disable plugin '{name}': no plugin has that name; did you mean '{hint}'\?"):
        make_registry(disable=[name])


def test_an_installed_plugin_is_disabled_by_its_entry_point_name():
    registry = make_registry(disable=["webhook"])
    assert "webhook" not in registry.sinks and "convert_currency" in registry.guards
    assert "webhook" in make_registry().sinks


def test_a_local_plugin_is_disabled_as_local_file(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from ebi_mapper import EnricherDef, hookimpl\n"
        "@hookimpl\n"
        "def register_enrichers(register):\n"
        "    register(EnricherDef('mine', lambda options, mapping: (lambda event, ctx: None)))\n")
    on = make_registry(entry_points=False, local_modules=["mine.py"], base_dir=tmp_path)
    off = make_registry(entry_points=False, local_modules=["mine.py"], base_dir=tmp_path, disable=["local:mine.py"])
    assert "mine" in on.enrichers and "mine" not in off.enrichers
    assert off.why_missing("enrichers", "mine") == (
        "enricher 'mine' comes from plugin 'local:mine.py', which is disabled (--disable-plugin / EBI_MAPPER_DISABLE_PLUGINS)")


def test_the_environment_adds_to_the_command_line():
    assert disabled_plugins(["a"], {"EBI_MAPPER_DISABLE_PLUGINS": "b, c a"}) == ("a", "b", "c")
    assert disabled_plugins([], {}) == ()


def test_a_mapping_using_a_disabled_function_does_not_load(tmp_path):
    with pytest.raises(MappingError) as caught:
        load(EXAMPLES / "casino.yaml", disable=[FUNCTIONS])
    [finding] = caught.value.findings
    assert finding.code == "unknown-function" and finding.loc.line == 148
    assert f"function 'subtract' comes from plugin '{FUNCTIONS}', which is disabled" in finding.message


def test_lint_on_the_command_line_points_at_the_use(capsys):
    assert main(["--disable-plugin", FUNCTIONS, "lint", str(EXAMPLES / "casino.yaml")]) == 1
    out = capsys.readouterr().out
    assert f"casino.yaml:148:34: error unknown-function rule 'game-session' context.ootb_gross_gaming_revenue: function 'subtract' comes from plugin '{FUNCTIONS}', which is disabled" in out


def test_a_guard_named_in_the_mapping_from_a_disabled_plugin_is_a_lint_error(tmp_path, capsys):
    text = (EXAMPLES / "casino.yaml").read_text().replace("channels: [email]\n", "channels: [email]\nguards:\n  currency: {}\n", 1)
    path = tmp_path / "m.yaml"
    path.write_text(text)
    assert main(["lint", str(path)]) == 0
    assert main(["--disable-plugin", GUARDS, "lint", str(path)]) == 1
    assert f"error unknown-guard guard 'currency' comes from plugin '{GUARDS}', which is disabled" in capsys.readouterr().out


def _map_summary(capsys, *args: str) -> dict:
    code = main([*args, "map", str(EXAMPLES / "casino.yaml"), str(EXAMPLES / "casino.jsonl"), "--out", "-", "--summary", "json"])
    assert code == 1  # the sample has bad lines on purpose
    return json.loads(capsys.readouterr().err)


def test_disabling_the_builtin_guards_turns_them_off_in_map(capsys, monkeypatch):
    monkeypatch.delenv("EBI_MAPPER_DISABLE_PLUGINS", raising=False)
    on = _map_summary(capsys)
    assert on["rejections_by_code"]["currency_mismatch"] == 2 and on["filtered_by_reason"]["pre_go_live"] == 2
    off = _map_summary(capsys, "--disable-plugin", GUARDS)
    assert "currency_mismatch" not in off["rejections_by_code"] and "pre_go_live" not in off["filtered_by_reason"]
    monkeypatch.setenv("EBI_MAPPER_DISABLE_PLUGINS", GUARDS)
    by_env = _map_summary(capsys)
    assert by_env["rejections_by_code"] == off["rejections_by_code"] and by_env["events"] == off["events"]


def test_map_workers_get_the_disabled_plugins_too(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EBI_MAPPER_DISABLE_PLUGINS", raising=False)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        assert main(["--disable-plugin", GUARDS, "map", str(EXAMPLES / "casino.yaml"), str(EXAMPLES / "casino.jsonl"),
                     "--out", str(out), "--workers", workers, "--summary", "json"]) == 1
        capsys.readouterr()
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and b"2026-0" in outputs[0]


def test_run_with_a_disabled_sink_plugin_says_which_and_exits_3(tmp_path, capsys):
    mapping = tmp_path / "casino.yaml"
    shutil.copy(EXAMPLES / "casino.yaml", mapping)
    code = main(["--disable-plugin", SINKS, "run", str(mapping), "--input", str(EXAMPLES / "casino.jsonl"),
                 "--state-dir", str(tmp_path / "state"), "--sink", "jsonl", "--sink-option", f"path={tmp_path / 'o.jsonl'}",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"sink 'jsonl' comes from plugin '{SINKS}', which is disabled" in err and "Traceback" not in err


def test_an_unknown_name_on_the_command_line_exits_3_with_a_suggestion(capsys):
    code = main(["--disable-plugin", "guards", "map", str(EXAMPLES / "casino.yaml"), str(EXAMPLES / "casino.jsonl"), "--out", "-"])
    err = capsys.readouterr().err
    assert code == 3 and f"did you mean '{GUARDS}'?" in err and "Traceback" not in err


def test_plugins_lists_every_name_and_what_a_disabled_one_would_register(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EBI_MAPPER_DISABLE_PLUGINS", raising=False)
    text = (EXAMPLES / "casino.yaml").read_text().replace("channels: [email]\n", "channels: [email]\nplugins: [mine.py]\n", 1)
    (tmp_path / "m.yaml").write_text(text)
    (tmp_path / "mine.py").write_text(
        "from ebi_mapper import EnricherDef, hookimpl\n"
        "@hookimpl\n"
        "def register_enrichers(register):\n"
        "    register(EnricherDef('mine', lambda options, mapping: (lambda event, ctx: None)))\n")
    assert main(["--disable-plugin", SINKS, "--disable-plugin", "local:mine.py", "plugins", str(tmp_path / "m.yaml"),
                 "--format", "json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {GUARDS, FUNCTIONS, SINKS, "webhook", "convert_currency", "local:mine.py"} <= set(rows)
    assert rows[SINKS]["disabled"] and "jsonl" in rows[SINKS]["sinks"]
    assert rows["local:mine.py"]["disabled"] and rows["local:mine.py"]["enrichers"] == ["mine"]
    assert not rows[GUARDS]["disabled"] and "currency" in rows[GUARDS]["guards"]
    assert main(["plugins"]) == 0
    assert "webhook\n    sinks:     webhook" in capsys.readouterr().out
    assert main(["--disable-plugin", "nope", "plugins"]) == 3
    assert "cannot disable plugin 'nope'" in capsys.readouterr().err


def test_the_environment_is_honoured_by_every_builder_of_a_mapping_registry(monkeypatch):
    from ebi_mapper import compile_mapping, lint_path, load_mapping

    monkeypatch.setenv("EBI_MAPPER_DISABLE_PLUGINS", FUNCTIONS)
    assert [f.code for f in lint_path(EXAMPLES / "casino.yaml").errors] == ["unknown-function"]
    with pytest.raises(MappingError):
        load_mapping(EXAMPLES / "casino.yaml")
    mapping = load_mapping(EXAMPLES / "casino.yaml", lint=False)
    assert compile_mapping(mapping, registry=make_registry()).registry.functions  # a registry handed in is used as is
    monkeypatch.setenv("EBI_MAPPER_DISABLE_PLUGINS", GUARDS)
    assert set(compile_mapping(mapping).registry.guards) == {"convert_currency"}  # the installed plugin's only
