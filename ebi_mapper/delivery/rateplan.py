"""Which rate class each event belongs to, and the limits a run obeys.

The classes and their limits come from the catalog (``RateClass``: profile = registration and
user-details-update, 50 requests / 10 s; default = everything else), plus Optimove's overall
10,000 requests / s. A client with other agreed limits overrides them in the mapping::

    delivery:
      limits:
        profile: 100/10s        # or {requests: 100, per_seconds: 10}
        default: 5000/1s
        global: 20000/1s
      batch_size: 10            # never above the catalog's max_events_per_request

or with ``--limit CLASS=N/Ws`` on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DeliveryError
from .ratelimit import Limit, parse_limit

__all__ = ["RatePlan", "make_rate_plan", "DEFAULT_GLOBAL_LIMIT", "BESPOKE_CLASS"]

DEFAULT_GLOBAL_LIMIT = Limit(10_000, 1.0)
BESPOKE_CLASS = "bespoke"  # the queue of bespoke attribute rows (their own sink, no Optimove limit)

# Mirrors the catalog's `rate_classes` choice; used only when no catalog object is given.
_FALLBACK_CLASSES: dict[str, tuple[Limit, tuple[str, ...], int]] = {
    "profile": (Limit(50, 10.0), ("ootb_registration", "ootb_user_details_update"), 10),
    "default": (Limit(10_000, 1.0), (), 10),
}


@dataclass(frozen=True)
class RatePlan:
    """Rate classes with their limits and batch sizes, and the event → class assignment."""

    limits: dict[str, Limit | None]
    batch_sizes: dict[str, int]
    event_class: dict[str, str]
    default_class: str
    global_limit: Limit | None = DEFAULT_GLOBAL_LIMIT
    max_batch: dict[str, int] = field(default_factory=dict)  # the hard per-request ceiling per class

    def class_of(self, event: str) -> str:
        """The rate class of ``event`` (the catch-all class for events no class names)."""
        return self.event_class.get(event, self.default_class)

    def events_of(self, rate_class: str) -> tuple[str, ...]:
        """The events a class names (empty for the catch-all class)."""
        return tuple(sorted(e for e, c in self.event_class.items() if c == rate_class))

    @property
    def event_classes(self) -> tuple[str, ...]:
        """The OOTB rate classes (not the bespoke queue)."""
        return tuple(c for c in self.limits if c != BESPOKE_CLASS)


def _catalog_classes(catalog: Any) -> dict[str, tuple[Limit, tuple[str, ...], int]]:
    if catalog is None:
        return dict(_FALLBACK_CLASSES)
    out = {}
    for name, rc in catalog.rate_classes.items():
        out[name] = (Limit(int(rc.requests), float(rc.per_seconds)), tuple(rc.events), int(rc.max_events_per_request))
    return out


def make_rate_plan(
    catalog: Any = None,
    *,
    delivery: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    bespoke_batch_size: int = 100,
    bespoke_limit: Limit | None = None,
) -> RatePlan:
    """Build the plan from the catalog, the mapping's ``delivery:`` section and CLI ``overrides``.

    ``overrides`` (CLI) win over ``delivery['limits']`` (mapping), which win over the catalog.
    The key ``global`` sets the overall limit; ``none``/``off`` lifts a limit.
    :raises DeliveryError: an unknown class name or an unreadable limit.
    """
    delivery = dict(delivery or {})
    classes = _catalog_classes(catalog)
    if not classes:
        raise DeliveryError("the catalog defines no rate classes")
    limits: dict[str, Limit | None] = {n: c[0] for n, c in classes.items()}
    max_batch = {n: c[2] for n, c in classes.items()}
    global_limit: Limit | None = DEFAULT_GLOBAL_LIMIT
    merged = {**dict(delivery.get("limits") or {}), **dict(overrides or {})}
    for name, value in merged.items():
        lifted = value is None or (isinstance(value, str) and value.strip().lower() in ("none", "off"))
        limit = None if lifted else parse_limit(value)
        if name == "global":
            global_limit = limit
        elif name == BESPOKE_CLASS:
            bespoke_limit = limit
        elif name in limits:
            limits[name] = limit
        else:
            raise DeliveryError(f"unknown rate class {name!r} in limits (known: {', '.join(sorted([*limits, 'global', BESPOKE_CLASS]))})")
    size = delivery.get("batch_size")
    batch_sizes = {}
    for name, ceiling in max_batch.items():
        want = int(size) if size is not None else ceiling
        if want < 1:
            raise DeliveryError(f"delivery.batch_size must be >= 1, got {want}")
        batch_sizes[name] = min(want, ceiling)  # Optimove refuses more than its maximum per request
    event_class: dict[str, str] = {}
    default_class = ""
    for name, (_, events, _) in classes.items():
        if not events:
            default_class = name
        for ev in events:
            event_class[ev] = name
    if not default_class:
        default_class = next(iter(classes))
    limits[BESPOKE_CLASS] = bespoke_limit
    batch_sizes[BESPOKE_CLASS] = int(delivery.get("bespoke_batch_size", bespoke_batch_size))
    max_batch[BESPOKE_CLASS] = batch_sizes[BESPOKE_CLASS]
    return RatePlan(limits, batch_sizes, event_class, default_class, global_limit, max_batch)


def with_limits(plan: RatePlan, **limits: Limit | None) -> RatePlan:
    """A copy of ``plan`` with some class limits replaced (tests and tools)."""
    return replace(plan, limits={**plan.limits, **limits})
