"""Build the catalog's JSON data from the Optimove reference plus ``choices.yaml``.

Used by ``tools/build_catalog.py`` and by the test that checks the committed ``catalog.json`` is
what the builder produces. The runtime never calls this: it reads ``catalog.json`` only.
Every gap the reference leaves is filled from a named choice; a gap with no choice is an error,
so no decision can be taken silently.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from typing import Any

from ..errors import EbiMapperError

__all__ = [
    "CatalogBuildError",
    "build_catalog_data",
    "render_catalog_json",
    "reference_sha256",
    "CHOICE_FIELDS",
    "OVERRIDE_FIELDS",
]

_EBI_CLASS = {
    "Mandatory": "mandatory",
    "Mandatory if required for the execution channel integration": "channel",
    "Enrichment": "enrichment",
    "Optional": "optional",
}
_CLASSES = ("mandatory", "channel", "enrichment", "optional")
_TYPES = ("string", "number", "integer", "boolean", "yes_no", "timestamp", "string_or_number")
_ENVELOPE_NAMES = ("customer", "timestamp")
CHOICE_FIELDS = ("value", "reason", "used_by", "addresses")
OVERRIDE_FIELDS = ("type", "cls", "channels", "allowed", "max_length", "monetary", "description", "flag")
# A vertical's matrix entry that is not an event key is an open question; the choice that settles it.
_UNCLEAR_MATRIX_ENTRY = {"sweepstakes": "sweepstakes_transactions"}


class CatalogBuildError(EbiMapperError, ValueError):
    """The reference and ``choices.yaml`` do not make a complete, consistent catalog."""


def reference_sha256(text: str | bytes) -> str:
    """The SHA-256 of the reference file, recorded in the catalog so it names its source."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def render_catalog_json(data: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, UTF-8, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Choices:
    """The parsed ``choices.yaml``: named choices and param overrides, checked for shape."""

    def __init__(self, doc: dict[str, Any]):
        if not isinstance(doc, dict) or not isinstance(doc.get("choices"), dict):
            raise CatalogBuildError("choices.yaml must be a mapping with a 'choices:' section")
        self.version = str(doc.get("catalog_version", "1"))
        self.named: dict[str, dict[str, Any]] = {}
        for name, entry in doc["choices"].items():
            self.named[name] = self._entry(name, entry)
        self.overrides: dict[str, dict[str, Any]] = {}
        for pattern, entry in (doc.get("param_overrides") or {}).items():
            entry = self._entry(f"param_overrides[{pattern}]", entry)
            entry["used_by"] = entry["used_by"] or ["builder"]  # overrides are always baked in
            if "." not in pattern:
                raise CatalogBuildError(f"param_overrides key {pattern!r} must be '<event>.<param>' (fnmatch patterns allowed)")
            if not isinstance(entry["value"], dict) or not entry["value"]:
                raise CatalogBuildError(f"param_overrides[{pattern}].value must be a non-empty mapping")
            unknown = set(entry["value"]) - set(OVERRIDE_FIELDS)
            if unknown:
                raise CatalogBuildError(f"param_overrides[{pattern}] sets unknown field(s) {sorted(unknown)}; allowed: {list(OVERRIDE_FIELDS)}")
            self.overrides[pattern] = entry
        self.used: set[str] = set()

    @staticmethod
    def _entry(name: str, entry: Any) -> dict[str, Any]:
        if not isinstance(entry, dict) or "value" not in entry or not str(entry.get("reason", "")).strip():
            raise CatalogBuildError(f"choice {name!r} needs a 'value' and a non-empty 'reason'")
        extra = set(entry) - set(CHOICE_FIELDS)
        if extra:
            raise CatalogBuildError(f"choice {name!r} has unknown field(s) {sorted(extra)}")
        return {
            "value": entry["value"],
            "reason": " ".join(str(entry["reason"]).split()),
            "used_by": list(entry.get("used_by") or []),
            "addresses": list(entry.get("addresses") or []),
        }

    def value(self, name: str, *, allowed: tuple | None = None) -> Any:
        try:
            value = self.named[name]["value"]
        except KeyError:
            raise CatalogBuildError(f"choices.yaml has no choice {name!r}, which the builder needs") from None
        if allowed is not None and value not in allowed:
            raise CatalogBuildError(f"choice {name!r} = {value!r} is not supported; the builder knows {list(allowed)}")
        return value

    def as_catalog_choices(self) -> dict[str, dict[str, Any]]:
        out = dict(self.named)
        for pattern, entry in self.overrides.items():
            out[f"param:{pattern}"] = entry
        return out


def build_catalog_data(reference: dict[str, Any], choices_doc: dict[str, Any], *, source_sha256: str = "") -> dict[str, Any]:
    """Turn the parsed reference and parsed ``choices.yaml`` into the ``catalog.json`` data."""
    choices = _Choices(choices_doc)
    try:
        ref_events = reference["events"]
        order = list(reference["meta"]["scope"])
    except (KeyError, TypeError) as exc:
        raise CatalogBuildError(f"reference lacks {exc}: not the Optimove OOTB reference?") from exc

    rate_classes = _rate_classes(choices, order)
    events = {key: _event(key, ref_events[key], choices, rate_classes) for key in order}
    _apply_overrides(events, choices)
    channel_params = choices.value("channel_params")
    for event in events.values():
        for param in event["params"].values():
            _finish_param(event["key"], param, channel_params)
        del event["key"]
    _check_lists(events, choices)
    verticals = _verticals(reference, choices, events)
    return {
        "format": 1,
        "version": choices.version,
        "generated_by": "tools/build_catalog.py",
        "source": {"reference": "optimove-ootb-events.yaml", "reference_sha256": source_sha256},
        "event_order": order,
        "vertical_order": list(verticals),
        "envelope": _envelope(reference, choices),
        "events": events,
        "verticals": verticals,
        "rate_classes": rate_classes,
        "choices": choices.as_catalog_choices(),
    }


def _envelope(reference: dict[str, Any], choices: _Choices) -> dict[str, dict[str, Any]]:
    props = {p["key"]: p for p in reference["common"]["envelope_properties"]}
    choices.value("envelope_identity", allowed=("customer",))  # visitor is left out below
    tenant_type = choices.value("tenant_type")
    ts = choices.value("envelope_timestamp")
    max_len = choices.value("string_max_length")

    def base(key: str) -> dict[str, Any]:
        p = props[key]
        out = {"required": True, "description": p["description"]}
        if "doc_example" in p:
            out["example"] = p["doc_example"]
        return out

    return {
        "tenant": {**base("tenant"), "type": tenant_type["type"], "minimum": tenant_type["minimum"]},
        "event": {**base("event"), "type": "string"},
        "customer": {**base("customer"), "type": "string", "min_length": 1, "max_length": max_len},
        "timestamp": {**base("timestamp"), "type": "string", "form": ts["form"], "pattern": ts["pattern"]},
        "context": {**base("context"), "type": "object"},
    }


def _rate_classes(choices: _Choices, order: list[str]) -> dict[str, dict[str, Any]]:
    spec = choices.value("rate_classes")
    out: dict[str, dict[str, Any]] = {}
    claimed: dict[str, str] = {}
    defaults = []
    for name, rc in spec.items():
        events = list(rc.get("events") or [])
        for ev in events:
            if ev not in order:
                raise CatalogBuildError(f"rate class {name!r} names unknown event {ev!r}")
            if ev in claimed:
                raise CatalogBuildError(f"event {ev!r} is in rate classes {claimed[ev]!r} and {name!r}")
            claimed[ev] = name
        if not events:
            defaults.append(name)
        out[name] = {
            "requests": int(rc["requests"]),
            "per_seconds": float(rc["per_seconds"]),
            "events": events,
            "max_events_per_request": int(rc.get("max_events_per_request", 10)),
        }
    if len(defaults) != 1:
        raise CatalogBuildError(f"exactly one rate class must have no events (the default); found {defaults}")
    return out


def _rate_class_of(event: str, rate_classes: dict[str, dict[str, Any]]) -> str:
    for name, rc in rate_classes.items():
        if event in rc["events"]:
            return name
    return next(name for name, rc in rate_classes.items() if not rc["events"])


def _event(key: str, ref: dict[str, Any], choices: _Choices, rate_classes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pk = list(ref["primary_keys"])
    params: dict[str, dict[str, Any]] = {}
    for p in ref["parameters"]:
        if p["key"] in params:
            raise CatalogBuildError(f"{key}: param {p['key']!r} listed twice in the reference")
        params[p["key"]] = _param(key, p, pk, choices)
    if len(params) != ref.get("parameter_count", len(params)):
        raise CatalogBuildError(f"{key}: {len(params)} params but the reference says {ref['parameter_count']}")
    for name in pk:
        if name not in _ENVELOPE_NAMES and name not in params:
            raise CatalogBuildError(f"{key}: primary-key member {name!r} is neither an envelope property nor a param")
    for name, p in params.items():
        if p["primary_key"] and name not in pk:
            raise CatalogBuildError(f"{key}: {name} is flagged as a primary key but not in the event's primary_keys")
    return {
        "key": key,
        "display_name": ref["display_name"],
        "description": ref.get("sent_when", ""),
        "primary_key": pk,
        "rate_class": _rate_class_of(key, rate_classes),
        "params": params,
    }


def _param(event: str, p: dict[str, Any], pk: list[str], choices: _Choices) -> dict[str, Any]:
    key = p["key"]
    basis: list[str] = []
    ref_type = p["type"]
    if ref_type == "Boolean":
        ptype = None  # no default: the docs mix 'Yes'/'No' and true/false; a param override must decide
    else:
        type_map = choices.value("type_map")
        if ref_type not in type_map:
            raise CatalogBuildError(f"{event}.{key}: reference type {ref_type!r} has no entry in choice 'type_map'")
        ptype = type_map[ref_type]
        if ref_type == "String" and str(p.get("format", "")).startswith("ISO 8601"):
            ptype = choices.value("iso_8601_string_params", allowed=_TYPES)
            basis.append("type by choice iso_8601_string_params")
        if key in choices.value("integer_params"):
            if ptype != "number":
                raise CatalogBuildError(f"{event}.{key}: integer_params names a {ref_type} param")
            ptype = "integer"
            basis.append("type by choice integer_params")

    is_pk = key in pk
    cls = _EBI_CLASS.get(p["ebi"]) if p.get("ebi") else None
    if p.get("ebi") and cls is None:
        raise CatalogBuildError(f"{event}.{key}: unknown EBI class {p['ebi']!r}")
    if is_pk and cls != "mandatory" and choices.value("primary_key_params_mandatory", allowed=(True, False)):
        cls = "mandatory"
        basis.append("class by choice primary_key_params_mandatory")
    if cls is None:
        if p.get("marked_optional_on_page"):
            cls = choices.value("page_optional_marker", allowed=_CLASSES)
            basis.append("class by choice page_optional_marker")
        elif p.get("opti_x_mandatory") == "Yes" and choices.value("opti_x_mandatory_column", allowed=("ignored", "mandatory")) == "mandatory":
            cls = "mandatory"
            basis.append("class by choice opti_x_mandatory_column")
        else:
            cls = choices.value("unknown_ebi_class", allowed=_CLASSES)
            basis.append("class by choice unknown_ebi_class (EBI column not visible)")

    monetary = p.get("monetary", False)
    if monetary == "unclear":
        monetary = choices.value("virtual_currency_monetary", allowed=(True, False))
        basis.append("monetary by choice virtual_currency_monetary")
    if not isinstance(monetary, bool):
        raise CatalogBuildError(f"{event}.{key}: monetary {monetary!r} is neither true, false nor 'unclear'")

    notes = [n for n in (p.get("note"), p.get("ebi_note") and f"EBI class: {p['ebi_note']}") if n]
    return {
        "key": key,
        "type": ptype,
        "cls": cls,
        "description": p.get("description", ""),
        "monetary": monetary,
        "channels": [],
        "allowed": None,
        "max_length": choices.value("string_max_length"),
        "primary_key": is_pk,
        "confidence": p.get("confidence", "documented"),
        "note": "; ".join(" ".join(str(n).split()) for n in notes + basis),
        "example": p.get("doc_example"),
        # working fields, removed by _finish_param
        "_ref_allowed": p.get("allowed_values"),
        "_allowed_set": False,
    }


def _apply_overrides(events: dict[str, dict[str, Any]], choices: _Choices) -> None:
    for pattern, entry in choices.overrides.items():
        ev_pat, _, param_pat = pattern.partition(".")
        hits = 0
        for ev_key, event in events.items():
            if not fnmatch.fnmatchcase(ev_key, ev_pat):
                continue
            for key, param in event["params"].items():
                if not fnmatch.fnmatchcase(key, param_pat):
                    continue
                hits += 1
                for field, value in entry["value"].items():
                    param[field] = value
                    if field == "allowed":
                        param["_allowed_set"] = True
                param["note"] = "; ".join(n for n in (param["note"], f"override {pattern}") if n)
        if not hits:
            raise CatalogBuildError(f"param_overrides[{pattern}] matches no param (misspelt?)")


def _finish_param(event: str, param: dict[str, Any], channel_params: dict[str, list[str]]) -> None:
    """Settle allowed values and channels once overrides are in; check the result is complete."""
    key = param["key"]
    ref_allowed = param.pop("_ref_allowed")
    allowed_set = param.pop("_allowed_set")
    if param["type"] is None:
        raise CatalogBuildError(f"{event}.{key}: Boolean in the reference; add a param_overrides entry choosing yes_no or boolean")
    if param.get("flag") and param["type"] != "integer":
        raise CatalogBuildError(f"{event}.{key}: 'flag' (a 0/1 number flag) needs type integer, not {param['type']}")
    if not param.get("flag"):
        param.pop("flag", None)  # written only where set: catalog.json stays as it was elsewhere
    if param["type"] not in _TYPES:
        raise CatalogBuildError(f"{event}.{key}: type {param['type']!r} is not one of {_TYPES}")
    if param["cls"] not in _CLASSES:
        raise CatalogBuildError(f"{event}.{key}: class {param['cls']!r} is not one of {_CLASSES}")
    if not allowed_set and ref_allowed:
        if param["type"] == "string":
            if any("(" in str(v) for v in ref_allowed):
                raise CatalogBuildError(f"{event}.{key}: allowed values {ref_allowed} are partly inferred; decide them in param_overrides")
            param["allowed"] = [str(v) for v in ref_allowed]
        elif param["type"] in ("yes_no", "boolean") and {str(v).split(" ")[0] for v in ref_allowed} <= {"Yes", "No"}:
            pass  # the type itself carries the two values
        else:
            raise CatalogBuildError(f"{event}.{key}: the reference lists values {ref_allowed} for a {param['type']} param; decide 'allowed' in param_overrides")
    if param["allowed"] is not None and param["type"] != "string":
        raise CatalogBuildError(f"{event}.{key}: 'allowed' only applies to string params")
    if param["cls"] == "channel" and not param["channels"]:
        param["channels"] = sorted(ch for ch, keys in channel_params.items() if key in keys)
        if not param["channels"]:
            raise CatalogBuildError(f"{event}.{key}: channel-class param that no entry of choice 'channel_params' names")
    if param["cls"] != "channel" and param["channels"]:
        raise CatalogBuildError(f"{event}.{key}: channels given for a {param['cls']} param")
    del param["key"]


def _check_lists(events: dict[str, dict[str, Any]], choices: _Choices) -> None:
    """Names listed in choices must exist, so a typo cannot silently do nothing."""
    all_params = {k for e in events.values() for k in e["params"]}
    for name in choices.value("integer_params"):
        if name not in all_params:
            raise CatalogBuildError(f"choice integer_params names unknown param {name!r}")
    for channel, keys in choices.value("channel_params").items():
        for name in keys:
            if not any(e["params"].get(name, {}).get("cls") == "channel" for e in events.values()):
                raise CatalogBuildError(f"choice channel_params[{channel}] names {name!r}, which no event has as a channel param")


def _verticals(reference: dict[str, Any], choices: _Choices, events: dict[str, Any]) -> dict[str, dict[str, Any]]:
    matrix = reference["verticals"]["event_mapping"]
    out: dict[str, dict[str, Any]] = {}
    for name, ref_name in choices.value("vertical_names").items():
        if ref_name not in matrix:
            raise CatalogBuildError(f"vertical {name!r}: the reference's event_mapping has no {ref_name!r}")
        listed: list[str] = []
        for entry in matrix[ref_name]:
            if entry in events:
                listed.append(entry)
            elif name in _UNCLEAR_MATRIX_ENTRY:
                listed.extend(choices.value(_UNCLEAR_MATRIX_ENTRY[name]))
            else:
                raise CatalogBuildError(f"vertical {name!r}: matrix entry {entry!r} is not an event and no choice settles it")
        for ev in listed:
            if ev not in events:
                raise CatalogBuildError(f"vertical {name!r}: unknown event {ev!r}")
        out[name] = {"display_name": ref_name, "events": list(dict.fromkeys(listed))}
    return out
