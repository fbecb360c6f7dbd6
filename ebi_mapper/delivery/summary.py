"""What a delivery run reports: live progress snapshots and the final summary with its invariants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Progress", "RunSummary", "record_outcome"]


@dataclass(frozen=True)
class Progress:
    """A snapshot for the progress display."""

    elapsed: float
    records_read: int  # by this invocation
    records_per_second: float
    sent: int  # events and bespoke rows acknowledged by this invocation
    rejected: int  # records rejected by this invocation
    dead_lettered: int  # events dead-lettered by this invocation
    backlog: int  # events and rows waiting in the outbox
    in_flight: int
    bytes_done: int | None = None  # of the input, up to the last committed record (None: size unknown, stdin)
    bytes_total: int | None = None
    bytes_per_second: float = 0.0  # this invocation's reading rate

    @property
    def fraction(self) -> float | None:
        """How much of the input is committed (0..1), when its size is known."""
        if self.bytes_total is None or self.bytes_done is None:
            return None
        return 1.0 if self.bytes_total == 0 else min(1.0, self.bytes_done / self.bytes_total)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at this run's reading rate, when the size is known and reading has begun."""
        total, done = self.bytes_total, self.bytes_done
        if total is None or done is None or self.bytes_per_second <= 0:  # size unknown, or nothing read yet
            return None
        return max(0.0, (total - done) / self.bytes_per_second)


@dataclass(frozen=True)
class RunSummary:
    """How a run ended, with the input's cumulative totals and this invocation's own counts."""

    input_id: str
    status: str  # complete | stopped (max-records) | interrupted
    totals: dict[str, int]
    this_run: dict[str, int]
    backlog: int
    pending_records: int
    elapsed: float

    def count(self, name: str) -> int:
        """A cumulative counter (0 when never bumped)."""
        return int(self.totals.get(name, 0))

    @property
    def records(self) -> dict[str, int]:
        """Records by outcome; ``pending`` are records whose events are not all settled yet.

        ``delivered``: one of the record's events reached the receiver; ``superseded``: all its
        events were, as the event line says, replaced by a newer version or already at the receiver.
        """
        names = ("delivered", "superseded", "rejected", "filtered", "duplicate", "stale")
        out = {"read": self.count("records_read"), **{n: self.count(f"records_{n}") for n in names}}
        out["pending"] = self.pending_records
        return out

    @property
    def events(self) -> dict[str, int]:
        """Event units: produced (new + update + duplicate) and how the sent ones ended."""
        keys = ("new", "update", "duplicate", "stale", "delivered", "dead_lettered", "superseded", "filtered", "partial")
        return {k: self.count(f"events_{k}") for k in keys}

    @property
    def adds_up(self) -> bool:
        """read == delivered + superseded + rejected + filtered + duplicate + stale + pending, and every queued event is settled or queued."""
        r = self.records
        records_ok = r["read"] == r["delivered"] + r["superseded"] + r["rejected"] + r["filtered"] + r["duplicate"] + r["stale"] + r["pending"]
        queued = sum(self.count(f"{k}_{d}") for k in ("events", "bespoke") for d in ("new", "update"))
        settled = sum(self.count(f"{k}_{d}") for k in ("events", "bespoke") for d in ("delivered", "dead_lettered", "superseded"))
        return records_ok and (settled == queued if self.backlog == 0 else settled <= queued)

    @property
    def clean(self) -> bool:
        """Complete (or stopped by ``max_records``), nothing rejected or dead-lettered, nothing left waiting."""
        return (self.status in ("complete", "stopped") and self.count("records_rejected") == 0 and self.backlog == 0
                and self.pending_records == 0)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input_id, "status": self.status, "records": self.records, "events": self.events,
                "adds_up": self.adds_up, "backlog": self.backlog, "elapsed_seconds": round(self.elapsed, 3),
                "totals": dict(sorted(self.totals.items())), "this_run": dict(sorted(self.this_run.items()))}


def record_outcome(record: Any) -> str:
    """The counter of a record whose last event settled: rejected if one failed, delivered if one
    reached the receiver, else superseded (every event was replaced by a newer version of its PK,
    or was already at the receiver), so a record is never "delivered" in a pass that sent none of it."""
    if record.failed:
        return "records_rejected"
    return "records_delivered" if record.delivered else "records_superseded"
