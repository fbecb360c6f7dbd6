"""Built-in guards, registered through the public ``register_guards`` hook like any plugin.

- ``go_live``: events whose own time is before the mapping's ``go_live`` are *filtered*
  (counted, never sent): EBI has no history, data exists from go-live on.
- ``currency``: EBI does not convert; a rule that maps money must say which currency the
  source amount is in, and it must be the site currency.
- ``string_length``: Optimove strings hold at most 255 characters.
- ``future_skew``: an event more than N seconds (default 300) ahead of the run's clock is
  almost always a time-zone bug in the source, so it is rejected rather than sent.

Each guard is written once, as its fast form (:class:`~ebi_mapper.extensions.FastGuard`, the
public form any plugin may give): ``for_rule(rule, event_def)`` returns the per-event check, and
the reference ``check(event, ctx)`` the engine's interpreter calls is that same check applied to
the event's parts (:func:`_reference`). The fast forms also name an ``inline`` form, which the
code generator (engine/fast/guards.py) writes into each rule's runner with the same settings;
tests/engine/test_fast_path_differential.py and tests/engine/test_guards.py compare the outcomes.
Messages come from the one table (ebi_mapper/rejection_codes.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from ..extensions import FastCheck, FastGuard, GuardContext, GuardDef
from ..hookspecs import hookimpl
from ..outcomes import Filtered, OotbEvent, Rejection
from ..rejection_codes import filtered, rejection

__all__ = ["go_live_guard", "currency_guard", "string_length_guard", "future_skew_guard",
           "go_live_fast", "currency_fast", "string_length_fast", "future_skew_fast"]

Outcomes = Iterable[Rejection | Filtered]

def _reference(fast: FastGuard) -> Callable[[OotbEvent, GuardContext], Outcomes]:
    """The guard's reference ``check(event, ctx)``: its fast form's check, given the event's parts."""

    bound: dict[int, tuple[Any, Any, FastCheck | None]] = {}  # id(rule) -> (rule, event_def, its check)

    def check(event: OotbEvent, ctx: GuardContext) -> Outcomes:
        event_def = ctx.catalog.events[event.event]
        hit = bound.get(id(ctx.rule))
        if hit is None or hit[0] is not ctx.rule or hit[1] is not event_def:
            hit = bound[id(ctx.rule)] = (ctx.rule, event_def, fast.for_rule(ctx.rule, event_def))
        per_rule = hit[2]
        if per_rule is None:
            return ()
        return per_rule(event.customer, event.timestamp, ctx.event_time, event.context, ctx.now, ctx.currency) or ()

    return check

# -- go_live ------------------------------------------------------------------------------------
def go_live_fast(options: dict, mapping: Any) -> FastGuard:
    """Filter events before ``go_live`` (by event time, never processing time)."""
    go_live = mapping.go_live

    def for_rule(rule: Any, event_def: Any) -> FastCheck | None:
        if go_live is None:
            return None
        until, name, event, since = go_live, rule.name, event_def.key, go_live.isoformat()

        def go_live_check(customer: str, timestamp: str, event_time: datetime, context: dict, now: datetime, currency: Any) -> list[Filtered] | None:
            if event_time < until:
                return [filtered("pre_go_live", timestamp=timestamp, go_live=since, rule=name, event=event)]
            return None

        return go_live_check

    return FastGuard(for_rule, inline=("go_live", {"go_live": go_live}))

def go_live_guard(options: dict, mapping: Any) -> Callable[[OotbEvent, GuardContext], Outcomes]:
    """The reference form of :func:`go_live_fast`."""
    return _reference(go_live_fast(options, mapping))

# -- currency -----------------------------------------------------------------------------------
def currency_fast(options: dict, mapping: Any) -> FastGuard:
    """Reject money in any currency but the site currency, and money whose currency is unknown."""
    site = str(mapping.site_currency).upper()

    def for_rule(rule: Any, event_def: Any) -> FastCheck | None:
        monetary = frozenset(k for k, p in event_def.params.items() if p.monetary)
        if not monetary:
            return None  # no monetary param can be in the context: nothing to say
        name, event = rule.name, event_def.key
        expr = rule.currency.source if rule.currency is not None else None

        def currency_check(customer: str, timestamp: str, event_time: datetime, context: dict, now: datetime, currency: Any) -> list[Rejection] | None:
            money = [k for k, v in context.items() if v is not None and k in monetary]
            if not money:
                return None
            if expr is None:
                return [rejection("currency_missing", params=", ".join(money), site=site, rule=name, event=event, field=f"$.context.{money[0]}")]
            if not isinstance(currency, str) or not currency.strip():
                return [rejection("currency_missing", "empty", currency=currency, site=site, rule=name, event=event, field="currency", expression=expr, value=currency)]
            if currency.strip().upper() != site:
                return [rejection("currency_mismatch", currency=currency.strip().upper(), site=site, rule=name, event=event,
                                  field=f"$.context.{money[0]}", expression=expr, value=currency)]
            return None

        return currency_check

    return FastGuard(for_rule, inline=("currency", {"site": site}))

def currency_guard(options: dict, mapping: Any) -> Callable[[OotbEvent, GuardContext], Outcomes]:
    """The reference form of :func:`currency_fast`."""
    return _reference(currency_fast(options, mapping))

# -- string_length ------------------------------------------------------------------------------
def string_length_fast(options: dict, mapping: Any) -> FastGuard:
    """Reject strings longer than Optimove's limit (255 by default) anywhere in the event."""
    limit = int(options.get("max", 255))

    def for_rule(rule: Any, event_def: Any) -> FastCheck:
        name, event = rule.name, event_def.key

        def string_length_check(customer: str, timestamp: str, event_time: datetime, context: dict, now: datetime, currency: Any) -> list[Rejection]:
            out = []
            if len(customer) > limit:
                out.append(rejection("string_too_long", name="customer id", length=len(customer), limit=limit, rule=name, event=event,
                                     field="$.customer", value=customer))
            for key, value in context.items():
                if type(value) is str and len(value) > limit:
                    out.append(rejection("string_too_long", name=key, length=len(value), limit=limit, rule=name, event=event,
                                         field=f"$.context.{key}", value=value))
            return out

        return string_length_check

    return FastGuard(for_rule, inline=("string_length", {"limit": limit}))

def string_length_guard(options: dict, mapping: Any) -> Callable[[OotbEvent, GuardContext], Outcomes]:
    """The reference form of :func:`string_length_fast`."""
    return _reference(string_length_fast(options, mapping))

# -- future_skew --------------------------------------------------------------------------------
def future_skew_fast(options: dict, mapping: Any) -> FastGuard:
    """Reject events too far ahead of the run's clock: the usual sign of a time-zone bug."""
    seconds = float(options.get("seconds", getattr(mapping, "future_skew_seconds", 300.0)))
    skew = timedelta(seconds=seconds)

    def for_rule(rule: Any, event_def: Any) -> FastCheck:
        name, event, expr = rule.name, event_def.key, rule.timestamp.expr.source

        def future_skew_check(customer: str, timestamp: str, event_time: datetime, context: dict, now: datetime, currency: Any) -> list[Rejection] | None:
            if event_time - now > skew:
                return [rejection("future_timestamp", timestamp=timestamp, ahead=(event_time - now).total_seconds(), seconds=seconds, rule=name,
                                  event=event, field="$.timestamp", expression=expr, value=timestamp)]
            return None

        return future_skew_check

    return FastGuard(for_rule, inline=("future_skew", {"seconds": seconds, "skew": skew}))

def future_skew_guard(options: dict, mapping: Any) -> Callable[[OotbEvent, GuardContext], Outcomes]:
    """The reference form of :func:`future_skew_fast`."""
    return _reference(future_skew_fast(options, mapping))

@hookimpl
def register_guards(register: Callable[[GuardDef], None]) -> None:
    register(GuardDef("go_live", go_live_guard, doc="filter events before the mapping's go_live", fast=go_live_fast))
    register(GuardDef("currency", currency_guard, doc="amounts must be in the site currency", fast=currency_fast))
    register(GuardDef("string_length", string_length_guard, doc="strings at most 255 characters (option: max)", fast=string_length_fast))
    register(GuardDef("future_skew", future_skew_guard, doc="reject events more than N s ahead of the clock (option: seconds, default 300)", fast=future_skew_fast))
