"""The tail of a rule, once every field is mapped: currency, enrichers, guards, validation, the event.

One definition, public so both engine paths call it: the interpreter (:mod:`.mapper`) for every
rule, and a generated runner (:mod:`.fast`) for a rule with enrichers (which change the event, so
the tail must run as written here). Also the rejections any path gives for a rule that raised
(:func:`rule_failed`) or an expression that raised outside a field (:func:`expression_rejection`).
tests/engine/test_guards.py and tests/engine/test_fast_path_differential.py prove the outcomes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jmespath.exceptions import JMESPathError

from ..expressions import error_message
from ..extensions import GuardContext
from ..mapping.model import Expr
from ..outcomes import Filtered, OotbEvent, RecordResult, Rejection
from ..rejection_codes import rejection
from .coerce import CoercionError, make_coercer
from .compiled import CompiledBespoke, CompiledRule
from .timestamps import format_envelope
from .trace import Trace

if TYPE_CHECKING:
    from .mapper import Mapper

__all__ = ["apply_updates", "expression_rejection", "finish_rule", "rule_failed", "with_source"]


def finish_rule(mapper: Mapper, crule: CompiledRule, data: Any, payload: Any, result: RecordResult, source: str, now: datetime,
                trace: Trace | None, customer: str, event_time: datetime, context: dict, version: Any = None) -> None:
    """Currency, enrichers, guards, validation and the event, for a rule whose fields all mapped."""
    rule, event = crule.rule, crule.event
    rejections: list[Rejection] = []
    ootb = OotbEvent(mapper.mapping.tenant, event.key, customer, format_envelope(event_time), context, rule.name)
    currency = None
    if crule.currency is not None:
        try:
            currency = crule.currency(data)
        except JMESPathError as exc:
            result.rejections.append(expression_rejection(rule.name, event.key, "currency", rule.currency, exc, source))
            return
    if crule.enrichers or crule.guards:
        ctx = GuardContext(mapper.mapping, rule, mapper.catalog, now, event_time, currency, payload)
        for name, enrich in crule.enrichers:
            try:
                updates = enrich(ootb, ctx)
            except Exception as exc:  # a plugin's bug must not stop the stream: reject, say who
                result.rejections.append(rejection("enricher_failed", name=name, error_type=type(exc).__name__, error=exc, rule=rule.name,
                                                   event=event.key, source=source))
                return
            if updates:
                updated = apply_updates(mapper, ootb, crule, updates, result, source)
                if updated is None:
                    return
                ootb = updated
            if trace is not None:
                trace.step(rule.name, f"enricher {name}", updates)
        filtered = False
        for i, guard in enumerate(crule.guards):
            gname = crule.guard_names[i] if i < len(crule.guard_names) else getattr(guard, "__name__", str(guard))
            try:
                outcomes = list(guard(ootb, ctx) or ())
            except Exception as exc:
                outcomes = [rejection("guard_failed", name=gname, error_type=type(exc).__name__, error=exc, rule=rule.name, event=event.key)]
            for item in outcomes:
                if isinstance(item, Filtered):
                    filtered = True
                    result.filtered.append(item)
                else:
                    rejections.append(item if item.source else with_source(item, source))
            if trace is not None:
                trace.step(rule.name, f"guard {gname}", [o.to_dict() for o in outcomes] or "passed")
        if filtered:  # a pre-go-live event is never sent, so its other problems do not matter
            return
        if rejections:
            result.rejections.extend(rejections)
            return

    as_dict = ootb.to_dict()
    problems = mapper.validator.check(event.key, as_dict, rule=rule.name, source=source)
    if problems:
        result.rejections.extend(problems)
        return
    pk = tuple(as_dict["context"].get(k) if k not in ("customer", "timestamp") else as_dict[k] for k in event.primary_key)
    result.events.append(OotbEvent(ootb.tenant, ootb.event, ootb.customer, ootb.timestamp, ootb.context, rule.name, pk, version))


def apply_updates(mapper: Mapper, ootb: OotbEvent, crule: CompiledRule, updates: dict, result: RecordResult, source: str) -> OotbEvent | None:
    """Coerce what an enricher set to the catalog types, like mapped values; None after a rejection."""
    context = dict(ootb.context)
    for key, value in updates.items():
        param = crule.event.params.get(key)
        if param is None:
            result.rejections.append(rejection("enricher_unknown_param", name=key, rule=crule.rule.name, event=crule.event.key,
                                               field=f"$.context.{key}", value=value, source=source))
            return None
        if value is None:
            context[key] = None
            continue
        try:
            context[key] = make_coercer(param, tz=mapper.mapping.source_timezone, dst=mapper.mapping.dst)(value)
        except CoercionError as exc:
            result.rejections.append(rejection("coerce_failed", name=f"{key} (set by an enricher)", reason=exc, rule=crule.rule.name,
                                               event=crule.event.key, field=f"$.context.{key}", value=value, source=source))
            return None
    return OotbEvent(ootb.tenant, ootb.event, ootb.customer, ootb.timestamp, context, ootb.rule)


def rule_failed(crule: CompiledRule | CompiledBespoke | None, exc: Exception, source: str) -> Rejection:
    """A rule raised something that is not a mapping outcome (a function's TypeError, a plugin's
    bug): the record is rejected, naming the rule and the exception, and the stream goes on,
    in ``map``, ``explain`` and ``run`` alike."""
    name = crule.rule.name if crule is not None else "?"
    event = getattr(crule, "event", None)
    return rejection("rule_failed", name=name, error_type=type(exc).__name__, error=exc, rule=name, event=event.key if event is not None else "", source=source)


def expression_rejection(rule: str, event: str, label: str, expr: Expr | None, exc: Exception, source: str) -> Rejection:
    """An expression outside a field (``when``, ``currency``) raised."""
    return rejection("expression_error", label=label, reason=error_message(exc), rule=rule, event=event, field=label,
                     expression=expr.source if expr else "", source=source)


def with_source(item: Rejection, source: str) -> Rejection:
    """``item`` naming the record it came from (a guard need not know it)."""
    return replace(item, source=source)
