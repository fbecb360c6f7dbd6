"""A Hypothesis strategy of values valid against a client's source JSON Schema.

hypothesis-jsonschema's ``from_schema`` is the general tool, but the installed release (0.23.1)
fails on every object schema with current Hypothesis (it calls ``many.more()``, a private API
that Hypothesis removed). Source schemas of webhooks use a small part of JSON Schema, so this
module covers that part itself: ``type``, ``enum``, ``const``, ``properties``/``required``,
``items``/``prefixItems``, length and range bounds, ``pattern``, the common ``format`` values,
``anyOf``/``oneOf``, ``allOf`` of object schemas, and local ``$ref``. A schema using anything else
goes to ``from_schema``. Every drawn value is checked with ``jsonschema``, so what comes out is
valid whichever path drew it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from jsonschema import Draft202012Validator, validators

from ..errors import EbiMapperError, MappingError

__all__ = ["source_schema_strategy", "source_schema_validator", "SUPPORTED_KEYWORDS"]

SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$defs", "definitions", "$ref", "$comment", "title", "description", "examples", "default",
        "type", "enum", "const", "properties", "required", "additionalProperties", "items", "prefixItems",
        "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "deprecated", "readOnly", "writeOnly",
    }
)  # fmt: skip

_UTC = UTC
_FORMATS = {
    "date-time": st.datetimes(datetime(2001, 1, 1), datetime(2099, 1, 1)).map(lambda d: d.replace(tzinfo=_UTC).isoformat().replace("+00:00", "Z")),
    "date": st.dates(datetime(2001, 1, 1).date(), datetime(2099, 1, 1).date()).map(lambda d: d.isoformat()),
    "email": st.from_regex(r"[a-z][a-z0-9]{0,8}@[a-z]{1,8}\.(com|org|mt)", fullmatch=True),
    "uuid": st.uuids().map(str),
    "uri": st.from_regex(r"https://[a-z]{1,10}\.com/[a-z0-9]{0,10}", fullmatch=True),
}


class _Unsupported(Exception):
    """The schema uses a keyword this converter does not cover."""


def source_schema_validator(schema: dict) -> Any:
    """A ``jsonschema`` validator for the schema's own draft (2020-12 when it does not say)."""
    try:
        cls = validators.validator_for(schema, default=Draft202012Validator)
        cls.check_schema(schema)
    except Exception as exc:  # noqa: BLE001 - any schema error is the caller's mistake
        raise EbiMapperError(f"the source schema is not a valid JSON Schema: {exc}") from exc
    return cls(schema)


class _Converter:
    def __init__(self, root: dict) -> None:
        self.root = root
        self.depth = 0

    def resolve(self, ref: str) -> dict:
        if not ref.startswith("#/"):
            raise _Unsupported(f"$ref {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def convert(self, schema: Any) -> st.SearchStrategy[Any]:
        if schema is True or schema == {}:
            return st.one_of(st.none(), st.booleans(), st.integers(0, 1000), st.text(max_size=8))
        if schema is False:
            return st.nothing()
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        unknown = set(schema) - SUPPORTED_KEYWORDS
        if unknown:
            raise _Unsupported(", ".join(sorted(unknown)))
        self.depth += 1
        try:
            if self.depth > 20:
                raise _Unsupported("nesting deeper than 20 (recursive $ref?)")
            return self._convert(schema)
        finally:
            self.depth -= 1

    def _convert(self, schema: dict) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            target = self.resolve(schema["$ref"])
            return self.convert({**target, **rest} if rest else target)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "anyOf" in schema or "oneOf" in schema:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            options = schema.get("anyOf") or schema.get("oneOf") or []
            return st.one_of([self.convert({**rest, **option} if isinstance(option, dict) else option) for option in options])
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                if not isinstance(part, dict) or set(part) - {"type", "properties", "required", "additionalProperties", "title", "description"}:
                    raise _Unsupported("allOf of anything but object schemas")
                merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
                merged["required"] = list(dict.fromkeys(merged.get("required", []) + part.get("required", [])))
                merged.setdefault("type", part.get("type", "object"))
            return self.convert(merged)
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self.convert({**schema, "type": k}) for k in kind])
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else None
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            return self._array(schema)
        if kind == "string":
            return self._string(schema)
        if kind in ("number", "integer"):
            return self._number(schema, kind)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return self.convert(True)

    def _object(self, schema: dict) -> st.SearchStrategy[Any]:
        properties = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in properties]
        missing = [k for k in schema.get("required", []) if k not in properties]
        fixed = {k: self.convert(properties[k]) for k in required}
        fixed.update({k: self.convert(schema.get("additionalProperties", True)) for k in missing})
        optional = {k: self.convert(v) for k, v in properties.items() if k not in required}
        return st.fixed_dictionaries(fixed, optional=optional)

    def _array(self, schema: dict) -> st.SearchStrategy[Any]:
        lo, hi = schema.get("minItems", 0), min(schema.get("maxItems", 4), max(schema.get("minItems", 0), 4))
        prefix = [self.convert(s) for s in schema.get("prefixItems", [])]
        items = self.convert(schema.get("items", True)) if schema.get("items", True) is not False else None
        if prefix:
            tail = st.lists(items, max_size=max(0, hi - len(prefix))) if items is not None else st.just([])
            return st.tuples(*prefix).flatmap(lambda head: tail.map(lambda rest: list(head) + rest))
        if items is None:
            return st.just([])
        return st.lists(items, min_size=lo, max_size=hi, unique_by=(lambda x: repr(x)) if schema.get("uniqueItems") else None)

    def _string(self, schema: dict) -> st.SearchStrategy[Any]:
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", max(schema.get("minLength", 0), 20))
        if "pattern" in schema:
            base = st.from_regex(schema["pattern"])
        elif schema.get("format") in _FORMATS:
            base = _FORMATS[schema["format"]]
        else:
            return st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=lo, max_size=hi)
        return base.filter(lambda s: lo <= len(s) <= hi)

    def _number(self, schema: dict, kind: str) -> st.SearchStrategy[Any]:
        lo, hi = schema.get("minimum"), schema.get("maximum")
        xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if kind == "integer":
            low = lo if lo is not None else (int(xlo) + 1 if xlo is not None else -(10**9))
            high = hi if hi is not None else (int(xhi) - 1 if xhi is not None else 10**12)
            return st.integers(int(low), int(high))
        return st.floats(
            min_value=lo if lo is not None else xlo,
            max_value=hi if hi is not None else xhi,
            exclude_min=xlo is not None and lo is None,
            exclude_max=xhi is not None and hi is None,
            allow_nan=False,
            allow_infinity=False,
        )


def source_schema_strategy(schema: dict) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (checked by ``jsonschema``)."""
    validator = source_schema_validator(schema)
    try:
        strategy = _Converter(schema).convert(schema)
    except _Unsupported as exc:
        # hypothesis-jsonschema covers more of JSON Schema, but its releases lag Hypothesis's
        # internals (0.23.1 crashes on object schemas with Hypothesis 6.170), so it is optional.
        try:
            from hypothesis_jsonschema import from_schema
        except ImportError:
            raise MappingError(
                f"the source schema uses {exc or 'a keyword'} that ebi-mapper's payload generator does not cover; "
                "simplify the schema or install hypothesis-jsonschema"
            ) from None
        strategy = from_schema(schema)
    return strategy.filter(validator.is_valid)
