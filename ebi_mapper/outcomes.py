"""What mapping one input record produces: events, rejections, filters, bespoke rows.

These frozen types are the contract between the engine, the delivery pipeline, the reporters
and the testing kit. Rejections and filters are data, never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OotbEvent",
    "Rejection",
    "Filtered",
    "BespokeRow",
    "RecordResult",
    "truncate_value",
]

_MAX_SHOWN = 200  # characters of an offending value kept in a rejection


def truncate_value(value: Any, limit: int = _MAX_SHOWN) -> Any:
    """Keep small values as they are; render big ones as a truncated repr so reports stay readable."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"… ({len(value)} chars)"
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


_set = object.__setattr__


@dataclass(frozen=True, init=False)
class OotbEvent:
    """One OOTB event ready to send: the envelope plus its ``context``.

    Frozen, with a hand-written ``__init__`` that stores the eight fields in one assignment: the
    engine makes one per event and the generated one's eight ``object.__setattr__`` calls cost
    twice as much. The engine only ever calls this constructor (no ``object.__new__`` shortcut),
    so a change here (``slots=True``, a field) is a change everywhere;
    tests/test_outcomes.py::test_ootb_event_constructor_sets_every_field fails if ``__init__``
    and the fields part.
    """

    tenant: int
    event: str
    customer: str
    timestamp: str  # Optimove's envelope form: 'YYYY-MM-DD HH:MM:SS.ffffff UTC'
    context: dict[str, Any]
    rule: str = ""
    pk: tuple[Any, ...] = ()  # the values of the event's primary key, in catalog order
    version: Any = None  # the rule's `version:` as an order key (engine/versioning.py); never sent

    def __init__(self, tenant: int, event: str, customer: str, timestamp: str, context: dict[str, Any], rule: str = "",
                 pk: tuple[Any, ...] = (), version: Any = None) -> None:
        _set(self, "__dict__", {"tenant": tenant, "event": event, "customer": customer, "timestamp": timestamp, "context": context,
                                "rule": rule, "pk": pk, "version": version})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object Optimove receives."""
        return {
            "tenant": self.tenant,
            "event": self.event,
            "customer": self.customer,
            "timestamp": self.timestamp,
            "context": self.context,
        }


@dataclass(frozen=True)
class Rejection:
    """Why (part of) a record could not become a correct event."""

    code: str  # short machine code, e.g. 'missing_mandatory', 'coerce_failed', 'schema'
    message: str  # one line for a human
    rule: str = ""
    event: str = ""
    field: str = ""  # JSON path into the event, e.g. '$.context.ootb_deposit_amount'
    expression: str = ""  # the JMESPath expression that produced the field
    value: Any = None  # the offending value (truncated)
    source: str = ""  # where the record came from, e.g. 'input.jsonl:17'
    item: int | None = None  # with `each`: the index of the element this is about
    item_key: str = ""  # ... and its primary-key values as mapped ('ootb_order_id=1001, ...'), where known

    def to_dict(self) -> dict[str, Any]:
        out = {
            "code": self.code,
            "message": self.message,
            "rule": self.rule,
            "event": self.event,
            "field": self.field,
            "expression": self.expression,
            "value": truncate_value(self.value),
            "source": self.source,
        }
        if self.item is not None:  # only fan-out rejections carry it: other output is unchanged
            out["item"] = self.item
            out["item_key"] = self.item_key
        return out


@dataclass(frozen=True)
class Filtered:
    """A record or event deliberately not sent: ``no_rule`` or ``pre_go_live``."""

    reason: str
    rule: str = ""
    event: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "rule": self.rule, "event": self.event, "detail": self.detail}


@dataclass(frozen=True)
class BespokeRow:
    """Custom (non-OOTB) attributes of one customer, routed to a self-serve tool, never to EBI."""

    customer: str
    timestamp: str  # ISO 8601 UTC with Z
    attributes: dict[str, Any]
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"customer": self.customer, "timestamp": self.timestamp, "attributes": self.attributes, "rule": self.rule}


@dataclass
class RecordResult:
    """Everything one input record produced.

    A record with several rules or an ``each`` fan-out can yield several units; every unit
    (event, rejection, filter) is counted, and the record's own outcome is the worst of them.
    """

    events: list[OotbEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    filtered: list[Filtered] = field(default_factory=list)
    bespoke: list[BespokeRow] = field(default_factory=list)
    nulls_dropped: int = 0

    @property
    def outcome(self) -> str:
        """'rejected' if anything was rejected, else 'mapped' if an event or bespoke row came out, else 'filtered'."""
        if self.rejections:
            return "rejected"
        if self.events or self.bespoke:
            return "mapped"
        return "filtered"
