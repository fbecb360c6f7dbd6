"""The ``convert_currency`` guard: convert money to the site currency from a fixed rates table.

OUTSIDE EBI: Optimove's Events-based Integration does not convert currencies, and the built-in
``currency`` guard rejects any amount not in the site currency. This opt-in guard is for the
cases a client and Optimove agreed otherwise. It is off unless a mapping names it, converts with
the rates the mapping gives (never fetched at run time, so a replay gives the same numbers),
rounds to 4 places, and rejects amounts in a currency the table does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ebi_mapper import GuardContext, GuardDef, Mapping, MappingError, OotbEvent, Rejection, hookimpl

__all__ = ["convert_currency_guard", "register_guards"]

_PLACES = Decimal("0.0001")


def convert_currency_guard(options: dict[str, Any], mapping: Mapping) -> Callable[[OotbEvent, GuardContext], Iterator[Rejection]]:
    """Build the guard from ``options['rates']``: {currency: rate into the site currency}."""
    rates = {str(k).upper(): Decimal(str(v)) for k, v in (options.get("rates") or {}).items()}
    if not rates:
        raise MappingError("guard convert_currency needs options.rates: {CURRENCY: rate into the site currency}")
    site = str(mapping.site_currency).upper()
    rates[site] = Decimal(1)

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


@hookimpl
def register_guards(register: Callable[[GuardDef], None]) -> None:
    register(GuardDef("convert_currency", convert_currency_guard, default_on=False, doc="OUTSIDE EBI: convert money to the site currency with a fixed rates table"))
