"""Turn ``jsonschema`` errors for one event into :class:`~ebi_mapper.outcomes.Rejection` objects.

One rejection per thing wrong (one per missing param, one per unknown key), each with a JSON path
to the field and a one-line message a human can act on; the most relevant comes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match, relevance

from ..catalog.model import Catalog
from ..catalog.names import nearest_names
from ..outcomes import Rejection
from ..rejection_codes import rejection

__all__ = ["rejections_from_errors", "event_not_in_vertical"]

_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (dict, "object"), (list, "array"))
_SHOWN = 60  # characters of a value quoted inside a message


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for py, name in _JSON_TYPES:
        if isinstance(value, py):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"… ({len(text)} chars)"


def _order(errors: list[ValidationError]) -> list[ValidationError]:
    """``best_match`` first, then the rest as jsonschema ranks them: shallower first, siblings in path order."""
    best = best_match(errors, key=relevance)
    rest = sorted((e for e in errors if e is not best), key=lambda e: (len(e.path), tuple(map(str, e.path)), e.validator))
    return [best, *rest]


def rejections_from_errors(
    errors: Iterable[ValidationError], catalog: Catalog, event: str, *, rule: str = "", source: str = ""
) -> list[Rejection]:
    """Rejections for the validation ``errors`` of one ``event`` object."""
    errors = list(errors)
    if not errors:
        return []
    out: list[Rejection] = []
    seen: set[str] = set()  # one rejection per field: the most relevant of its errors
    for error in _order(errors):
        for field, value, message in _explain(error, catalog, event):
            if field in seen:
                continue
            seen.add(field)
            out.append(rejection("schema", reason=message, rule=rule, event=event, field=field, value=value, source=source))
    return out


def _explain(error: ValidationError, catalog: Catalog, event: str) -> Iterable[tuple[str, Any, str]]:
    path = error.json_path
    keyword = error.validator
    # The stubs allow `Unset` for these (an error not yet filled in); a yielded error has them all.
    instance: Any = error.instance
    value: Any = error.validator_value
    schema: Any = error.schema
    in_context = path == "$.context" or path.startswith("$.context.")
    if keyword == "required":
        # jsonschema yields one error per missing property, all with the same instance
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                what = f"mandatory param {name}" if in_context else f"envelope property {name!r}"
                yield f"{path}.{name}", None, f"{what} is missing"
        return
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for name in sorted(set(instance) - set(known), key=str):
            yield f"{path}.{name}", instance[name], _unknown_key(name, known, in_context, event)
        return
    label = _label(path)
    if keyword == "type":
        expected = value if isinstance(value, list) else [value]
        shown = "null" if instance is None else f"{_json_type(instance)} {_show(instance)}"  # not 'null null'
        yield path, instance, f"{label} must be {' or '.join(expected)}, not {shown}"
    elif keyword == "maxLength":
        yield path, instance, f"{label} is {len(instance)} characters long; at most {value} allowed"
    elif keyword == "minLength":
        yield path, instance, f"{label} must not be empty"
    elif keyword == "enum":
        values = ", ".join(_show(v) for v in value)
        yield path, instance, f"{label} must be one of {values}, not {_show(instance)}"
    elif keyword == "const":
        yield path, instance, f"{label} must be {_show(value)}, not {_show(instance)}"
    elif keyword == "pattern":
        yield path, instance, f"{label} must look like {_pattern_form(value, catalog)}, not {_show(instance)}"
    elif keyword == "minimum":
        yield path, instance, f"{label} must be at least {value}, not {_show(instance)}"
    else:  # keywords the generated schemas do not use today; keep jsonschema's own words, on one line
        yield path, instance, f"{label}: {' '.join(error.message.split())[:200]}"


def _label(path: str) -> str:
    if path.startswith("$.context."):
        return path[len("$.context.") :]
    if path == "$":
        return "the event"
    return f"envelope {path[2:]}" if path.startswith("$.") else path


def _unknown_key(name: Any, known: list[str], in_context: bool, event: str) -> str:
    if not in_context:
        return f"{name!r} is not an envelope property (expected {', '.join(known)})"
    text = f"{name!r} is not a param of {event}"
    near = nearest_names(str(name), known, n=1)
    if near:
        text += f"; did you mean {near[0]}?"
    if not str(name).startswith("ootb_"):
        text += " (custom attributes belong in bespoke:, never in an OOTB event)"
    return text


def _pattern_form(pattern: str, catalog: Catalog) -> str:
    envelope_ts = catalog.envelope.get("timestamp", {})
    if pattern == envelope_ts.get("pattern"):
        return f"{envelope_ts['form']} (e.g. {envelope_ts.get('example', '')})"
    context_ts = catalog.choices.get("context_timestamp", {}).get("value", {})
    if pattern == context_ts.get("pattern"):
        return f"an ISO 8601 UTC time {context_ts['form']} (e.g. 2024-05-27T10:30:00Z)"
    return f"the pattern {pattern}"


def event_not_in_vertical(name: Any, vertical: str, catalog: Catalog, *, rule: str = "", source: str = "") -> Rejection:
    """The rejection for an event the vertical has no schema for (or no event name at all)."""
    vert = catalog.vertical(vertical)
    if not isinstance(name, str):
        what = "missing" if name is None else f"a {_json_type(name)}, not a string"
        return rejection("schema", reason=f"envelope 'event' is {what}", rule=rule, field="$.event", value=name, source=source)
    if name in catalog.events:
        message = f"{name} is not one of the {vertical} vertical's events ({', '.join(vert.events)})"
    else:
        renamed = catalog.choices.get("former_names", {}).get("value", {}).get(name)
        near = nearest_names(name, vert.events, n=1)
        if renamed:
            message = f"{name!r} is a former name of {renamed}; use the current key"
        else:
            message = f"{name!r} is not an OOTB event" + (f"; did you mean {near[0]}?" if near else "")
    return rejection("event_not_in_vertical", reason=message, rule=rule, event=name, field="$.event", value=name, source=source)
