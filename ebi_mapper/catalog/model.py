"""Frozen data types of the OOTB event catalog.

The data itself lives in ``catalog.json`` (package data, generated from the reference by
``tools/build_catalog.py``); :func:`ebi_mapper.catalog.load_catalog` turns it into these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ParamType", "ParamClass", "Param", "EventDef", "RateClass", "Vertical", "Catalog"]

# 'string_or_number' exists because the docs type some ids as String/Number (e.g. ootb_game_code);
# 'yes_no' is a Boolean the docs show as the strings "Yes"/"No".
ParamType = Literal["string", "number", "integer", "boolean", "yes_no", "timestamp", "string_or_number"]
ParamClass = Literal["mandatory", "channel", "enrichment", "optional"]


@dataclass(frozen=True)
class Param:
    """One ``context`` parameter of an OOTB event."""

    key: str
    type: ParamType
    cls: ParamClass
    description: str = ""
    monetary: bool = False
    channels: tuple[str, ...] = ()  # for cls == "channel": the execution channels that need it
    allowed: tuple[str, ...] | None = None  # closed list of values, where the docs give one
    max_length: int = 255
    primary_key: bool = False
    confidence: str = "documented"  # documented | inferred
    note: str = ""
    example: Any = None  # the value the docs' JSON example uses, where they give one
    flag: bool = False  # a 0/1 number flag: JSON true / false become 1 / 0 (choice boolean_into_flags)

    @property
    def is_timestamp(self) -> bool:
        return self.type == "timestamp"


@dataclass(frozen=True)
class EventDef:
    """One OOTB event: its params, its primary key and its rate-limit class."""

    key: str
    display_name: str
    description: str
    params: dict[str, Param]
    primary_key: tuple[str, ...]  # envelope names ('customer', 'timestamp') or context keys
    rate_class: str

    def params_of_class(self, cls: ParamClass) -> tuple[Param, ...]:
        return tuple(p for p in self.params.values() if p.cls == cls)

    @property
    def monetary_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params.values() if p.monetary)


@dataclass(frozen=True)
class RateClass:
    """A limit Optimove applies to a group of events: ``requests`` per ``per_seconds``."""

    name: str
    requests: int
    per_seconds: float
    events: tuple[str, ...]  # empty = every event not in another class
    max_events_per_request: int = 10


@dataclass(frozen=True)
class Vertical:
    name: str
    display_name: str
    events: tuple[str, ...]  # events a mapping for this vertical is expected to produce


@dataclass(frozen=True)
class Catalog:
    """The bundled facts: events, verticals, envelope, limits, and the choices made where open."""

    version: str
    events: dict[str, EventDef]
    verticals: dict[str, Vertical]
    rate_classes: dict[str, RateClass]
    envelope: dict[str, dict[str, Any]]
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {value, reason}

    def event(self, key: str) -> EventDef:
        from ..errors import UnknownNameError

        try:
            return self.events[key]
        except KeyError:
            raise UnknownNameError(f"unknown OOTB event {key!r}") from None

    def vertical(self, name: str) -> Vertical:
        from ..errors import UnknownNameError

        try:
            return self.verticals[name]
        except KeyError:
            raise UnknownNameError(f"unknown vertical {name!r}") from None

    def rate_class_of(self, event: str) -> RateClass:
        return self.rate_classes[self.events[event].rate_class]
