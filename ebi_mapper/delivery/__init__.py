"""Delivery: durable state, dedup, the outbox, batching, rate limits, retries and the run loop.

Delivery knows sinks only through the :class:`~ebi_mapper.extensions.Sink` protocol: the built-in
ones are a plugin like any other (:mod:`ebi_mapper.default_plugins`: ``http_sink``,
``file_sinks``, ``bespoke_sinks``), built from the registry the application edge hands over;
``docs/delivery.md`` states the guarantees.
"""

from __future__ import annotations

import importlib
from typing import Any

# Re-exports are resolved on first use (PEP 562) so that importing one small module of this
# package (a sink's option table, say) does not import the whole delivery pipeline.
_EXPORTS = {
    "Batch": "batcher",
    "Batcher": "batcher",
    "CapacityReport": "capacity",
    "Checkpoint": "state",
    "ClassLoad": "capacity",
    "DeadLetter": "state",
    "Decision": "retry",
    "DeliveryLoop": "pipeline",
    "DeliveryOptions": "pipeline",
    "DeliverySettings": "settings",
    "InputRecord": "source",
    "InputSource": "source",
    "Limit": "ratelimit",
    "OutboxItem": "state",
    "OutboxRow": "state",
    "Progress": "summary",
    "RateLimiter": "ratelimit",
    "RatePlan": "rateplan",
    "RetryPolicy": "retry",
    "RunSummary": "summary",
    "SlidingWindowLimiter": "ratelimit",
    "StateStore": "state",
    "VolumeFinding": "capacity",
    "decide": "retry",
    "load_volumes": "capacity",
    "make_rate_limiter": "ratelimit",
    "make_rate_plan": "rateplan",
    "make_sinks": "settings",
    "make_source": "source",
    "open_state": "state",
    "parse_limit": "ratelimit",
    "plan_capacity": "capacity",
    "read_delivery_settings": "settings",
}

__all__ = [
    "Batch",
    "Batcher",
    "CapacityReport",
    "Checkpoint",
    "ClassLoad",
    "DeadLetter",
    "Decision",
    "DeliveryLoop",
    "DeliveryOptions",
    "DeliverySettings",
    "InputRecord",
    "InputSource",
    "Limit",
    "OutboxItem",
    "OutboxRow",
    "Progress",
    "RateLimiter",
    "RatePlan",
    "RetryPolicy",
    "RunSummary",
    "SlidingWindowLimiter",
    "StateStore",
    "VolumeFinding",
    "decide",
    "load_volumes",
    "make_rate_limiter",
    "make_rate_plan",
    "make_sinks",
    "make_source",
    "open_state",
    "parse_limit",
    "plan_capacity",
    "read_delivery_settings",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
