"""Counts that always add up: every input record ends in exactly one outcome.

A record's outcome is the worst of what it produced: ``rejected`` if anything was rejected
(its good events still go out; the record is kept in the dead-letter store with the reasons),
else ``mapped`` if it produced an event or a bespoke row, else ``filtered``. Units (events,
rejections, filters) are counted too, by event, by reason code and by filter reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ...outcomes import RecordResult, Rejection

__all__ = ["MapCounts"]


@dataclass
class MapCounts:
    """Running totals of a mapping run."""

    records: int = 0
    outcomes: Counter = field(default_factory=Counter)  # mapped | rejected | filtered
    events: Counter = field(default_factory=Counter)  # by event key
    rejections: Counter = field(default_factory=Counter)  # by code
    filtered: Counter = field(default_factory=Counter)  # by reason
    bespoke_rows: int = 0
    nulls_dropped: int = 0
    partial_profiles: int = 0  # profile updates sent without channel params nothing earlier knew (profiles.py)
    dst: Counter = field(default_factory=Counter)  # DST decisions by kind: gap | overlap (timestamps.DST_LOG)

    def add(self, result: RecordResult) -> str:
        """Count one record's result; return its outcome."""
        self.records += 1
        outcome = result.outcome
        self.outcomes[outcome] += 1
        for event in result.events:
            self.events[event.event] += 1
        for rejection in result.rejections:
            self.rejections[rejection.code] += 1
        for item in result.filtered:
            self.filtered[item.reason] += 1
        self.bespoke_rows += len(result.bespoke)
        self.nulls_dropped += result.nulls_dropped
        return outcome

    def add_undecodable(self, rejection: Rejection) -> None:
        """Count a line that never became a payload (malformed, too large, too deep)."""
        self.records += 1
        self.outcomes["rejected"] += 1
        self.rejections[rejection.code] += 1

    def merge(self, other: MapCounts) -> None:
        """Add another run's totals to these (a worker's counts for one chunk of the input)."""
        self.records += other.records
        self.outcomes.update(other.outcomes)
        self.events.update(other.events)
        self.rejections.update(other.rejections)
        self.filtered.update(other.filtered)
        self.bespoke_rows += other.bespoke_rows
        self.nulls_dropped += other.nulls_dropped
        self.partial_profiles += other.partial_profiles
        self.dst.update(other.dst)

    @property
    def balanced(self) -> bool:
        return self.records == sum(self.outcomes.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "mapped": self.outcomes["mapped"],
            "rejected": self.outcomes["rejected"],
            "filtered": self.outcomes["filtered"],
            "events": dict(sorted(self.events.items())),
            "events_total": sum(self.events.values()),
            "rejections_by_code": dict(sorted(self.rejections.items())),
            "filtered_by_reason": dict(sorted(self.filtered.items())),
            "bespoke_rows": self.bespoke_rows,
            "nulls_dropped": self.nulls_dropped,
            "partial_profiles": self.partial_profiles,
            "dst_resolved": {"gap": self.dst["gap"], "overlap": self.dst["overlap"]},
            "balanced": self.balanced,
        }
