"""The JSON Schema of the mapping format: committed up to date, valid, and the loader's two validators agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from ebi_mapper.mapping import mapping_schema, read_mapping
from ebi_mapper.mapping.yaml_source import read_yaml

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "tests" / "lint"
# the readable ones: the format check only ever sees documents that read without YAML findings
DOCUMENTS = [p for p in [LINT / "base.yaml", *sorted((LINT / "broken").glob("*.yaml"))] if not read_yaml(p.read_bytes()).findings]


def test_committed_schema_is_what_the_tool_generates():
    run = subprocess.run([sys.executable, "tools/mapping_schema.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, "mapping.schema.json is stale: run python tools/mapping_schema.py"


def test_committed_schema_is_a_valid_draft_2020_12_schema():
    schema = mapping_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    path = ROOT / "ebi_mapper" / "mapping" / "mapping.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == schema


def test_the_base_mapping_validates_against_the_schema():
    doc = read_yaml((LINT / "base.yaml").read_bytes())
    jsonschema.Draft202012Validator(mapping_schema()).validate(doc.data)


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_compiled_and_reference_validators_agree(path: Path):
    """The loader asks jsonschema_rs first and explains with jsonschema: they must give one verdict."""
    doc = read_yaml(path.read_bytes())
    reference = jsonschema.Draft202012Validator(mapping_schema()).is_valid(doc.data)
    assert jsonschema_rs.validator_for(mapping_schema()).is_valid(doc.data) == reference


_BASE_DATA = read_yaml((LINT / "base.yaml").read_bytes()).data
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([1.5, "", "x", "drop", "ootb_deposit", "data.x"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["name", "expr", "value", "x", "nulls"]), inner, max_size=2),
    max_leaves=4,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, prefix + (i,))


_ALL_PATHS = [p for p in _paths(_BASE_DATA) if p]


@st.composite
def _mutated_documents(draw):
    """The base document with a few values replaced or removed: near misses of the schema."""
    document = json.loads(json.dumps(_BASE_DATA))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_ALL_PATHS))
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(_JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    return document


@settings(max_examples=200, deadline=None)
@given(_mutated_documents())
def test_validators_agree_on_mutated_documents(document):
    reference = jsonschema.Draft202012Validator(mapping_schema()).is_valid(document)
    note(f"valid: {reference}")
    assert jsonschema_rs.validator_for(mapping_schema()).is_valid(document) == reference


def test_every_schema_error_becomes_a_located_finding():
    text = (LINT / "base.yaml").read_text(encoding="utf-8").replace("tenant: 567", "tenant: 0").replace("nulls: drop", "nulls: 3")
    result = read_mapping("m.yaml", text=text)
    assert [(f.loc.line, f.code) for f in result.findings] == [(5, "schema"), (10, "schema")]
    assert "tenant" in result.findings[0].message and "nulls" in result.findings[1].message
