"""Capacity planning: do a client's expected volumes fit Optimove's limits, and if not, by how much?

For each rate class: events/s = the sum over its events; requests/s = events/s ÷ batch size (full
batches of 10: the best case the batcher reaches under load); capacity = the class limit in
requests/s (and the global limit across classes). When the demand exceeds the capacity, the
surplus piles up in the outbox: ``backlog growth = (events/s − capacity in events/s) × 3600`` per
hour, a peak of ``T`` seconds leaves ``surplus × T`` events behind, and the last event of the peak
waits ``backlog ÷ capacity`` seconds (if the class gets its whole capacity for draining).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..catalog.names import nearest_names
from ..errors import DeliveryError
from .rateplan import BESPOKE_CLASS, RatePlan

__all__ = ["ClassLoad", "CapacityReport", "VolumeFinding", "plan_capacity", "load_volumes"]


@dataclass(frozen=True)
class ClassLoad:
    """One rate class (or ``global``) under the expected load."""

    name: str
    events: tuple[str, ...]
    events_per_second: float
    requests_per_second: float
    limit_requests_per_second: float | None  # None = no limit
    batch_size: float
    fits: bool
    utilisation: float | None
    backlog_growth_per_hour: float  # events; 0 when it fits
    backlog_after_peak: float  # events left after a peak of peak_seconds
    lag_after_peak_seconds: float  # how long the last event of the peak waits

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"events": list(self.events)}


@dataclass(frozen=True)
class VolumeFinding:
    """Something wrong (or worth knowing) about one event of the volumes file.

    ``error``: not an OOTB event (a misspelling: counted in the catch-all class, so the plan is
    likely wrong); ``warning``: an OOTB event no rule of the mapping produces; ``note``: an event
    the mapping produces that has no volume (planned as 0 events/s).
    """

    severity: str  # error | warning | note
    event: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "event": self.event, "message": self.message}


@dataclass(frozen=True)
class CapacityReport:
    """Every class and the global limit; ``fits`` when all do."""

    classes: tuple[ClassLoad, ...]
    peak_seconds: float
    unknown_events: tuple[str, ...] = ()
    findings: tuple[VolumeFinding, ...] = ()

    @property
    def fits(self) -> bool:
        return all(c.fits for c in self.classes)

    def has(self, severity: str) -> bool:
        """Whether any finding of the volumes file has ``severity``."""
        return any(f.severity == severity for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"fits": self.fits, "peak_seconds": self.peak_seconds, "classes": [c.to_dict() for c in self.classes],
                "unknown_events": list(self.unknown_events), "findings": [f.to_dict() for f in self.findings]}


def _volume_findings(volumes: Mapping[str, float], known: tuple[str, ...] | None,
                     produced: frozenset[str] | None) -> tuple[VolumeFinding, ...]:
    out = []
    for event in volumes:
        if known is not None and event not in known:
            near = nearest_names(event, known, 1)
            hint = f"; did you mean {near[0]!r}?" if near else f" (OOTB events: {', '.join(sorted(known))})"
            out.append(VolumeFinding("error", event, f"{event} is not an OOTB event{hint}"))
        elif produced is not None and event not in produced:
            out.append(VolumeFinding("warning", event, f"{event} is an OOTB event no rule of the mapping produces "
                                                       f"(it produces {', '.join(sorted(produced)) or 'none'})"))
    if produced is not None:
        for event in sorted(produced - set(volumes)):
            out.append(VolumeFinding("note", event, f"no volume given for {event} (planned as 0 events/s)"))
    return tuple(out)


def load_volumes(path: str | Path) -> dict[str, float]:
    """Read ``{event: events_per_second}`` from YAML or JSON (optionally under a ``volumes:`` key).

    :raises DeliveryError: unreadable file, or a value that is not a non-negative number.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = orjson.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise DeliveryError(f"cannot read volumes file {path}: {exc}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("volumes"), Mapping):
        data = data["volumes"]
    if not isinstance(data, Mapping):
        raise DeliveryError(f"{path}: expected a mapping of event name to events per second")
    out: dict[str, float] = {}
    for event, rate in data.items():
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
            raise DeliveryError(f"{path}: {event}: events per second must be a number >= 0, got {rate!r}")
        out[str(event)] = float(rate)
    return out


def _load(name: str, events: tuple[str, ...], eps: float, rps: float, batch: float, limit_rps: float | None, peak: float) -> ClassLoad:
    if limit_rps is None:
        return ClassLoad(name, events, eps, rps, None, batch, True, None, 0.0, 0.0, 0.0)
    capacity_eps = limit_rps * batch
    surplus = max(0.0, eps - capacity_eps)
    backlog = surplus * peak
    return ClassLoad(name, events, eps, rps, limit_rps, batch, rps <= limit_rps, rps / limit_rps if limit_rps else None,
                     surplus * 3600.0, backlog, backlog / capacity_eps if capacity_eps else float("inf"))


def plan_capacity(plan: RatePlan, volumes: Mapping[str, float], *, peak_seconds: float = 3600.0,
                  known_events: tuple[str, ...] | None = None, produced_events: Iterable[str] | None = None) -> CapacityReport:
    """Check ``volumes`` (events/s per event) against ``plan``'s limits for a peak of ``peak_seconds``.

    With ``known_events`` (the catalog's) and ``produced_events`` (the mapping's), the report also
    says which volumes name no OOTB event and which name events the mapping never produces.
    """
    per_class: dict[str, list[str]] = {}
    for event in volumes:
        per_class.setdefault(plan.class_of(event), []).append(event)
    loads = []
    total_rps = 0.0
    for name in plan.event_classes:
        events = tuple(sorted(per_class.get(name, [])))
        eps = sum(volumes[e] for e in events)
        batch = plan.batch_sizes.get(name, 10)
        limit = plan.limits.get(name)
        loads.append(_load(name, events, eps, eps / batch, batch, limit.per_second if limit else None, peak_seconds))
        total_rps += eps / batch
    if plan.global_limit is not None:
        # Global: the same request count, compared with the overall limit (batch size folded in).
        total_eps = sum(v for e, v in volumes.items() if plan.class_of(e) != BESPOKE_CLASS)
        mean_batch = total_eps / total_rps if total_rps else 10.0  # average events per request over all classes
        loads.append(_load("global", tuple(sorted(volumes)), total_eps, total_rps, mean_batch, plan.global_limit.per_second, peak_seconds))
    unknown = tuple(sorted(e for e in volumes if known_events is not None and e not in known_events))
    produced = None if produced_events is None else frozenset(produced_events)
    return CapacityReport(tuple(loads), peak_seconds, unknown, _volume_findings(volumes, known_events, produced))
