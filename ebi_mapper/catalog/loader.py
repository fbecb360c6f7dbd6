"""Load the bundled ``catalog.json`` into the frozen catalog types."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from .model import Catalog, EventDef, Param, RateClass, Vertical

__all__ = ["load_catalog", "make_catalog", "CATALOG_RESOURCE"]

CATALOG_RESOURCE = "catalog.json"
# Params are listed primary key first, then by how much a mapping must care about them.
_CLASS_RANK = {"mandatory": 0, "channel": 1, "enrichment": 2, "optional": 3}


@cache
def load_catalog() -> Catalog:
    """The bundled catalog (read once per process from package data)."""
    text = resources.files(__package__).joinpath(CATALOG_RESOURCE).read_text(encoding="utf-8")
    return make_catalog(json.loads(text))


def make_catalog(data: dict[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from the ``catalog.json`` data (as the builder writes it)."""
    events = {key: _make_event(key, data["events"][key]) for key in data.get("event_order") or sorted(data["events"])}
    verticals = {}
    for name in data.get("vertical_order") or sorted(data["verticals"]):
        v = data["verticals"][name]
        verticals[name] = Vertical(name=name, display_name=v["display_name"], events=tuple(v["events"]))
    rate_classes = {
        name: RateClass(
            name=name,
            requests=rc["requests"],
            per_seconds=rc["per_seconds"],
            events=tuple(rc["events"]),
            max_events_per_request=rc["max_events_per_request"],
        )
        for name, rc in data["rate_classes"].items()
    }
    return Catalog(
        version=data["version"],
        events=events,
        verticals=verticals,
        rate_classes=rate_classes,
        envelope=data["envelope"],
        choices=data.get("choices", {}),
    )


def _make_event(key: str, ev: dict[str, Any]) -> EventDef:
    pk = tuple(ev["primary_key"])
    params = {name: _make_param(name, p) for name, p in ev["params"].items()}

    def order(p: Param) -> tuple[int, int, str]:
        return (pk.index(p.key) if p.key in pk else len(pk), _CLASS_RANK[p.cls], p.key)

    return EventDef(
        key=key,
        display_name=ev["display_name"],
        description=ev["description"],
        params={p.key: p for p in sorted(params.values(), key=order)},
        primary_key=pk,
        rate_class=ev["rate_class"],
    )


def _make_param(key: str, p: dict[str, Any]) -> Param:
    return Param(
        key=key,
        type=p["type"],
        cls=p["cls"],
        description=p.get("description", ""),
        monetary=p.get("monetary", False),
        channels=tuple(p.get("channels") or ()),
        allowed=tuple(p["allowed"]) if p.get("allowed") is not None else None,
        max_length=p.get("max_length", 255),
        primary_key=p.get("primary_key", False),
        confidence=p.get("confidence", "documented"),
        note=p.get("note", ""),
        example=p.get("example"),
        flag=p.get("flag", False),
    )
