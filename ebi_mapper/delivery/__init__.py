"""Delivery: durable state, dedup, the outbox, batching, rate limits, retries and the run loop.

The sinks themselves live beside this (``http_sink``, ``file_sinks``, ``bespoke_sinks``) and are
registered as plugins; ``docs/delivery.md`` states the guarantees.
"""

from __future__ import annotations

from .batcher import Batch, Batcher
from .capacity import CapacityReport, ClassLoad, load_volumes, plan_capacity
from .pipeline import DeliveryLoop, DeliveryOptions
from .ratelimit import Limit, RateLimiter, SlidingWindowLimiter, make_rate_limiter, parse_limit
from .rateplan import RatePlan, make_rate_plan
from .retry import Decision, RetryPolicy, decide
from .settings import DeliverySettings, LoadedMapping, load_for_delivery, make_sinks, read_delivery_settings
from .source import InputRecord, InputSource, make_source
from .state import Checkpoint, DeadLetter, OutboxItem, OutboxRow, StateStore, open_state
from .summary import Progress, RunSummary

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
    "LoadedMapping",
    "OutboxItem",
    "OutboxRow",
    "Progress",
    "RateLimiter",
    "RatePlan",
    "RetryPolicy",
    "RunSummary",
    "SlidingWindowLimiter",
    "StateStore",
    "decide",
    "load_for_delivery",
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
