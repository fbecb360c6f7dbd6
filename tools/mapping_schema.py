"""Write ``ebi_mapper/mapping/mapping.schema.json``: the JSON Schema of the mapping file format.

Kept as Python so the shared pieces (field specs, expressions) are written once; the output is
committed as package data and a test checks it is up to date. Editors' YAML plugins can use it:
``# yaml-language-server: $schema=<path to mapping.schema.json>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXPR = {"type": "string", "minLength": 1, "description": "a JMESPath expression (plus ebi-mapper's functions)"}
NULLS = {"enum": ["drop", "keep", "reject"]}
FIELD = {
    "description": "an expression, or {expr, nulls, default}, or {value} for a constant",
    "oneOf": [
        EXPR,
        {
            "type": "object",
            "required": ["expr"],
            "additionalProperties": False,
            "properties": {"expr": EXPR, "nulls": NULLS, "default": {}},
        },
        {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {"value": {}}},
    ],
}
NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"}
CONTEXT = {"type": "object", "additionalProperties": FIELD}
# Named values: read as vars.<name>, so a name is a JMESPath identifier.
LET = {
    "type": "object",
    "description": "named values, computed once per record or `each` item in this order (each may use the earlier ones), read as vars.<name>",
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
    "additionalProperties": EXPR,
}
EACH = {
    "description": "fan-out: an expression giving an array (scope item/root/index), or {outer, inner} for two levels (item/outer/index/outer_index/root)",
    "oneOf": [
        EXPR,
        {
            "type": "object",
            "required": ["outer", "inner"],
            "additionalProperties": False,
            "properties": {"outer": EXPR, "inner": {**EXPR, "description": "the inner array, read from each outer element as item (index: the outer index)"}},
        },
    ],
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:ebi-mapper:mapping-file:1",
    "title": "ebi-mapper mapping file",
    "description": "One client's mapping from its own event stream to Optimove's OOTB events (DESIGN.md §2).",
    "type": "object",
    "required": ["ebi_mapping", "client", "vertical", "tenant", "site_currency", "rules"],
    "additionalProperties": False,
    "$defs": {"expr": EXPR, "field": FIELD, "nulls": NULLS, "name": NAME},
    "properties": {
        "ebi_mapping": {"const": 1, "description": "format version"},
        "client": {"type": "string", "minLength": 1, "maxLength": 100},
        "vertical": {"enum": ["multi_sport_casino", "sport", "casino", "sweepstakes", "ecom"]},
        "tenant": {"type": "integer", "minimum": 1},
        "site_currency": {"type": "string", "description": "ISO 4217 code of the site currency; EBI does not convert"},
        "go_live": {"type": "string", "description": "UTC timestamp; events before it are filtered, never sent"},
        "source_timezone": {"type": "string", "description": "IANA zone used to read timestamps without an offset"},
        "dst": {"enum": ["earlier", "later", "reject"], "description": "how a local time in a DST overlap or gap is read"},
        "channels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "nulls": NULLS,
        "partial_profiles": {"enum": ["send", "reject"], "description": "a profile update lacking channel params the customer's known profile cannot fill (cold start): send what is known (counted as partial) or reject it; default: the catalog's choice profile_deltas"},
        "guards": {
            "type": "object",
            "description": "guard name -> false (off), true (on) or its options",
            "additionalProperties": {"oneOf": [{"type": "boolean"}, {"type": "object"}]},
        },
        "enrichers": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "options": {"type": "object"}},
            },
        },
        "tables": {
            "type": "object",
            "description": "lookup tables for lookup(table, key)",
            "additionalProperties": {"type": "object"},
        },
        "fields": {
            "type": "object",
            "description": "reusable field sets: name -> {let, context}, merged into the rules that list the name under extends:",
            "propertyNames": NAME,
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"let": LET, "context": CONTEXT},
            },
        },
        "plugins": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "delivery": {"type": "object", "description": "sink and limit options read by `ebi-mapper run`"},
        "serve": {
            "type": "object",
            "description": "what `ebi-mapper serve` accepts for this mapping: its sources (paths, auth, body formats) "
                           "and its bounds (docs/serve.md)",
            "additionalProperties": False,
            "properties": {
                "sources": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["name", "auth"], "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
                        "path": {"type": "string", "pattern": "^/"},
                        "auth": {"type": "object", "required": ["scheme"], "properties": {"scheme": {"type": "string"}}},
                        "formats": {"type": "array", "minItems": 1, "items": {"enum": ["json", "ndjson"]}},
                    }}},
                "max_body_bytes": {"type": ["integer", "string"]},
                "max_backlog": {"type": ["integer", "string"]},
                "min_free_disk_mb": {"type": ["integer", "string"]},
                "body_timeout_seconds": {"type": ["number", "string"]},
                "dedup_window": {"type": ["string", "integer"]},
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "event", "customer", "timestamp"],
                "additionalProperties": False,
                "properties": {
                    "name": NAME,
                    "when": EXPR,
                    "each": EACH,
                    "let": LET,
                    "extends": {"type": "array", "items": NAME, "uniqueItems": True, "description": "field sets (top-level fields:) merged into this rule; its own entries override theirs"},
                    "event": {"type": "string", "minLength": 1},
                    "customer": FIELD,
                    "timestamp": FIELD,
                    "currency": EXPR,
                    "version": {**EXPR, "description": "the source's order of the versions of one PK (a sequence number, a version, an update time): the highest wins whatever the arrival order"},
                    "nulls": NULLS,
                    "context": CONTEXT,
                },
            },
        },
        "bespoke": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "route": {"type": "string", "description": "data_studio (default) | api_attributes | drop | a plugin sink"},
                "rules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["customer", "timestamp", "attributes"],
                        "additionalProperties": False,
                        "properties": {
                            "name": NAME,
                            "when": EXPR,
                            "each": EACH,
                            "customer": FIELD,
                            "timestamp": FIELD,
                            "attributes": {"type": "object", "minProperties": 1, "additionalProperties": FIELD},
                        },
                    },
                },
            },
        },
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "payload", "expect"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "payload": {},
                    "now": {"type": "string"},
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "events": {"type": "array", "items": {"type": "object"}},
                            "rejections": {"type": "array", "items": {"type": "object"}},
                            "filtered": {"type": "array", "items": {"type": "string"}},
                            "bespoke": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
    },
}

OUT = Path(__file__).resolve().parents[1] / "ebi_mapper" / "mapping" / "mapping.schema.json"


def render() -> str:
    return json.dumps(SCHEMA, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == render() else 1)
    OUT.write_text(render())
    print(f"wrote {OUT}")
