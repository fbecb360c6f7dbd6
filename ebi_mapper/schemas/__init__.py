"""The per-vertical JSON Schemas of the OOTB events, and checking events against them.

The schemas are package data (``events/<vertical>/<event>.json``) generated from the catalog by
``tools/build_schemas.py``. ``jsonschema`` gives the reference semantics here; a faster validator
must give the same verdicts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from jsonschema import Draft202012Validator

from ..catalog import load_catalog, nearest_names
from ..errors import UnknownNameError
from ..outcomes import Rejection
from ..rejection_codes import rejection
from .generate import generate_schema, schema_id, schema_relpath
from .rejections import event_not_in_vertical, rejections_from_errors

__all__ = [
    "load_schema",
    "make_validator",
    "schema_rejections",
    "schema_paths",
    "iter_schemas",
    "generate_schema",
    "schema_id",
]


def _resource(vertical: str, event: str) -> Traversable:
    return resources.files(__package__).joinpath(*schema_relpath(vertical, event).split("/"))


def _check_names(vertical: str, event: str) -> None:
    catalog = load_catalog()
    if vertical not in catalog.verticals:
        near = nearest_names(vertical, catalog.verticals)
        raise UnknownNameError(f"unknown vertical {vertical!r}" + (f"; did you mean {' or '.join(near)}?" if near else ""))
    events = catalog.verticals[vertical].events
    if event not in events:
        near = nearest_names(event, events)
        hint = f"; did you mean {' or '.join(near)}?" if near else f" (it has {', '.join(events)})"
        raise UnknownNameError(f"vertical {vertical!r} has no event {event!r}{hint}")


@cache
def _schema(vertical: str, event: str) -> dict[str, Any]:
    _check_names(vertical, event)
    schema: dict[str, Any] = json.loads(_resource(vertical, event).read_text(encoding="utf-8"))
    return schema


def load_schema(vertical: str, event: str) -> dict[str, Any]:
    """The bundled schema of ``event`` for ``vertical`` (a fresh copy; the file is read once)."""
    return copy.deepcopy(_schema(vertical, event))


@cache
def make_validator(vertical: str, event: str) -> Draft202012Validator:
    """A ``jsonschema`` validator for ``event`` in ``vertical`` (built once per process)."""
    return Draft202012Validator(_schema(vertical, event))


def schema_rejections(vertical: str, event_dict: Any, *, rule: str = "", source: str = "") -> list[Rejection]:
    """Everything wrong with one event object (as Optimove receives it), most relevant first; [] if valid.

    An event the vertical has no schema for gives one rejection with code ``event_not_in_vertical``.
    An unknown ``vertical`` is the caller's mistake and raises :class:`UnknownNameError`.
    """
    catalog = load_catalog()
    vert = catalog.vertical(vertical)
    if not isinstance(event_dict, dict):
        return [rejection("schema", reason=f"the event must be a JSON object, not {type(event_dict).__name__}", rule=rule, field="$", value=event_dict, source=source)]
    name = event_dict.get("event")
    if not isinstance(name, str) or name not in vert.events:
        return [event_not_in_vertical(name, vertical, catalog, rule=rule, source=source)]
    errors = make_validator(vertical, name).iter_errors(event_dict)
    return rejections_from_errors(errors, catalog, name, rule=rule, source=source)


def schema_paths() -> list[tuple[str, str, Traversable]]:
    """``(vertical, event, file)`` for every bundled schema, in catalog order."""
    catalog = load_catalog()
    return [(v.name, event, _resource(v.name, event)) for v in catalog.verticals.values() for event in v.events]


def iter_schemas() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(vertical, event, schema)`` for every bundled schema, in catalog order."""
    for vertical, event, _ in schema_paths():
        yield vertical, event, load_schema(vertical, event)
