"""Shared paths and a small mapping writer for the property-testing kit's tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from ebi_mapper import compile_mapping, load_mapping

HERE = Path(__file__).parent
GOOD = HERE / "good"
BROKEN = HERE / "broken"
EXAMPLES = HERE.parent.parent / "mappings" / "examples"

HEADER = """
ebi_mapping: 1
client: kit-test
vertical: casino
tenant: 567
site_currency: EUR
source_timezone: Europe/Malta
"""


def write_mapping(tmp_path: Path, body: str, *, header: str = HEADER, name: str = "m.yaml") -> Path:
    """Write a mapping (header + dedented body) to tmp_path and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(header) + textwrap.dedent(body))
    return path


def mapper_of(path: Path):
    """A compiled mapper for a mapping file."""
    return compile_mapping(load_mapping(path))


def source_schema_of(path: Path) -> dict | None:
    """The sibling ``<name>.source.json`` of a mapping, if there is one."""
    schema = path.with_suffix(".source.json")
    return json.loads(schema.read_text()) if schema.exists() else None


class _Found(Exception):
    pass


def first(strategy, predicate, *, max_examples: int = 1000):
    """The first generated value satisfying ``predicate`` (no shrinking: ``find`` is too slow here)."""
    from hypothesis import HealthCheck, Phase, given, settings

    found = []

    @settings(max_examples=max_examples, phases=[Phase.generate], derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def search(value):
        if predicate(value):
            found.append(value)
            raise _Found

    try:
        search()
    except _Found:
        return found[0]
    raise AssertionError(f"no generated value satisfied the predicate in {max_examples} examples")
