"""Ready-made properties of a compiled mapping, each one line in a user's test.

Every ``check_*`` takes the mapper and a payload (a plain JSON value, or a
:class:`~.strategies.GeneratedPayload` from the strategies), maps it with a fixed clock, and
raises :class:`PropertyFailure` (an ``AssertionError``) naming the property, the rule, the field,
the payload and what differed. Inside a Hypothesis test the payload is also ``note()``-d, so the
shrunk example is printed. :func:`check_all` runs every property on one mapping of the payload.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..engine.cases import DEFAULT_CASE_NOW, actual_of
from ..engine.fields import truthy
from ..engine.mapper import Mapper
from ..engine.timestamps import parse_timestamp
from ..engine.trace import Trace
from ..outcomes import BespokeRow, Filtered, OotbEvent, RecordResult, Rejection
from ..schemas import schema_rejections
from .shapes import FieldReads, RuleShape, mapping_shapes, rule_names
from .strategies import Defect, GeneratedPayload

__all__ = [
    "PropertyFailure",
    "PROPERTIES",
    "check_never_raises",
    "check_events_valid",
    "check_timestamps_utc",
    "check_zone_declared",
    "check_pk_present",
    "check_deterministic",
    "check_accounted",
    "check_rejections_named",
    "check_rejections_explained",
    "check_all",
]

ENVELOPE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6} UTC")
CONTEXT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_SHOWN_PAYLOAD = 4000  # characters of a payload kept in a failure message


@dataclass(eq=False)
class PropertyFailure(AssertionError):
    """A property did not hold for one payload: which, where, on what, and what differed."""

    prop: str
    message: str
    payload: Any = None
    rule: str = ""
    field: str = ""
    diff: str = ""
    defects: tuple[Defect, ...] = ()
    from_schema: bool = False  # the payload was drawn valid against the client's source schema

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        """The failure as readable text: property, rule, field, payload, what differed."""
        where = " ".join(p for p in (f"rule {self.rule!r}" if self.rule else "", f"field {self.field}" if self.field else "") if p)
        lines = [f"property {self.prop!r} failed" + (f" ({where})" if where else "") + f": {self.message}"]
        lines.append("payload: " + _payload_text(self.payload))
        if self.defects:
            lines.append("broken on purpose in this payload: " + ", ".join(map(str, self.defects)))
        elif self.from_schema:
            lines.append("broken on purpose in this payload: nothing (valid against the source schema)")
        else:
            lines.append("broken on purpose in this payload: nothing (a valid payload)")
        if self.diff:
            lines.append(self.diff)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict[str, Any]:
        return {
            "property": self.prop,
            "message": self.message,
            "rule": self.rule,
            "field": self.field,
            "payload": self.payload,
            "diff": self.diff,
            "defects": [str(d) for d in self.defects],
            "from_schema": self.from_schema,
        }


def _payload_text(payload: Any) -> str:
    try:
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        text = repr(payload)
    return text if len(text) <= _SHOWN_PAYLOAD else text[:_SHOWN_PAYLOAD] + f"… ({len(text)} chars)"


def _note(text: str) -> None:
    """``hypothesis.note`` when inside a Hypothesis test; nothing elsewhere."""
    from hypothesis import note
    from hypothesis.errors import InvalidArgument

    try:
        note(text)
    except InvalidArgument:  # not inside a Hypothesis test
        pass


def _unwrap(payload: Any) -> tuple[Any, GeneratedPayload | None]:
    if isinstance(payload, GeneratedPayload):
        return payload.payload, payload
    return payload, None


def _rejection_diff(r: Rejection) -> str:
    return json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True, default=repr)


class _Run:
    """One payload mapped once (with a trace), shared by the checks of :func:`check_all`."""

    def __init__(self, mapper: Mapper, payload: Any, now: datetime | None) -> None:
        self.mapper = mapper
        self.payload, self.generated = _unwrap(payload)
        self.defects = self.generated.defects if self.generated else ()
        self.now = now or DEFAULT_CASE_NOW
        self.trace = Trace()
        self.before = copy.deepcopy(self.payload)
        try:
            self.result: RecordResult = mapper.map_record(self.payload, source="generated", now=self.now, trace=self.trace)
        except Exception as exc:  # the property is exactly that this never happens
            import traceback

            raise self.fail("never_raises", f"map_record raised {type(exc).__name__}: {exc}", diff="".join(traceback.format_exception(exc))) from exc

    def fail(self, prop: str, message: str, *, rule: str = "", field: str = "", diff: str = "") -> PropertyFailure:
        from_schema = bool(self.generated and self.generated.from_schema)
        return PropertyFailure(prop, message, self.payload, rule, field, diff, tuple(self.defects), from_schema)


# --- the properties --------------------------------------------------------------------------


def _never_raises(run: _Run) -> None:
    pass  # mapping already happened in _Run


def _events_valid(run: _Run) -> None:
    mapping = run.mapper.mapping
    for event in run.result.events:
        as_dict = event.to_dict()
        if event.tenant != mapping.tenant or not isinstance(event.customer, str):
            raise run.fail("events_valid", f"envelope tenant/customer wrong: {event.tenant!r}/{event.customer!r}", rule=event.rule, field="$.customer")
        problems = schema_rejections(mapping.vertical, as_dict)
        if problems:
            first = problems[0]
            raise run.fail(
                "events_valid",
                f"{event.event} does not validate against the {mapping.vertical} schema: {first.message}",
                rule=event.rule,
                field=first.field,
                diff="event: " + json.dumps(as_dict, ensure_ascii=False, sort_keys=True, default=repr),
            )


def _timestamps_utc(run: _Run) -> None:
    catalog = run.mapper.catalog
    for event in run.result.events:
        if not isinstance(event.timestamp, str) or not ENVELOPE_TIME.fullmatch(event.timestamp):
            raise run.fail("timestamps_utc", f"envelope timestamp {event.timestamp!r} is not 'YYYY-MM-DD HH:MM:SS.ffffff UTC'", rule=event.rule, field="$.timestamp")
        params = catalog.events[event.event].params
        for key, value in event.context.items():
            param = params.get(key)
            if param is not None and param.type == "timestamp" and value is not None:
                if not isinstance(value, str) or not CONTEXT_TIME.fullmatch(value):
                    raise run.fail("timestamps_utc", f"context timestamp {value!r} is not ISO 8601 UTC ending in 'Z'", rule=event.rule, field=f"$.context.{key}")
    for row in run.result.bespoke:
        if not isinstance(row.timestamp, str) or not CONTEXT_TIME.fullmatch(row.timestamp):
            raise run.fail("timestamps_utc", f"bespoke row timestamp {row.timestamp!r} is not ISO 8601 UTC ending in 'Z'", rule=row.rule, field="$.timestamp")


_FAR_EAST, _FAR_WEST = "Etc/GMT-14", "Etc/GMT+12"


def _is_naive_time(value: Any) -> bool:
    """A time text whose instant depends on the zone it is read in (no offset, no Z, not epoch)."""
    if not isinstance(value, str):
        return False
    try:
        return parse_timestamp(value, tz=_FAR_EAST) != parse_timestamp(value, tz=_FAR_WEST)
    except Exception:  # noqa: BLE001 - unreadable text is another property's business
        return False


def _zone_declared(run: _Run) -> None:
    mapping = run.mapper.mapping
    if "source_timezone" in mapping.locs:
        return
    catalog = run.mapper.catalog
    produced = {e.rule for e in run.result.events} | {b.rule for b in run.result.bespoke}
    time_fields: dict[str, set[str]] = {}
    for rule in mapping.rules:
        params = catalog.events[rule.event].params if rule.event in catalog.events else {}
        time_fields[rule.name] = {"timestamp"} | {k for k in rule.context if k in params and params[k].type == "timestamp"}
    for step in run.trace.steps:
        if step.kind != "field" or step.rule not in produced or step.state != "value":
            continue
        if step.name in time_fields.get(step.rule, {"timestamp"}) and _is_naive_time(step.value):
            label = "$.timestamp" if step.name == "timestamp" else f"$.context.{step.name}"
            raise run.fail(
                "zone_declared",
                f"{step.expression!r} gave the local time {step.value!r} with no offset, and the mapping sets no source_timezone, "
                "so it was read as UTC; declare source_timezone (even 'UTC') so a zone bug cannot pass silently",
                rule=step.rule,
                field=label,
            )


def _pk_present(run: _Run) -> None:
    catalog = run.mapper.catalog
    for event in run.result.events:
        as_dict = event.to_dict()
        values = []
        for key in catalog.events[event.event].primary_key:
            value = as_dict[key] if key in ("customer", "timestamp") else event.context.get(key)
            label = f"$.{key}" if key in ("customer", "timestamp") else f"$.context.{key}"
            if value is None or value == "":
                raise run.fail("pk_present", f"primary-key param {key} of {event.event} is {'missing' if value is None else 'empty'}", rule=event.rule, field=label)
            values.append(value)
        if tuple(values) != tuple(event.pk):
            raise run.fail("pk_present", f"event.pk {event.pk!r} differs from the event's key values {tuple(values)!r}", rule=event.rule)


def _deterministic(run: _Run) -> None:
    if run.payload != run.before:
        raise run.fail("deterministic", "map_record changed the payload it was given", diff=_payload_text(run.before))
    again = run.mapper.map_record(copy.deepcopy(run.before), source="generated", now=run.now)
    # Compared as JSON text: a NaN the payload carried into a rejection's value equals itself there.
    a = json.dumps(actual_of(run.result), indent=1, sort_keys=True, default=repr).splitlines()
    b = json.dumps(actual_of(again), indent=1, sort_keys=True, default=repr).splitlines()
    if a != b or run.result.nulls_dropped != again.nulls_dropped:
        import difflib

        raise run.fail("deterministic", "the same payload mapped twice gave different results", diff="\n".join(difflib.unified_diff(a, b, "first", "second", lineterm="")))


def _accounted(run: _Run) -> None:
    result = run.result
    names = set(rule_names(run.mapper.mapping))
    if not (result.events or result.rejections or result.filtered or result.bespoke):
        raise run.fail("accounted", "the payload produced nothing at all: no event, rejection, filter or bespoke row")
    reasons = [f.reason for f in result.filtered]
    if "no_rule" in reasons and (result.events or result.rejections or result.bespoke or len(reasons) > 1):
        raise run.fail("accounted", "the payload is filtered as 'no_rule' but also produced other outcomes")
    expected_outcome = "rejected" if result.rejections else "mapped" if (result.events or result.bespoke) else "filtered"
    if result.outcome != expected_outcome:
        raise run.fail("accounted", f"record outcome {result.outcome!r} does not match its contents ({expected_outcome!r})")
    outputs: list[OotbEvent | BespokeRow] = [*result.events, *result.bespoke]
    for unit in outputs:
        if unit.rule not in names:
            raise run.fail("accounted", f"an output names rule {unit.rule!r}, which the mapping does not have", rule=unit.rule)
    everything: list[OotbEvent | BespokeRow | Rejection | Filtered] = [*result.events, *result.rejections, *result.filtered, *result.bespoke]
    produced = {u.rule for u in everything}
    for step in run.trace.steps:
        if step.kind == "when" and truthy(step.value) and step.rule not in produced:
            raise run.fail("accounted", "the rule's `when` matched but it produced no event, rejection or filter", rule=step.rule, field="when")


def _rejections_named(run: _Run) -> None:
    names = set(rule_names(run.mapper.mapping))
    for r in run.result.rejections:
        problem = ""
        if not r.rule:
            problem = "names no rule"
        elif r.rule not in names:
            problem = f"names rule {r.rule!r}, which the mapping does not have"
        elif not r.field:
            problem = "names no field"
        elif not r.code:
            problem = "has no code"
        elif not r.message or "\n" in r.message:
            problem = "needs a one-line message"
        if problem:
            raise run.fail("rejections_named", f"a rejection {problem}", rule=r.rule, field=r.field, diff="rejection: " + _rejection_diff(r))


# Rejection fields written by guards for another field's sake: which field's reads explain them.
_GUARD_FIELDS = {"currency_mismatch": "currency", "currency_missing": "currency", "future_timestamp": "$.timestamp"}


def _related(a: tuple, b: tuple) -> bool:
    a = tuple("[]" if isinstance(s, int) else s for s in a)
    b = tuple("[]" if isinstance(s, int) else s for s in b)
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _explains(defect: Defect, reads: FieldReads | None) -> bool:
    if reads is None:
        return False
    if not any(_related(defect.path, p) for p in reads.paths):
        return False
    if defect.what == "wrong":
        return True
    # A missing or null source may reject only a field that must be there (or whose null policy
    # is 'reject'); for anything else the right answer is to leave the param out.
    return reads.required or (defect.what == "null" and reads.null_rejects)


def _field_reads(shape: RuleShape, rejection: Rejection) -> list[FieldReads]:
    found = []
    for label in (rejection.field, _GUARD_FIELDS.get(rejection.code, "")):
        if label and label in shape.fields:
            found.append(shape.fields[label])
    return found


def _rejections_explained(run: _Run) -> None:
    if run.generated is None:
        return  # a plain payload: nothing says which of its values are broken
    shapes = mapping_shapes(run.mapper.mapping)
    verdicts: list[tuple[Rejection, bool]] = []
    for r in run.result.rejections:
        shape = shapes.get(r.rule)
        if shape is None:
            continue  # _rejections_named reports it
        reads = _field_reads(shape, r)
        if not reads and r.field not in shape.fields and r.code not in ("missing_mandatory",):
            # A field the kit cannot trace (a plugin guard's own label): any defect in the rule's reads explains it.
            reads = [FieldReads(shape.all_paths, True)]
        verdicts.append((r, any(_explains(d, f) for d in run.defects for f in reads)))
    # An event rejected for an explained reason is rejected anyway: its other complaints are
    # follow-ons of the same broken input (a null array element breaks every field read from it).
    excused = {r.rule for r, explained in verdicts if explained}
    for r, explained in verdicts:
        if explained or r.rule in excused:
            continue
        why = "a payload valid against the source schema" if run.generated.from_schema else ("a valid payload" if not run.defects else "a payload whose broken parts do not explain it")
        hint = ""
        if r.code == "missing_mandatory" and not r.expression:
            hint = " (the rule does not map a required param)"
        elif r.code in ("missing_mandatory", "missing_customer", "missing_timestamp"):
            hint = " (its expression can produce nothing for valid input)"
        elif r.code == "each_not_array":
            hint = " (the array can be missing: guard the fan-out, e.g. each: \"items || `[]`\")"
        elif r.code == "coerce_failed":
            hint = " (the expression turns valid input into a value the param cannot take)"
        raise run.fail(
            "rejections_explained",
            f"{r.code}: {r.message}{hint}; rejected on {why}",
            rule=r.rule,
            field=r.field,
            diff="rejection: " + _rejection_diff(r),
        )


PROPERTIES: dict[str, Callable[[_Run], None]] = {
    "never_raises": _never_raises,
    "events_valid": _events_valid,
    "timestamps_utc": _timestamps_utc,
    "zone_declared": _zone_declared,
    "pk_present": _pk_present,
    "deterministic": _deterministic,
    "accounted": _accounted,
    "rejections_named": _rejections_named,
    "rejections_explained": _rejections_explained,
}


def _check(name: str, mapper: Mapper, payload: Any, now: datetime | None) -> RecordResult:
    run = _Run(mapper, payload, now)
    PROPERTIES[name](run)
    return run.result


def check_never_raises(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Mapping the payload returns a result instead of raising; returns that result."""
    return _check("never_raises", mapper, payload, now)


def check_events_valid(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Every event produced validates against its vertical's schema."""
    return _check("events_valid", mapper, payload, now)


def check_timestamps_utc(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Envelope times are 'YYYY-MM-DD HH:MM:SS.ffffff UTC'; context and bespoke times ISO 8601 with Z."""
    return _check("timestamps_utc", mapper, payload, now)


def check_zone_declared(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """No event time was read from a local time without offset unless the mapping declares source_timezone."""
    return _check("zone_declared", mapper, payload, now)


def check_pk_present(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Every event carries a non-empty value for each primary-key param."""
    return _check("pk_present", mapper, payload, now)


def check_deterministic(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """The same payload gives the same result, and mapping does not modify it."""
    return _check("deterministic", mapper, payload, now)


def check_accounted(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """The payload is accounted for: events, rejections, filters or bespoke rows, consistently."""
    return _check("accounted", mapper, payload, now)


def check_rejections_named(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Every rejection names a known rule, a field, a code and a one-line message."""
    return _check("rejections_named", mapper, payload, now)


def check_rejections_explained(mapper: Mapper, payload: Any, *, now: datetime | None = None) -> RecordResult:
    """Every rejection of a generated payload is explained by what was broken in it on purpose.

    Needs a :class:`~.strategies.GeneratedPayload` (a plain payload is not judged): a valid one
    must map without rejections; a missing or null source may reject only a required field.
    """
    return _check("rejections_explained", mapper, payload, now)


def check_all(mapper: Mapper, payload: Any, *, now: datetime | None = None, skip: tuple[str, ...] = ()) -> RecordResult:
    """Every property above on one mapping of the payload (``skip`` names properties to leave out)."""
    _note("payload: " + _payload_text(_unwrap(payload)[0]))
    run = _Run(mapper, payload, now)
    for name, prop in PROPERTIES.items():
        if name not in skip:
            prop(run)
    return run.result

