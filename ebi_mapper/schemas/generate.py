"""Generate the JSON Schema (draft 2020-12) of one OOTB event for one vertical, from the catalog.

The schema covers the whole object Optimove receives (envelope plus ``context``). Only keywords
every validator enforces are used (``pattern``, never ``format``), and patterns are written so that
Python's ``re`` and ECMA 262 engines agree (``[0-9]`` not ``\\d``; no trailing-newline match).
``tools/build_schemas.py`` writes the output under ``events/<vertical>/<event>.json``.
"""

from __future__ import annotations

import json
from typing import Any

from ..catalog.model import Catalog, Param

__all__ = ["generate_schema", "render_schema", "schema_files", "schema_relpath", "DRAFT", "schema_id"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ENVELOPE_ORDER = ("tenant", "event", "customer", "timestamp", "context")


def schema_id(vertical: str, event: str) -> str:
    """The ``$id`` of a vertical × event schema."""
    return f"urn:ebi-mapper:schema:{vertical}:{event}"


def schema_relpath(vertical: str, event: str) -> str:
    """Where the schema lives inside the ``ebi_mapper.schemas`` package."""
    return f"events/{vertical}/{event}.json"


def generate_schema(catalog: Catalog, vertical: str, event: str) -> dict[str, Any]:
    """The schema of ``event`` as a mapping for ``vertical`` must produce it."""
    vert = catalog.vertical(vertical)
    ev = catalog.event(event)
    if event not in vert.events:
        from ..errors import UnknownNameError

        raise UnknownNameError(f"event {event!r} is not one of vertical {vertical!r}'s events ({', '.join(vert.events)})")
    choices = catalog.choices
    context_pattern = choices["context_timestamp"]["value"]["pattern"]
    nullable = bool(choices.get("null_for_non_mandatory", {}).get("value", True))
    mandatory_non_empty = bool(choices.get("mandatory_strings_non_empty", {}).get("value", True))
    all_non_empty = choices.get("empty_strings", {}).get("value", "allowed") != "allowed"

    properties: dict[str, Any] = {}
    for param in ev.params.values():
        mandatory = param.cls == "mandatory"
        properties[param.key] = _param_schema(
            param,
            context_pattern=context_pattern,
            nullable=nullable and not mandatory,
            non_empty=all_non_empty or (mandatory and mandatory_non_empty),
        )
    context = {
        "type": "object",
        "description": f"the {event} params; unknown keys are refused (bespoke attributes go to a self-serve tool)",
        "required": [p.key for p in ev.params.values() if p.cls == "mandatory"],
        "additionalProperties": False,
        "properties": properties,
    }
    return {
        "$schema": DRAFT,
        "$id": schema_id(vertical, event),
        "$comment": f"Generated from the ebi-mapper catalog (version {catalog.version}) by tools/build_schemas.py; do not edit.",
        "title": f"{ev.display_name} ({event}) for the {vert.display_name} vertical",
        "description": ev.description,
        "type": "object",
        "required": list(_ENVELOPE_ORDER),
        "additionalProperties": False,
        "properties": _envelope(catalog, event, context),
    }


def _envelope(catalog: Catalog, event: str, context: dict[str, Any]) -> dict[str, Any]:
    env = catalog.envelope
    tenant = env["tenant"]
    customer = env["customer"]
    ts = env["timestamp"]
    return {
        "tenant": {"type": tenant["type"], "minimum": tenant["minimum"], "description": tenant["description"]},
        "event": {"const": event, "description": env["event"]["description"]},
        "customer": {
            "type": "string",
            "minLength": customer["min_length"],
            "maxLength": customer["max_length"],
            "description": customer["description"],
        },
        "timestamp": {"type": "string", "pattern": ts["pattern"], "description": f"{ts['description']}; form {ts['form']}"},
        "context": context,
    }


def _param_schema(param: Param, *, context_pattern: str, nullable: bool, non_empty: bool) -> dict[str, Any]:
    t = param.type
    schema: dict[str, Any]
    if t == "string" and param.allowed is not None:
        schema = {"enum": list(param.allowed)}  # the closed list says it all (type and length)
    elif t == "string":
        schema = {"type": "string", "maxLength": param.max_length}
    elif t == "string_or_number":
        schema = {"type": ["string", "number"], "maxLength": param.max_length}
    elif t in ("number", "integer", "boolean"):
        schema = {"type": t}
    elif t == "yes_no":
        schema = {"enum": ["Yes", "No"]}
    elif t == "timestamp":
        schema = {"type": "string", "pattern": context_pattern}
    else:  # the catalog's ParamType is closed; a new type must be taught here
        raise ValueError(f"param {param.key}: no schema for type {t!r}")
    if non_empty and "maxLength" in schema:
        schema["minLength"] = 1
    if nullable and "enum" in schema:
        schema["enum"] = schema["enum"] + [None]
    elif nullable:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = types + ["null"]
    if param.description:
        schema["description"] = param.description
    return schema


def render_schema(schema: dict[str, Any]) -> str:
    """The committed form of a schema: two-space indent, UTF-8, trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files(catalog: Catalog) -> dict[str, str]:
    """Every vertical × event schema as ``{relative path: file text}``, in catalog order."""
    return {
        schema_relpath(v.name, event): render_schema(generate_schema(catalog, v.name, event))
        for v in catalog.verticals.values()
        for event in v.events
    }
