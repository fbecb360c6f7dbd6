"""The ``convert_currency`` guard: convert money to the site currency from a fixed rates table.

OUTSIDE EBI: Optimove's Events-based Integration does not convert currencies, and the built-in
``currency`` guard rejects any amount not in the site currency. This opt-in guard is for the
cases a client and Optimove agreed otherwise. It is off unless a mapping names it, converts with
the rates the mapping gives (never fetched at run time, so a replay gives the same numbers),
rounds to 4 places, and rejects amounts in a currency the table does not have.

It also declares a fast form (``GuardDef(..., fast=...)``, a :class:`~ebi_mapper.FastGuard`), so a
rule using it stays on the engine's generated fast path without an ``OotbEvent`` and a
``GuardContext`` built per event; tests/engine/test_fast_guard_plugin.py proves the two forms give
the same results on generated payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ebi_mapper import (
    EventDef,
    FastGuard,
    GuardContext,
    GuardDef,
    Mapping,
    MappingError,
    OotbEvent,
    Rejection,
    hookimpl,
)
from ebi_mapper.extensions import FastCheck
from ebi_mapper.mapping.model import Rule

__all__ = ["convert_currency_fast", "convert_currency_guard", "register_guards"]

_PLACES = Decimal("0.0001")


def _rates(options: dict[str, Any], mapping: Mapping) -> tuple[dict[str, Decimal], str]:
    rates = {str(k).upper(): Decimal(str(v)) for k, v in (options.get("rates") or {}).items()}
    if not rates:
        raise MappingError("guard convert_currency needs options.rates: {CURRENCY: rate into the site currency}")
    site = str(mapping.site_currency).upper()
    rates[site] = Decimal(1)
    return rates, site


def convert_currency_guard(options: dict[str, Any], mapping: Mapping) -> Callable[[OotbEvent, GuardContext], Iterator[Rejection]]:
    """Build the guard from ``options['rates']``: {currency: rate into the site currency}."""
    rates, site = _rates(options, mapping)

    def convert_currency(event: OotbEvent, ctx: GuardContext) -> Iterator[Rejection]:
        params = ctx.catalog.events[event.event].params
        money = [k for k, v in event.context.items() if v is not None and params.get(k) is not None and params[k].monetary]
        if not money:
            return
        currency = str(ctx.currency or "").strip().upper()
        rate = rates.get(currency)
        if rate is None:
            yield Rejection("no_rate", f"no conversion rate from {currency or 'an unknown currency'} to {site}", ctx.rule.name, event.event, f"$.context.{money[0]}", "", ctx.currency)
            return
        for key in money:
            # Events are frozen but their context dict is the engine's own copy: convert in place.
            event.context[key] = float((Decimal(str(event.context[key])) * rate).quantize(_PLACES, rounding=ROUND_HALF_UP))

    return convert_currency


def convert_currency_fast(options: dict[str, Any], mapping: Mapping) -> FastGuard:
    """The same guard's fast form: bound once per rule, called with the event's parts."""
    rates, site = _rates(options, mapping)

    def for_rule(rule: Rule, event_def: EventDef) -> FastCheck | None:
        monetary = frozenset(k for k, p in event_def.params.items() if p.monetary)
        if not monetary:
            return None  # this rule's event holds no money: nothing to convert
        name, event = rule.name, event_def.key

        def check(customer: str, timestamp: str, event_time: datetime, context: dict[str, Any], now: datetime, currency: Any) -> list[Rejection] | None:
            money = [k for k, v in context.items() if v is not None and k in monetary]
            if not money:
                return None
            code = str(currency or "").strip().upper()
            rate = rates.get(code)
            if rate is None:
                return [Rejection("no_rate", f"no conversion rate from {code or 'an unknown currency'} to {site}", name, event, f"$.context.{money[0]}", "", currency)]
            for key in money:
                context[key] = float((Decimal(str(context[key])) * rate).quantize(_PLACES, rounding=ROUND_HALF_UP))
            return None

        return check

    return FastGuard(for_rule)


@hookimpl
def register_guards(register: Callable[[GuardDef], None]) -> None:
    register(GuardDef("convert_currency", convert_currency_guard, default_on=False, doc="OUTSIDE EBI: convert money to the site currency with a fixed rates table",
                      fast=convert_currency_fast))
