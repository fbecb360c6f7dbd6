"""The interpreter: one payload in, events / rejections / filters / bespoke rows out.

A :class:`Mapper` is built once per mapping by :func:`~ebi_mapper.engine.build.compile_mapping`
(expressions, coercers, guards, validators compiled there); :meth:`Mapper.map_record` only
evaluates. It never raises on any JSON input: every failure becomes a
:class:`~ebi_mapper.outcomes.Rejection`, an unexpected exception in a rule too (``rule_failed``,
naming the rule; tests/engine/test_rule_exceptions.py).

The code here defines the engine's behaviour: ``compile_mapping(..., fast=False)`` and any
``trace=`` use it. The fast path (:mod:`.fast`, one generated function per rule) gives equal
results, proven by tests/engine/test_fast_path_differential.py, and calls back only into the
public parts of the semantics (:meth:`Mapper.map_bespoke`, :mod:`.finish`, :mod:`.scopes`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jmespath.exceptions import JMESPathError

from ..catalog.model import Catalog
from ..expressions import error_message
from ..mapping.model import Expr, Mapping
from ..outcomes import BespokeRow, Filtered, RecordResult, Rejection
from ..plugins import Registry
from ..rejection_codes import filtered, rejection
from .coerce import CoercionError, coerce_customer
from .compiled import CompiledBespoke, CompiledRule
from .dispatch import Dispatcher
from .fields import MISSING, NULL, CompiledField, truthy
from .finish import expression_rejection, finish_rule, rule_failed
from .items import item_key, tag_item
from .scopes import LetError, each_error, each_problem, item_scope, let_rejection, nested_scope, with_values
from .timestamps import format_context, format_envelope, parse_timestamp
from .trace import Trace
from .validate import EventValidator

if TYPE_CHECKING:
    from .fast import FastPath

__all__ = ["Mapper"]


@dataclass
class Mapper:
    """A mapping compiled for evaluation. Build it with :func:`~ebi_mapper.engine.compile_mapping`."""

    mapping: Mapping
    catalog: Catalog
    registry: Registry
    rules: list[CompiledRule]
    bespoke: list[CompiledBespoke]
    validator: EventValidator
    clock: Callable[[], datetime]
    tz: ZoneInfo
    dispatch: Dispatcher | None = None  # engine/dispatch.py: the rules a payload may match
    fast: bool = False  # generated runners (engine/fast/) are used when no trace is asked for
    fast_path: FastPath | None = None

    @property
    def _dispatch(self) -> Dispatcher | None:
        """The dispatcher under its former name (tests swap it to check both paths follow)."""
        return self.dispatch

    @_dispatch.setter
    def _dispatch(self, value: Dispatcher | None) -> None:
        self.dispatch = value

    # -- public -----------------------------------------------------------------------------
    def map_record(self, payload: Any, *, source: str = "", now: datetime | None = None, trace: Trace | None = None) -> RecordResult:
        """Map one decoded payload. Never raises for any JSON value."""
        if self.fast and trace is None and self.fast_path is not None:
            return self.fast_path.map(payload, source, now or self.clock())
        return self._map_reference(payload, source, now or self.clock(), trace)

    def map_many(self, payloads: Iterable[Any], *, now: datetime | None = None, sources: Iterable[str] | None = None) -> list[RecordResult]:
        """Map a batch of payloads with one clock reading (``sources`` names each, for rejections).

        The cyclic garbage collector is paused for the batch (and restored after, whatever its
        state was): a batch allocates thousands of small objects and no reference cycles, which
        reference counting frees on its own, while the collector would rescan the growing list
        of results every few hundred allocations (about a fifth of the time, measured).
        """
        now = now or self.clock()
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            if not self.fast or self.fast_path is None:
                if sources is None:
                    return [self._map_reference(p, "", now, None) for p in payloads]
                return [self._map_reference(p, s, now, None) for p, s in zip(payloads, sources, strict=True)]
            run = self.fast_path.map
            if sources is None:
                return [run(p, "", now) for p in payloads]
            return [run(p, s, now) for p, s in zip(payloads, sources, strict=True)]
        finally:
            if paused:
                gc.enable()

    # -- reference path ---------------------------------------------------------------------
    def _map_reference(self, payload: Any, source: str, now: datetime, trace: Trace | None) -> RecordResult:
        """The interpreter that defines the engine's behaviour (also the path ``explain`` traces)."""
        result = RecordResult()
        matched = False
        rules = self.dispatch(payload) if self.dispatch is not None else self.rules
        for crule in rules:
            try:
                if crule.when is not None:
                    ok = crule.when(payload)
                    if trace is not None:
                        trace.when(crule.rule.name, crule.rule.when.source if crule.rule.when is not None else "", ok)
                    if not truthy(ok):
                        continue
            except JMESPathError as exc:
                result.rejections.append(expression_rejection(crule.rule.name, crule.event.key, "when", crule.rule.when, exc, source))
                matched = True
                continue
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(rule_failed(crule, exc, source))
                matched = True
                continue
            matched = True
            try:
                self._run_rule(crule, payload, result, source, now, trace)
            except Exception as exc:  # noqa: BLE001
                result.rejections.append(rule_failed(crule, exc, source))
        if self.map_bespoke(payload, result, source, trace):
            matched = True
        if not matched:
            result.filtered.append(filtered("no_rule"))
        return result

    def map_bespoke(self, payload: Any, result: RecordResult, source: str, trace: Trace | None = None) -> bool:
        """Run every bespoke rule whose `when` holds into ``result``; True if any matched (or failed to evaluate).

        Both paths call it: bespoke rules have no generated form.
        """
        matched = False
        for cb in self.bespoke:
            try:
                if cb.when is not None and not truthy(cb.when(payload)):
                    continue
            except JMESPathError as exc:
                result.rejections.append(expression_rejection(cb.rule.name, "", "when", cb.rule.when, exc, source))
                matched = True
                continue
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(rule_failed(cb, exc, source))
                matched = True
                continue
            matched = True
            try:
                self._run_bespoke(cb, payload, result, source, trace)
            except Exception as exc:  # noqa: BLE001
                result.rejections.append(rule_failed(cb, exc, source))
        return matched

    # -- rules ------------------------------------------------------------------------------
    def _scopes(self, each: Callable[[Any], Any] | None, expr: Expr | None, payload: Any, rule_name: str, event: str, result: RecordResult, source: str,
                inner: Callable[[Any], Any] | None = None, inner_expr: Expr | None = None) -> Iterator[Any]:
        """The data each field is evaluated against: the payload, or one scope per `each` item (per inner item for two levels)."""
        if each is None or expr is None:  # `each` and its expression come together
            yield payload
            return
        items = self._each_items(each, expr, payload, rule_name, event, result, source, None)
        for i, item in enumerate(items):
            if inner is None or inner_expr is None:
                yield item_scope(item, payload, i)
                continue
            for j, element in enumerate(self._each_items(inner, inner_expr, item_scope(item, payload, i), rule_name, event, result, source, i)):
                yield nested_scope(element, item, j, i, payload)

    @staticmethod
    def _each_items(each: Callable[[Any], Any], expr: Expr, data: Any, rule_name: str, event: str, result: RecordResult, source: str, outer_index: int | None) -> list[Any]:
        """The array `each` yields, or [] after recording why there is nothing to fan out."""
        try:
            items: list[Any] = each(data)  # checked to be a list by each_problem below
        except JMESPathError as exc:
            result.rejections.append(each_error(exc, expr.source, rule_name, event, source, outer_index))
            return []
        problem = each_problem(items, expr.source, rule_name, event, source, outer_index)
        if problem is not None:
            if isinstance(problem, Filtered):
                result.filtered.append(problem)
            else:
                result.rejections.append(problem)
            return []
        return items

    def _run_rule(self, crule: CompiledRule, payload: Any, result: RecordResult, source: str, now: datetime, trace: Trace | None) -> None:
        rule = crule.rule
        fanned = crule.each is not None
        for scope in self._scopes(crule.each, rule.each, payload, rule.name, crule.event.key, result, source, crule.each_inner, rule.each_inner):
            start = len(result.rejections)
            if fanned and trace is not None:
                trace.item(rule.name, scope["index"], item_key(crule, scope))
            if crule.lets:
                try:
                    scope = with_values(scope, crule.lets, fresh=fanned)
                except LetError as exc:
                    result.rejections.append(let_rejection(exc, rule.name, crule.event.key, source))
                    if fanned:
                        tag_item(result.rejections, start, crule, scope)
                    continue
                if trace is not None:
                    values = scope["vars"]
                    for f in crule.lets:
                        state = MISSING if f.name not in values else NULL if values[f.name] is None else "value"
                        trace.field(rule.name, f"let.{f.name}", f.expr.source, state, values.get(f.name))
            self._produce(crule, scope, payload, result, source, now, trace)
            if fanned:
                tag_item(result.rejections, start, crule, scope)

    def _produce(self, crule: CompiledRule, data: Any, payload: Any, result: RecordResult, source: str, now: datetime, trace: Trace | None) -> None:
        rule, event = crule.rule, crule.event
        rejections: list[Rejection] = []

        def reject(code: str, path: str, expr: Expr | None, value: Any, variant: str = "", **params: Any) -> None:
            rejections.append(rejection(code, variant, rule=rule.name, event=event.key, field=path, expression=expr.source if expr else "",
                                        value=value, source=source, **params))

        # Envelope: customer and event time.
        customer = self._customer(crule.customer, data, reject, trace, rule.name)
        event_time = self._event_time(crule.timestamp, data, reject, trace, rule.name)
        version = crule.version(data, rejections, source, trace) if crule.version is not None else None

        context: dict[str, Any] = {}
        for cf in crule.context:
            f = cf.field
            try:
                state, value = f.evaluate(data)
            except JMESPathError as exc:
                reject("expression_error", f"$.context.{f.name}", f.expr, _offending(exc), label=f.name, reason=error_message(exc))
                continue
            if trace is not None:
                trace.field(rule.name, f.name, f.expr.source, state, value)
            if state == MISSING:
                if cf.required and not cf.completable:
                    reject("missing_mandatory", f"$.context.{f.name}", f.expr, None, name=f.name)
                continue
            if state == NULL:
                if cf.required:
                    reject("null_mandatory", f"$.context.{f.name}", f.expr, None, name=f.name)
                elif cf.nulls == "keep":
                    context[f.name] = None
                elif cf.nulls == "reject":
                    reject("null_value", f"$.context.{f.name}", f.expr, None, name=f.name)
                else:
                    result.nulls_dropped += 1
                continue
            try:
                coerced = cf.coerce(value)
            except CoercionError as exc:
                reject("coerce_failed", f"$.context.{f.name}", f.expr, value, name=f.name, reason=error_message(exc))
                continue
            if trace is not None:
                trace.coerced(rule.name, f.name, coerced)
            context[f.name] = coerced
        for param in crule.unmapped_required:
            reject("missing_mandatory", f"$.context.{param.key}", None, None, "unmapped", name=param.key)

        if rejections or customer is None or event_time is None:
            result.rejections.extend(rejections)
            return
        finish_rule(self, crule, data, payload, result, source, now, trace, customer, event_time, context, version)

    def _customer(self, f: CompiledField, data: Any, reject: Callable[..., None], trace: Trace | None, rule: str) -> str | None:
        try:
            state, value = f.evaluate(data)
        except JMESPathError as exc:
            reject("expression_error", "$.customer", f.expr, _offending(exc), label="customer", reason=error_message(exc))
            return None
        if trace is not None:
            trace.field(rule, "customer", f.expr.source, state, value)
        if state != "value":
            reject("missing_customer", "$.customer", f.expr, None, what="null" if state == NULL else "nothing")
            return None
        try:
            return coerce_customer(value)
        except CoercionError as exc:
            reject("coerce_failed", "$.customer", f.expr, value, name="customer", reason=exc)
            return None

    def _event_time(self, f: CompiledField, data: Any, reject: Callable[..., None], trace: Trace | None, rule: str) -> datetime | None:
        try:
            state, value = f.evaluate(data)
        except JMESPathError as exc:
            reject("expression_error", "$.timestamp", f.expr, _offending(exc), label="timestamp", reason=error_message(exc))
            return None
        if trace is not None:
            trace.field(rule, "timestamp", f.expr.source, state, value)
        if state != "value":
            reject("missing_timestamp", "$.timestamp", f.expr, None, what="null" if state == NULL else "nothing")
            return None
        try:
            when = parse_timestamp(value, tz=self.tz, dst=self.mapping.dst)
        except CoercionError as exc:
            reject("bad_timestamp", "$.timestamp", f.expr, value, reason=exc)
            return None
        if trace is not None:
            trace.coerced(rule, "timestamp", format_envelope(when))
        return when

    # -- bespoke ----------------------------------------------------------------------------
    def _run_bespoke(self, cb: CompiledBespoke, payload: Any, result: RecordResult, source: str, trace: Trace | None) -> None:
        for data in self._scopes(cb.each, cb.rule.each, payload, cb.rule.name, "", result, source, cb.each_inner, cb.rule.each_inner):
            rejections: list[Rejection] = []

            def reject(code: str, path: str, expr: Expr | None, value: Any, variant: str = "", _r: list[Rejection] = rejections, **params: Any) -> None:
                _r.append(rejection(code, variant, rule=cb.rule.name, field=path, expression=expr.source if expr else "", value=value, source=source, **params))

            customer = self._customer(cb.customer, data, reject, trace, cb.rule.name)
            when = self._event_time(cb.timestamp, data, reject, trace, cb.rule.name)
            attributes: dict[str, Any] = {}
            for name, f in cb.attributes:
                try:
                    state, value = f.evaluate(data)
                except JMESPathError as exc:
                    reject("expression_error", f"$.attributes.{name}", f.expr, _offending(exc), label=name, reason=error_message(exc))
                    continue
                if state == MISSING:
                    continue
                if state == NULL and (f.nulls or self.mapping.nulls) != "keep":
                    result.nulls_dropped += 1
                    continue
                if isinstance(value, (dict, list)):
                    reject("coerce_failed", f"$.attributes.{name}", f.expr, value, name=name, reason=f"bespoke attributes are scalars, got a {type(value).__name__}")
                    continue
                attributes[name] = value
            if rejections or customer is None or when is None:
                result.rejections.extend(rejections)
                continue
            if self.mapping.go_live is not None and when < self.mapping.go_live:
                result.filtered.append(filtered("pre_go_live", "bespoke", timestamp=format_context(when), rule=cb.rule.name))
                continue
            if attributes:
                result.bespoke.append(BespokeRow(customer, format_context(when), attributes, cb.rule.name))

def _offending(exc: Exception) -> Any:
    """The value an added function could not use (FunctionValueError.value), for the rejection."""
    return getattr(exc, "value", None)
