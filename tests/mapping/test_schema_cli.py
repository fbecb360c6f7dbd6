"""``ebi-mapper schema`` prints the mapping file's JSON Schema, and the example mappings validate against it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from ebi_mapper.cli import main

ROOT = Path(__file__).parents[2]


def test_schema_prints_the_packaged_schema_and_the_examples_validate(capsys, tmp_path):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "ebi_mapper" / "mapping" / "mapping.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(printed)
    examples = [p for p in (ROOT / "mappings" / "examples").glob("*.yaml") if not p.name.endswith(".tests.yaml")]
    assert examples
    for path in examples:
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == printed


def test_the_documented_editor_set_up_names_the_command():
    doc = (ROOT / "docs" / "mapping-format.md").read_text()
    assert "ebi-mapper schema" in doc and "yaml.schemas" in doc and "# yaml-language-server: $schema=" in doc
