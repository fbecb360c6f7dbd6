"""Built-in guards, registered through the public ``register_guards`` hook like any plugin.

- ``go_live``: events whose own time is before the mapping's ``go_live`` are *filtered*
  (counted, never sent): EBI has no history, data exists from go-live on.
- ``currency``: EBI does not convert; a rule that maps money must say which currency the
  source amount is in, and it must be the site currency.
- ``string_length``: Optimove strings hold at most 255 characters.
- ``future_skew``: an event more than N seconds (default 300) ahead of the run's clock is
  almost always a time-zone bug in the source, so it is rejected rather than sent.

Each check function also carries ``fused = (kind, settings)``: the engine's code generator
(:mod:`ebi_mapper.engine.codegen`) inlines these four checks with those settings instead of
calling the closures, which stay the reference (explain, and the differential test, use them).
A guard without ``fused`` (any plugin's) is always called as a closure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from ..extensions import GuardContext, GuardDef
from ..hookspecs import hookimpl
from ..outcomes import Filtered, OotbEvent, Rejection
from ..rejection_codes import filtered, rejection

__all__ = ["go_live_guard", "currency_guard", "string_length_guard", "future_skew_guard"]


def go_live_guard(options: dict, mapping: Any):
    """Filter events before ``go_live`` (by event time, never processing time)."""
    go_live = mapping.go_live

    def go_live_check(event: OotbEvent, ctx: GuardContext) -> Iterator[Filtered]:
        if go_live is not None and ctx.event_time < go_live:
            yield filtered("pre_go_live", timestamp=event.timestamp, go_live=go_live.isoformat(), rule=ctx.rule.name, event=event.event)

    go_live_check.fused = ("go_live", {"go_live": go_live})
    return go_live_check


def currency_guard(options: dict, mapping: Any):
    """Reject money in any currency but the site currency, and money whose currency is unknown."""
    site = str(mapping.site_currency).upper()

    def currency_check(event: OotbEvent, ctx: GuardContext) -> Iterator[Rejection]:
        params = ctx.catalog.events[event.event].params
        money = [k for k, v in event.context.items() if v is not None and k in params and params[k].monetary]
        if not money:
            return
        expr = ctx.rule.currency.source if ctx.rule.currency is not None else ""
        if ctx.rule.currency is None:
            yield rejection("currency_missing", params=", ".join(money), site=site, rule=ctx.rule.name, event=event.event, field=f"$.context.{money[0]}")
            return
        currency = ctx.currency
        if not isinstance(currency, str) or not currency.strip():
            yield rejection("currency_missing", "empty", currency=currency, site=site, rule=ctx.rule.name, event=event.event, field="currency", expression=expr, value=currency)
        elif currency.strip().upper() != site:
            yield rejection("currency_mismatch", currency=currency.strip().upper(), site=site, rule=ctx.rule.name, event=event.event,
                            field=f"$.context.{money[0]}", expression=expr, value=currency)

    currency_check.fused = ("currency", {"site": site})
    return currency_check


def string_length_guard(options: dict, mapping: Any):
    """Reject strings longer than Optimove's limit (255 by default) anywhere in the event."""
    limit = int(options.get("max", 255))

    def string_length_check(event: OotbEvent, ctx: GuardContext) -> Iterator[Rejection]:
        if len(event.customer) > limit:
            yield rejection("string_too_long", name="customer id", length=len(event.customer), limit=limit, rule=ctx.rule.name, event=event.event,
                            field="$.customer", value=event.customer)
        for key, value in event.context.items():
            if type(value) is str and len(value) > limit:
                yield rejection("string_too_long", name=key, length=len(value), limit=limit, rule=ctx.rule.name, event=event.event,
                                field=f"$.context.{key}", value=value)

    string_length_check.fused = ("string_length", {"limit": limit})
    return string_length_check


def future_skew_guard(options: dict, mapping: Any):
    """Reject events too far ahead of the run's clock: the usual sign of a time-zone bug."""
    seconds = float(options.get("seconds", getattr(mapping, "future_skew_seconds", 300.0)))
    skew = timedelta(seconds=seconds)

    def future_skew_check(event: OotbEvent, ctx: GuardContext) -> Iterator[Rejection]:
        if ctx.event_time - ctx.now > skew:
            ahead = (ctx.event_time - ctx.now).total_seconds()
            yield rejection("future_timestamp", timestamp=event.timestamp, ahead=ahead, seconds=seconds, rule=ctx.rule.name, event=event.event,
                            field="$.timestamp", expression=ctx.rule.timestamp.expr.source, value=event.timestamp)

    future_skew_check.fused = ("future_skew", {"seconds": seconds, "skew": skew})
    return future_skew_check


@hookimpl
def register_guards(register) -> None:
    register(GuardDef("go_live", go_live_guard, doc="filter events before the mapping's go_live"))
    register(GuardDef("currency", currency_guard, doc="amounts must be in the site currency"))
    register(GuardDef("string_length", string_length_guard, doc="strings at most 255 characters (option: max)"))
    register(GuardDef("future_skew", future_skew_guard, doc="reject events more than N s ahead of the clock (option: seconds, default 300)"))
