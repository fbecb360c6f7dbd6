"""The compiled mapping: one payload in, events / rejections / filters / bespoke rows out.

Everything that can be done once is done in :func:`compile_mapping` (expressions, coercers,
guards, validators); :meth:`Mapper.map_record` only evaluates. It never raises on any JSON
input: every failure becomes a :class:`~ebi_mapper.outcomes.Rejection`, an unexpected exception
in a rule too (``rule_failed``, naming the rule).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from jmespath.exceptions import JMESPathError

from ..catalog import load_catalog
from ..catalog.model import Catalog, EventDef, Param
from ..expressions import compile_expression, error_message
from ..extensions import GuardContext
from ..mapping.model import BespokeRule, Expr, FieldSpec, Mapping, Rule
from ..outcomes import BespokeRow, Filtered, OotbEvent, RecordResult, Rejection
from ..plugins import Registry, make_registry
from ..rejection_codes import filtered, rejection
from .codegen_parts import truthy
from .coerce import CoercionError, coerce_customer, make_coercer
from .codegen import make_rule_runner
from .codegen_parts import plain_dataclass
from .dispatch import decides_when, make_dispatcher
from .fields import MISSING, NULL, CompiledField, compile_field
from .items import item_key, tag_item
from .scopes import LetError, each_error, each_problem, item_scope, let_rejection, nested_scope, with_values
from .timestamps import format_context, format_envelope, parse_timestamp
from .profiles import delta_settings
from .trace import Trace
from .versioning import make_version_reader
from .validate import EventValidator

__all__ = ["Mapper", "compile_mapping"]

_UTC = timezone.utc


def _context_path(key: str) -> str:
    return f"$.context.{key}"


@dataclass
class _ContextField:
    field: CompiledField
    param: Param | None
    coerce: Callable[[Any], Any]
    required: bool  # mandatory, primary key, or a declared channel's param
    nulls: str
    completable: bool = False  # required, but when missing completed from the known profile (profiles.py)


@dataclass
class _CompiledRule:
    rule: Rule
    event: EventDef
    when: Callable[[Any], Any] | None
    each: Callable[[Any], Any] | None
    customer: CompiledField
    timestamp: CompiledField
    currency: Callable[[Any], Any] | None
    context: list[_ContextField]
    unmapped_required: list[Param]
    guards: list[Callable]
    enrichers: list[tuple[str, Callable]]
    monetary_keys: frozenset[str]
    guard_names: tuple[str, ...] = ()  # each guard's registered name (go_live, currency, ...), as the docs say
    run: Callable[[Any, RecordResult, str, datetime], bool] | None = None  # generated runner
    run_dispatched: Callable[[Any, RecordResult, str, datetime], bool] | None = None  # `when` proven
    python_source: str = ""  # the runner's generated code, for debugging
    version: Callable[..., Any] | None = None  # versioning.make_version_reader, if the rule has `version:`
    lets: list[CompiledField] = field(default_factory=list)  # `let:` values, in order (scopes.with_values)
    each_inner: Callable[[Any], Any] | None = None  # a two-level `each`: the inner array


@dataclass
class _CompiledBespoke:
    rule: BespokeRule
    when: Callable[[Any], Any] | None
    each: Callable[[Any], Any] | None
    customer: CompiledField
    timestamp: CompiledField
    attributes: list[tuple[str, CompiledField]]
    each_inner: Callable[[Any], Any] | None = None


@dataclass
class Mapper:
    """A mapping compiled for evaluation. Build it with :func:`compile_mapping`."""

    mapping: Mapping
    catalog: Catalog
    registry: Registry
    rules: list[_CompiledRule]
    bespoke: list[_CompiledBespoke]
    validator: EventValidator
    clock: Callable[[], datetime]
    _tz: ZoneInfo = field(default=None)  # type: ignore[assignment]
    _dispatch: Callable[[Any], Iterable[_CompiledRule]] | None = None
    fast: bool = False  # generated runners (codegen.py) are used when no trace is asked for
    _fast_dispatch: Any = None  # the dispatcher the fast tables below were built from
    _fast_table: dict = field(default_factory=dict)  # discriminator value -> runners
    _fast_default: tuple = ()  # runners for payloads whose discriminator is in no table
    _fast_all: tuple = ()  # every rule's runner, in file order (no dispatcher)
    _fast_key: str | None = None  # the discriminator's key when its path is one key long

    # -- public -----------------------------------------------------------------------------
    def map_record(self, payload: Any, *, source: str = "", now: datetime | None = None, trace: Trace | None = None) -> RecordResult:
        """Map one decoded payload. Never raises for any JSON value."""
        if self.fast and trace is None:
            return self._map_fast(payload, source, now or self.clock())
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
            if not self.fast:
                if sources is None:
                    return [self._map_reference(p, "", now, None) for p in payloads]
                return [self._map_reference(p, s, now, None) for p, s in zip(payloads, sources)]
            run = self._map_fast
            if sources is None:
                return [run(p, "", now) for p in payloads]
            return [run(p, s, now) for p, s in zip(payloads, sources)]
        finally:
            if paused:
                gc.enable()

    # -- fast path --------------------------------------------------------------------------
    def _map_fast(self, payload: Any, source: str, now: datetime) -> RecordResult:
        """:meth:`_map_reference` with each rule's generated runner; equal results, proven by test."""
        result = _new_result()
        matched = False
        dispatch = self._dispatch
        if dispatch is None:
            runners = self._fast_all
        elif dispatch is self._fast_dispatch:
            key = self._fast_key
            if key is not None:  # one-step discriminator (`type`): the dispatcher's get, inline
                value = payload.get(key) if type(payload) is dict else None
            else:
                value = dispatch.get(payload)
            runners = self._fast_table.get(value, self._fast_default) if type(value) is str else self._fast_default
        else:  # someone swapped the dispatcher: follow it
            runners = [crule.run for crule in dispatch(payload)]
        for run in runners:
            try:  # free in 3.11 when nothing is raised
                if run(payload, result, source, now):
                    matched = True
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(self._rule_failed(self._rule_of_runner(run), exc, source))
                matched = True
        if self.bespoke:
            matched = self._bespoke_all(payload, result, source, None) or matched
        if not matched:
            result.filtered.append(filtered("no_rule"))
        return result

    # -- reference path ---------------------------------------------------------------------
    def _map_reference(self, payload: Any, source: str, now: datetime, trace: Trace | None) -> RecordResult:
        """The interpreter that defines the engine's behaviour (also the path ``explain`` traces)."""
        result = RecordResult()
        matched = False
        rules = self._dispatch(payload) if self._dispatch is not None else self.rules
        for crule in rules:
            try:
                if crule.when is not None:
                    ok = crule.when(payload)
                    if trace is not None:
                        trace.when(crule.rule.name, crule.rule.when.source, ok)
                    if not truthy(ok):
                        continue
            except JMESPathError as exc:
                result.rejections.append(self._expr_rejection(crule.rule.name, crule.event.key, "when", crule.rule.when, payload, exc, source))
                matched = True
                continue
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(self._rule_failed(crule, exc, source))
                matched = True
                continue
            matched = True
            try:
                self._run_rule(crule, payload, result, source, now, trace)
            except Exception as exc:  # noqa: BLE001
                result.rejections.append(self._rule_failed(crule, exc, source))
        if self._bespoke_all(payload, result, source, trace):
            matched = True
        if not matched:
            result.filtered.append(filtered("no_rule"))
        return result

    def _bespoke_all(self, payload: Any, result: RecordResult, source: str, trace: Trace | None) -> bool:
        """Run every bespoke rule whose `when` holds; True if any matched (or failed to evaluate)."""
        matched = False
        for cb in self.bespoke:
            try:
                if cb.when is not None and not truthy(cb.when(payload)):
                    continue
            except JMESPathError as exc:
                result.rejections.append(self._expr_rejection(cb.rule.name, "", "when", cb.rule.when, payload, exc, source))
                matched = True
                continue
            except Exception as exc:  # noqa: BLE001 - one rule's failure rejects this record only
                result.rejections.append(self._rule_failed(cb, exc, source))
                matched = True
                continue
            matched = True
            try:
                self._run_bespoke(cb, payload, result, source, trace)
            except Exception as exc:  # noqa: BLE001
                result.rejections.append(self._rule_failed(cb, exc, source))
        return matched

    # -- rules ------------------------------------------------------------------------------
    def _scopes(self, each: Callable | None, expr: Expr | None, payload: Any, rule_name: str, event: str, result: RecordResult, source: str,
                inner: Callable | None = None, inner_expr: Expr | None = None) -> Iterator[Any]:
        """The data each field is evaluated against: the payload, or one scope per `each` item (per inner item for two levels)."""
        if each is None:
            yield payload
            return
        items = self._each_items(each, expr, payload, rule_name, event, result, source, None)
        for i, item in enumerate(items):
            if inner is None:
                yield item_scope(item, payload, i)
                continue
            for j, element in enumerate(self._each_items(inner, inner_expr, item_scope(item, payload, i), rule_name, event, result, source, i)):
                yield nested_scope(element, item, j, i, payload)

    @staticmethod
    def _each_items(each: Callable, expr: Expr, data: Any, rule_name: str, event: str, result: RecordResult, source: str, outer_index: int | None) -> list:
        """The array `each` yields, or [] after recording why there is nothing to fan out."""
        try:
            items = each(data)
        except JMESPathError as exc:
            result.rejections.append(each_error(exc, expr.source, rule_name, event, source, outer_index))
            return []
        problem = each_problem(items, expr.source, rule_name, event, source, outer_index)
        if problem is not None:
            (result.filtered if isinstance(problem, Filtered) else result.rejections).append(problem)
            return []
        return items

    def _run_rule(self, crule: _CompiledRule, payload: Any, result: RecordResult, source: str, now: datetime, trace: Trace | None) -> None:
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

    def _produce(self, crule: _CompiledRule, data: Any, payload: Any, result: RecordResult, source: str, now: datetime, trace: Trace | None) -> None:
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
                reject("expression_error", _context_path(f.name), f.expr, _offending(exc), label=f.name, reason=error_message(exc))
                continue
            if trace is not None:
                trace.field(rule.name, f.name, f.expr.source, state, value)
            if state == MISSING:
                if cf.required and not cf.completable:
                    reject("missing_mandatory", _context_path(f.name), f.expr, None, name=f.name)
                continue
            if state == NULL:
                if cf.required:
                    reject("null_mandatory", _context_path(f.name), f.expr, None, name=f.name)
                elif cf.nulls == "keep":
                    context[f.name] = None
                elif cf.nulls == "reject":
                    reject("null_value", _context_path(f.name), f.expr, None, name=f.name)
                else:
                    result.nulls_dropped += 1
                continue
            try:
                coerced = cf.coerce(value)
            except CoercionError as exc:
                reject("coerce_failed", _context_path(f.name), f.expr, value, name=f.name, reason=error_message(exc))
                continue
            if trace is not None:
                trace.coerced(rule.name, f.name, coerced)
            context[f.name] = coerced
        for param in crule.unmapped_required:
            reject("missing_mandatory", _context_path(param.key), None, None, "unmapped", name=param.key)

        if rejections or customer is None or event_time is None:
            result.rejections.extend(rejections)
            return
        self._finish(crule, data, payload, result, source, now, trace, customer, event_time, context, version)

    def _finish(self, crule: _CompiledRule, data: Any, payload: Any, result: RecordResult, source: str, now: datetime, trace: Trace | None, customer: str, event_time: datetime, context: dict, version: Any = None) -> None:
        """Currency, enrichers, guards, validation and the event, once every field is mapped.

        Shared by the reference path and by generated runners whose rule has enrichers or a
        plugin's guard, so those run exactly as they always did.
        """
        rule, event = crule.rule, crule.event
        rejections: list[Rejection] = []
        ootb = OotbEvent(self.mapping.tenant, event.key, customer, format_envelope(event_time), context, rule.name)
        currency = None
        if crule.currency is not None:
            try:
                currency = crule.currency(data)
            except JMESPathError as exc:
                result.rejections.append(self._expr_rejection(rule.name, event.key, "currency", rule.currency, data, exc, source))
                return
        if crule.enrichers or crule.guards:
            ctx = GuardContext(self.mapping, rule, self.catalog, now, event_time, currency, payload)
            for name, enrich in crule.enrichers:
                try:
                    updates = enrich(ootb, ctx)
                except Exception as exc:  # a plugin's bug must not stop the stream: reject, say who
                    result.rejections.append(rejection("enricher_failed", name=name, error_type=type(exc).__name__, error=exc, rule=rule.name, event=event.key, source=source))
                    return
                if updates:
                    ootb = self._apply_updates(ootb, crule, updates, result, source)
                    if ootb is None:
                        return
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
                        rejections.append(item if item.source else _with_source(item, source))
                if trace is not None:
                    trace.step(rule.name, f"guard {gname}", [o.to_dict() for o in outcomes] or "passed")
            if filtered:  # a pre-go-live event is never sent, so its other problems do not matter
                return
            if rejections:
                result.rejections.extend(rejections)
                return

        as_dict = ootb.to_dict()
        problems = self.validator.check(event.key, as_dict, rule=rule.name, source=source)
        if problems:
            result.rejections.extend(problems)
            return
        pk = tuple(as_dict["context"].get(k) if k not in ("customer", "timestamp") else as_dict[k] for k in event.primary_key)
        result.events.append(OotbEvent(ootb.tenant, ootb.event, ootb.customer, ootb.timestamp, ootb.context, rule.name, pk, version))

    def _apply_updates(self, ootb: OotbEvent, crule: _CompiledRule, updates: dict, result: RecordResult, source: str) -> OotbEvent | None:
        """Coerce what an enricher set to the catalog types, like mapped values."""
        context = dict(ootb.context)
        for key, value in updates.items():
            param = crule.event.params.get(key)
            if param is None:
                result.rejections.append(rejection("enricher_unknown_param", name=key, rule=crule.rule.name, event=crule.event.key, field=_context_path(key), value=value, source=source))
                return None
            if value is None:
                context[key] = None
                continue
            try:
                context[key] = make_coercer(param, tz=self.mapping.source_timezone, dst=self.mapping.dst)(value)
            except CoercionError as exc:
                result.rejections.append(rejection("coerce_failed", name=f"{key} (set by an enricher)", reason=exc, rule=crule.rule.name, event=crule.event.key,
                                                   field=_context_path(key), value=value, source=source))
                return None
        return OotbEvent(ootb.tenant, ootb.event, ootb.customer, ootb.timestamp, context, ootb.rule)

    def _customer(self, f: CompiledField, data: Any, reject: Callable, trace: Trace | None, rule: str) -> str | None:
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

    def _event_time(self, f: CompiledField, data: Any, reject: Callable, trace: Trace | None, rule: str) -> datetime | None:
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
            when = parse_timestamp(value, tz=self._tz, dst=self.mapping.dst)
        except CoercionError as exc:
            reject("bad_timestamp", "$.timestamp", f.expr, value, reason=exc)
            return None
        if trace is not None:
            trace.coerced(rule, "timestamp", format_envelope(when))
        return when

    # -- bespoke ----------------------------------------------------------------------------
    def _run_bespoke(self, cb: _CompiledBespoke, payload: Any, result: RecordResult, source: str, trace: Trace | None) -> None:
        for data in self._scopes(cb.each, cb.rule.each, payload, cb.rule.name, "", result, source, cb.each_inner, cb.rule.each_inner):
            rejections: list[Rejection] = []

            def reject(code: str, path: str, expr: Expr | None, value: Any, variant: str = "", _r: list = rejections, **params: Any) -> None:
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

    # -- helpers ----------------------------------------------------------------------------
    def _rule_of_runner(self, run: Callable) -> _CompiledRule | None:
        """The compiled rule a generated runner belongs to (looked up only after a failure)."""
        return next((c for c in self.rules if run is c.run or run is c.run_dispatched), None)

    @staticmethod
    def _rule_failed(crule: _CompiledRule | _CompiledBespoke | None, exc: Exception, source: str) -> Rejection:
        """A rule raised something that is not a mapping outcome (a function's TypeError, a plugin's
        bug): the record is rejected, naming the rule and the exception, and the stream goes on,
        in ``map``, ``explain`` and ``run`` alike."""
        name = crule.rule.name if crule is not None else "?"
        event = getattr(crule, "event", None)
        return rejection("rule_failed", name=name, error_type=type(exc).__name__, error=exc, rule=name, event=event.key if event is not None else "", source=source)

    @staticmethod
    def _expr_rejection(rule: str, event: str, label: str, expr: Expr | None, data: Any, exc: Exception, source: str) -> Rejection:
        return rejection("expression_error", label=label, reason=error_message(exc), rule=rule, event=event, field=label, expression=expr.source if expr else "", source=source)


_RESULT_FIELDS = ("events", "rejections", "filtered", "bespoke", "nulls_dropped")


def _bare_result() -> RecordResult:
    """An empty RecordResult without the dataclass __init__ (which only stores the five fields)."""
    result = object.__new__(RecordResult)
    result.__dict__ = {"events": [], "rejections": [], "filtered": [], "bespoke": [], "nulls_dropped": 0}
    return result


# If outcomes.py ever gives RecordResult more than plain fields, build it the ordinary way.
_new_result = _bare_result if plain_dataclass(RecordResult, _RESULT_FIELDS) else RecordResult


def _offending(exc: Exception) -> Any:
    """The value an added function could not use (FunctionValueError.value), for the rejection."""
    return getattr(exc, "value", None)


def _with_source(rejection: Rejection, source: str) -> Rejection:
    from dataclasses import replace

    return replace(rejection, source=source)


def _required(param: Param, channels: set[str]) -> bool:
    return param.cls == "mandatory" or param.primary_key or (param.cls == "channel" and bool(channels.intersection(param.channels)))


def _functions_for(mapping: Mapping, registry: Registry) -> dict[str, Callable]:
    """The extra JMESPath functions, with the ones that need the mapping (lookup) bound to it."""
    out = {}
    for name, fdef in registry.functions.items():
        if fdef.bind is not None:
            from dataclasses import replace

            fdef = replace(fdef, fn=fdef.bind(mapping), bind=None)
        out[name] = fdef
    return out


def _guards_for(mapping: Mapping, registry: Registry) -> tuple[list[Callable], tuple[str, ...]]:
    """The enabled guards, and their registered names (for traces and guard_failed rejections)."""
    guards, names = [], []
    for name, gdef in registry.guards.items():
        setting = mapping.guards.get(name, gdef.default_on)
        if setting is False or (setting is None):
            continue
        options = setting if isinstance(setting, dict) else {}
        guards.append(gdef.factory(options, mapping))
        names.append(name)
    return guards, tuple(names)


def _fused_guards(crule: _CompiledRule) -> list | None:
    """The guards' fused forms, if every enabled guard has one and the rule has no enrichers."""
    if crule.enrichers:
        return None
    fused = [getattr(guard, "fused", None) for guard in crule.guards]
    return None if any(f is None for f in fused) else fused


def _build_fast(mapper: Mapper) -> None:
    """Generate every rule's runner and the dispatch tables of runners."""
    for crule in mapper.rules:
        options = dict(
            tenant=mapper.mapping.tenant,
            go_live=mapper.mapping.go_live,
            tz=mapper._tz,
            dst=mapper.mapping.dst,
            validator=mapper.validator,
            fused=_fused_guards(crule),
            finish=mapper._finish,
        )
        crule.run, crule.python_source = make_rule_runner(crule, **options)
        crule.run_dispatched = crule.run
        if crule.when is not None and mapper._dispatch is not None and decides_when(crule.rule.when.source, mapper._dispatch.path):
            crule.run_dispatched, _ = make_rule_runner(crule, check_when=False, **options)
    mapper._fast_all = tuple(crule.run for crule in mapper.rules)
    dispatch = mapper._dispatch
    if dispatch is not None:
        mapper._fast_dispatch = dispatch
        # A rule listed under value V because its `when` is exactly `path == 'V'` needs no check.
        mapper._fast_table = {
            value: tuple(c.run_dispatched if c.run_dispatched is not c.run and decides_when(c.rule.when.source, dispatch.path) == value else c.run for c in rules)
            for value, rules in dispatch.table.items()
        }
        mapper._fast_default = tuple(c.run for c in dispatch.default)
        if len(dispatch.path) == 1:
            mapper._fast_key = dispatch.path[0]
    mapper.fast = True


def compile_mapping(
    mapping: Mapping,
    *,
    registry: Registry | None = None,
    catalog: Catalog | None = None,
    clock: Callable[[], datetime] | None = None,
    fast: bool = True,
) -> Mapper:
    """Compile a loaded mapping once; the result maps payloads with no further parsing.

    With ``fast`` (the default) each rule also gets a generated runner (:mod:`.codegen`) that
    gives the same results as the reference interpreter, which ``fast=False`` keeps using.
    """
    catalog = catalog or load_catalog()
    if registry is None:
        registry = make_registry(local_modules=mapping.plugins, base_dir=Path(mapping.path).parent if mapping.path else None)
    functions = _functions_for(mapping, registry)
    channels = set(mapping.channels)
    guards, guard_names = _guards_for(mapping, registry)
    enrichers = [(name, registry.enricher(name).factory(options, mapping)) for name, options in mapping.enrichers]
    tz = ZoneInfo(mapping.source_timezone)

    completable = delta_settings(catalog)[1]
    rules = []
    for rule in mapping.rules:
        event = catalog.event(rule.event)
        # A partial profile update is completed after mapping (engine/profiles.py): the channel
        # params it lacks are not the rule's to reject (a null in one still is: it would clear it).
        rule_channels = set() if rule.event in completable else channels
        context = []
        for key, spec in rule.context.items():
            param = event.params.get(key)
            if param is None:  # lint rejects this; a mapping loaded with lint=False still must not crash
                from ..errors import MappingError

                raise MappingError(f"{rule.loc}: rule {rule.name!r}: {key!r} is not a param of {event.key}")
            context.append(
                _ContextField(
                    field=compile_field(key, spec, functions),
                    param=param,
                    coerce=make_coercer(param, tz=tz, dst=mapping.dst),
                    required=_required(param, channels),
                    completable=_required(param, channels) and not _required(param, rule_channels),
                    nulls=spec.nulls or rule.nulls or mapping.nulls,
                )
            )
        unmapped = [p for p in event.params.values() if p.key not in rule.context and _required(p, rule_channels)]
        rules.append(
            _CompiledRule(
                rule=rule,
                event=event,
                when=compile_expression(rule.when.source, functions) if rule.when else None,
                each=compile_expression(rule.each.source, functions) if rule.each else None,
                customer=compile_field("customer", rule.customer, functions),
                timestamp=compile_field("timestamp", rule.timestamp, functions),
                currency=compile_expression(rule.currency.source, functions) if rule.currency else None,
                context=context,
                unmapped_required=unmapped,
                guards=guards,
                guard_names=guard_names,
                enrichers=enrichers,
                monetary_keys=frozenset(k for k in rule.context if event.params[k].monetary),
                version=make_version_reader(compile_field("version", FieldSpec(rule.version), functions), rule=rule.name,
                                            event=event.key, tz=tz, dst=mapping.dst) if rule.version else None,
                lets=[compile_field(name, spec, functions) for name, spec in rule.lets.items()],
                each_inner=compile_expression(rule.each_inner.source, functions) if rule.each_inner else None,
            )
        )
    bespoke = []
    if mapping.bespoke is not None:
        for brule in mapping.bespoke.rules:
            bespoke.append(
                _CompiledBespoke(
                    rule=brule,
                    when=compile_expression(brule.when.source, functions) if brule.when else None,
                    each=compile_expression(brule.each.source, functions) if brule.each else None,
                    customer=compile_field("customer", brule.customer, functions),
                    timestamp=compile_field("timestamp", brule.timestamp, functions),
                    attributes=[(k, compile_field(k, s, functions)) for k, s in brule.attributes.items()],
                    each_inner=compile_expression(brule.each_inner.source, functions) if brule.each_inner else None,
                )
            )
    mapper = Mapper(
        mapping=mapping,
        catalog=catalog,
        registry=registry,
        rules=rules,
        bespoke=bespoke,
        validator=EventValidator(mapping.vertical),
        clock=clock or (lambda: datetime.now(_UTC)),
        _tz=tz,
    )
    mapper._dispatch = make_dispatcher(rules)
    if fast:
        _build_fast(mapper)
    return mapper
