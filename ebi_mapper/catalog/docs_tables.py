"""The generated tables of ``docs/catalog.md`` (events, vertical matrix, recorded choices).

The builder splices them between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``
markers so the prose around them stays hand-written and the tables never drift from the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["render_tables", "splice_tables", "TABLE_NAMES"]

TABLE_NAMES = ("events", "matrix", "choices")
_CLASSES = ("mandatory", "channel", "enrichment", "optional")


def render_tables(data: dict[str, Any]) -> dict[str, str]:
    """Markdown for each generated table, from the ``catalog.json`` data."""
    data = json.loads(json.dumps(data, sort_keys=True))  # the committed (sorted) form, whoever calls
    return {"events": _events(data), "matrix": _matrix(data), "choices": _choices(data)}


def splice_tables(text: str, tables: dict[str, str]) -> str:
    """``text`` with each marked region replaced by its table; a missing marker is an error."""
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"docs have no <!-- generated:{name} --> ... <!-- /generated:{name} --> region")
        text = pattern.sub(_keeping_markers(table), text, count=1)
    return text


def _keeping_markers(table: str) -> Callable[[re.Match[str]], str]:
    """A ``re.sub`` replacement putting ``table`` between the matched start and end markers."""
    return lambda m: m.group(1) + table + m.group(2)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _events(data: dict[str, Any]) -> str:
    head = "| Event | Name | Primary key | Rate class | " + " | ".join(_CLASSES) + " | Params |\n"
    head += "|---|---|---|---|" + "---:|" * (len(_CLASSES) + 1) + "\n"
    rows = []
    for key in data["event_order"]:
        ev = data["events"][key]
        counts = [sum(1 for p in ev["params"].values() if p["cls"] == c) for c in _CLASSES]
        rows.append(
            f"| `{key}` | {_cell(ev['display_name'])} | {', '.join(ev['primary_key'])} | {ev['rate_class']} | "
            + " | ".join(str(n) for n in counts)
            + f" | {len(ev['params'])} |\n"
        )
    return head + "".join(rows)


def _matrix(data: dict[str, Any]) -> str:
    verticals = data["vertical_order"]
    head = "| Event | " + " | ".join(f"`{v}`" for v in verticals) + " |\n"
    head += "|---|" + ":---:|" * len(verticals) + "\n"
    rows = []
    for key in data["event_order"]:
        marks = ["✓" if key in data["verticals"][v]["events"] else "" for v in verticals]
        rows.append(f"| `{key}` | " + " | ".join(marks) + " |\n")
    return head + "".join(rows)


def _value(value: Any, depth: int = 0) -> str:
    if isinstance(value, dict):
        text = "; ".join(f"{k}: {_value(v, depth + 1)}" for k, v in value.items())
        return text if depth == 0 else "{" + text + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, depth + 1) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choices(data: dict[str, Any]) -> str:
    head = "| Choice | Value | Takes effect in | Ambiguities | Reason |\n|---|---|---|---|---|\n"
    rows = []
    # named choices first, then the per-param overrides
    for name, entry in sorted(data["choices"].items(), key=lambda kv: (kv[0].startswith("param:"), kv[0])):
        used = ", ".join(entry.get("used_by") or []) or "reading only"
        amb = ", ".join(str(n) for n in entry.get("addresses") or [])
        rows.append(f"| `{_cell(name)}` | `{_cell(_value(entry['value']))}` | {used} | {amb} | {_cell(entry['reason'])} |\n")
    return head + "".join(rows)
