"""Helpers for the catalog and schema tests: repo paths, and example events built from the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ebi_mapper.catalog import EventDef, Param, load_catalog

ROOT = Path(__file__).resolve().parents[2]
# The project keeps its own copy, so a fresh clone runs every catalog test; the master copy lives in
# ../shared/reference beside the clone when there is one (test_reference_copy_matches_shared checks drift).
REFERENCE = ROOT / "tests" / "catalog" / "reference" / "optimove-ootb-events.yaml"
SHARED_REFERENCE = ROOT.parent / "shared" / "reference" / "optimove-ootb-events.yaml"

# A value of each type for params whose docs give no example.
_FILLER = {
    "string": "text",
    "number": 12.5,
    "integer": 2,
    "boolean": True,
    "yes_no": "Yes",
    "timestamp": "2024-05-27T10:30:00Z",
    "string_or_number": "id-123",
}


def example_value(param: Param) -> Any:
    """The docs' example for ``param``, or a plain value of its type where the docs give none."""
    if param.example is not None:
        return param.example
    if param.allowed:
        return param.allowed[0]
    return _FILLER[param.type]


def example_event(event: EventDef, **context_overrides: Any) -> dict[str, Any]:
    """A complete, valid event object: every param filled from the docs' examples."""
    context = {key: example_value(p) for key, p in event.params.items()}
    context.update(context_overrides)
    return {
        "tenant": 567,
        "event": event.key,
        "customer": "customerId1",
        "timestamp": "2024-05-27 10:30:00.000000 UTC",
        "context": context,
    }


def pairs() -> list[tuple[str, str]]:
    """Every (vertical, event) the catalog has a schema for."""
    return [(v.name, e) for v in load_catalog().verticals.values() for e in v.events]
