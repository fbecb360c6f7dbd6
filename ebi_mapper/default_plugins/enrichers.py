"""Built-in enrichers, registered through the public ``register_enrichers`` hook like any plugin.

Enrichers run only when a mapping names them under ``enrichers:``, in the order given:

- ``constant``: set params to fixed values (``options: {params: {ootb_brand: acme}}``).
- ``lookup``: set a param from one of the mapping's ``tables:`` keyed by an expression over the
  source record (``options: {table: brands, key: data.brand_id, param: ootb_brand}``), e.g. the
  brand name from a brand id.
"""

from __future__ import annotations

from typing import Any

from ..errors import MappingError
from ..extensions import EnricherDef, GuardContext
from ..hookspecs import hookimpl
from ..outcomes import OotbEvent

__all__ = ["constant_enricher", "lookup_enricher"]


def constant_enricher(options: dict, mapping: Any):
    """Set fixed params on every event of the mapping (those the event has)."""
    params = dict(options.get("params") or {})
    if not params:
        raise MappingError("enricher 'constant' needs options.params: {param: value}")

    def constant(event: OotbEvent, ctx: GuardContext) -> dict | None:
        known = ctx.catalog.events[event.event].params
        return {k: v for k, v in params.items() if k in known and k not in event.context} or None

    return constant


def lookup_enricher(options: dict, mapping: Any):
    """Derive a param from a lookup table keyed by an expression over the source record."""
    from ..plugin_kit import compile_expression

    try:
        table = mapping.tables[options["table"]]
        key = compile_expression(options["key"])
        param = options["param"]
    except KeyError as exc:
        raise MappingError(f"enricher 'lookup' needs options table (declared under tables:), key and param; missing {exc}") from None
    overwrite = bool(options.get("overwrite", False))

    def lookup(event: OotbEvent, ctx: GuardContext) -> dict | None:
        if param in event.context and not overwrite:
            return None
        if param not in ctx.catalog.events[event.event].params:
            return None
        value = key(ctx.payload)
        if value is None:
            return None
        found = table.get(str(value))
        return {param: found} if found is not None else None

    return lookup


@hookimpl
def register_enrichers(register) -> None:
    register(EnricherDef("constant", constant_enricher, doc="set params to fixed values"))
    register(EnricherDef("lookup", lookup_enricher, doc="set a param from a lookup table"))
