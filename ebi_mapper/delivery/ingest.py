"""Turn input records into dedup decisions, outbox items, dead letters and counts.

Everything here runs inside the caller's state transaction (one per chunk), together with the
checkpoint, so a chunk is either wholly committed or not at all.

Record outcomes decided here (see docs/delivery.md for the full accounting):

* a line that is not JSON, or a record with any mapping rejection → ``rejected`` now (dead
  letter with the reasons and the original payload); its valid events still go out;
* a record with at least one new or changed event or bespoke row → *pending* until every one of
  them is acknowledged (→ ``delivered``) or one is dead-lettered (→ ``rejected``);
* otherwise, if something it produced was older than a version already seen for its PK (a rule's
  ``version:``, see versions.py) → ``stale``;
* otherwise, if something it produced was already sent with the same content → ``duplicate``;
* otherwise (no rule matched, pre-go-live, bespoke route ``drop``, nothing produced) → ``filtered``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..engine.timestamps import DST_LOG
from ..outcomes import OotbEvent, RecordResult, Rejection
from .batcher import Batch, Batcher
from .rateplan import BESPOKE_CLASS, RatePlan
from .source import InputRecord
from .state import OutboxItem, StateStore
from .units import Prepared, event_unit, gc_paused, map_records, prepare, sighting_time
from .versions import VersionGate, make_profile_merger, merge_profile

__all__ = ["MapperLike", "Ingestor", "COUNTER_NAMES", "REQUEST_COUNTERS", "sighting_time"]

# Every counter the delivery loop keeps per input (cumulative across resumed runs).
COUNTER_NAMES = (
    "records_read", "records_delivered", "records_rejected", "records_filtered", "records_duplicate", "records_stale",
    "records_superseded",
    "events_new", "events_update", "events_duplicate", "events_delivered", "events_dead_lettered", "events_superseded",
    "events_filtered", "events_stale", "events_partial", "rejections",
    "bespoke_new", "bespoke_update", "bespoke_duplicate", "bespoke_dropped", "bespoke_delivered",
    "bespoke_dead_lettered", "bespoke_superseded",
)
# Counted per invocation only (a request may carry events of several inputs).
REQUEST_COUNTERS = ("requests_ok", "requests_retry", "requests_throttled", "requests_rejected", "batches_split")


class MapperLike(Protocol):
    """What the loop needs of the engine's ``Mapper``."""

    def map_record(self, payload: Any, *, source: str = "", now: datetime | None = None) -> RecordResult: ...


@dataclass
class Ingestor:
    """Feeds records through mapping and dedup into the batcher; persists batches and dead letters.

    :param bespoke_route: the bespoke sink's name, or ``None`` when bespoke rows are dropped.
    """

    state: StateStore
    mapper: MapperLike
    plan: RatePlan
    batcher: Batcher
    bespoke_route: str | None
    wall: Callable[[], float]
    versions: VersionGate = field(init=False)
    profiles: Any = field(init=False)  # engine.profiles.ProfileMerger, or None for a mapper without a mapping
    # Set by the loop for a chunk whose events may go straight to the sink (direct.py):
    # (pending rows, their items, dedup entries, counts, now) -> (the bespoke items left for the
    # batcher, the records it settled).
    direct: Callable[[list, list, dict, Counter, float], tuple[list[tuple[str, OutboxItem]], list[tuple[str, str]]]] | None = field(
        init=False, default=None)

    def __post_init__(self) -> None:
        self.versions = VersionGate(self.state)
        mapping, catalog = getattr(self.mapper, "mapping", None), getattr(self.mapper, "catalog", None)
        # A profile's sighting is its newest event time: it expires with the dedup retention (retention.py).
        seen = lambda fields: sighting_time((fields.get("@timestamp") or [""])[0], self.wall())  # noqa: E731
        self.profiles = make_profile_merger(self.state, mapping, catalog, seen) if mapping is not None and catalog is not None else None

    def ingest(self, records: Iterable[InputRecord], input_id: str, counts: Counter, now_dt: datetime) -> list[tuple[str, str]]:
        """Map, dedup and queue ``records`` (inside a transaction), counting into ``counts``.

        Returns ``(source, outcome counter)`` of the records settled here (nothing of theirs was
        queued), for the loop's ``on_settled`` hook.

        The whole chunk goes through each step together (one ``map_many``, one dedup decision
        for all its events, one insert of its pending records), so the state statements per chunk
        are a small constant and the outcome is the same as record by record.
        """
        with gc_paused():
            return self._ingest(records, input_id, counts, now_dt)

    def _ingest(self, records: Iterable[InputRecord], input_id: str, counts: Counter, now_dt: datetime) -> list[tuple[str, str]]:
        now = self.wall()
        DST_LOG.take()  # counts left by anything else in this process are not this batch's
        records = list(records)
        settled: list[tuple[str, str]] = []
        # Records the mapping process (premap.py) did not prepare are mapped here, all together.
        fresh = iter(self.prepare_all([rec for rec in records if rec.error is None and rec.prepared is None], now_dt))
        mapped: list[tuple[InputRecord, list[dict], list, int]] = []
        units: list[tuple[bytes, bytes, float]] = []
        for rec in records:
            counts["records_read"] += 1
            if rec.error is not None:
                reason = {"code": rec.code or "malformed", "message": rec.error, "source": rec.source}
                self.state.add_dead_letter(input_id=input_id, source=rec.source, kind=rec.dead_letter_kind, reasons=[reason],
                                           payload=None, raw=rec.raw, now=now)
                counts["records_rejected"] += 1
                counts["rejections"] += 1
                settled.append((rec.source, "records_rejected"))
                continue
            prepared = rec.prepared if rec.prepared is not None else next(fresh)
            if prepared.dst:  # local times the dst policy settled in the mapping process
                counts.update({f"dst_{kind}": n for kind, n in prepared.dst.items() if n})
            rejections, record_units, stale = self._units(rec, prepared, counts, now)
            mapped.append((rec, rejections, record_units, stale))
            units.extend((pk, ch, now if seen is None else seen) for _, _, pk, ch, seen, _ in record_units)
        known: dict[bytes, tuple[bytes, bytes | None]] = {}  # each PK's dedup entry once decided (for the direct path)
        direct = self.direct is not None and any(mapped)
        decisions = iter(self.state.dedup_decide_many(units, now, known if direct else None, write=not direct))
        pending_rows: list[tuple[str, str, bytes | None, int, bool]] = []
        to_queue: list[list[tuple[str, OutboxItem]]] = []
        for rec, rejections, record_units, stale in mapped:
            queued, outcome = self._decide(rec, rejections, record_units, stale, decisions, input_id, counts, now)
            if outcome is not None:
                settled.append((rec.source, outcome))
            if queued:
                pending_rows.append((input_id, rec.source, rec.raw, len(queued), bool(rejections)))
                to_queue.append(queued)
        if direct:  # writes the dedup decisions too, with what the sink acknowledged
            left, done = self.direct(pending_rows, to_queue, known, counts, now)  # type: ignore[misc]  # set when direct
            settled.extend(done)
            for rate_class, item in left:  # what it did not send comes back (bespoke rows, busy classes)
                self.batcher.add(rate_class, item)
        else:
            for pending_id, queued in zip(self.state.add_pending_many(pending_rows), to_queue, strict=True):
                for rate_class, item in queued:
                    self.batcher.add(rate_class, OutboxItem(item.pk_hash, item.content_hash, pending_id, item.body))
        for kind, n in DST_LOG.take().items():  # local times the dst policy settled (as map's summary counts them)
            if n:
                counts[f"dst_{kind}"] += n
        return settled

    def stateful(self, event: OotbEvent) -> bool:
        """Whether ``event`` needs the state before it is a unit: a profile delta, or a source version."""
        return event.version is not None or (self.profiles is not None and self.profiles.applies(event))

    def prepare_all(self, records: list[InputRecord], now_dt: datetime) -> list[Prepared]:
        """Map ``records`` and prepare what they produced (units.py): all that needs no state.

        The mapping process (premap.py) calls this very method on its copy of the ingestor."""
        if not records:
            return []
        results = map_records(self.mapper, [r.payload for r in records], [r.source for r in records], now_dt)
        class_of, bespoke, stateful = self.plan.class_of, self.bespoke_route is not None, self.stateful
        key = self.state.pk_key
        return [prepare(result, class_of, bespoke, stateful, key) for result in results]

    def _units(self, rec: InputRecord, prepared: Prepared, counts: Counter, now: float) -> tuple[list[dict], list, int]:
        """The record's rejections (with any version refusals added), its units and how many were stale.

        Units (units.py): events in order, then bespoke rows. Events that need the state (profile
        deltas, source versions) become units here; the others come prepared.
        """
        counts["events_filtered"] += prepared.filtered
        counts["rejections"] += len(prepared.rejections)
        counts["bespoke_dropped"] += prepared.dropped
        units = []
        stale = 0
        refused: list[Rejection] = []
        for event in prepared.events:
            if type(event) is tuple:  # a unit already
                units.append(event)
                continue
            merged = merge_profile(self.profiles, event, rec.source)  # profile deltas: merged field by field
            if merged is not None:
                if merged.status in ("stale", "partial"):
                    counts[f"events_{merged.status}"] += 1
                if merged.event is None:
                    stale += merged.status == "stale"
                    if merged.rejection is not None:
                        refused.append(merged.rejection)
                    continue
                event = merged.event
            if merged is None and event.version is not None and event.pk:
                verdict, why = self.versions.admit(self.state.pk_key(event.event, event.pk), event, sighting_time(event.timestamp, now), rec.source)
                if verdict == "stale":  # an older version than one already seen: never sent
                    counts["events_stale"] += 1
                    stale += 1
                    continue
                if why is not None:
                    refused.append(why)
                    continue
            units.append(event_unit(event, self.plan.class_of, sighting_time(event.timestamp, now), self.state.pk_key))
        rejections = prepared.rejections
        if refused:
            rejections = [*rejections, *(r.to_dict() for r in refused)]
            counts["rejections"] += len(refused)
        units.extend(prepared.bespoke)
        return rejections, units, stale

    def _decide(self, rec: InputRecord, rejections: list[dict], units: list, stale: int, decisions: Iterator[str],
                input_id: str, counts: Counter, now: float) -> tuple[list[tuple[str, OutboxItem]], str | None]:
        queued: list[tuple[str, OutboxItem]] = []
        duplicates = 0
        for prefix, rate_class, pk, ch, _, body in units:
            decision = next(decisions)
            counts[f"{prefix}_{decision}"] += 1
            if decision == "duplicate":
                duplicates += 1
            else:
                queued.append((rate_class, OutboxItem(pk, ch, None, body)))
        rejected = bool(rejections)
        if rejected:
            self.state.add_dead_letter(input_id=input_id, source=rec.source, kind="mapping",
                                       reasons=rejections, payload=rec.payload, now=now, replaces=rec.ref)
            counts["records_rejected"] += 1
        if queued:
            return queued, None  # settles when its last event does
        outcome = "records_rejected" if rejected else "records_stale" if stale else "records_duplicate" if duplicates else "records_filtered"
        if not rejected:
            counts[outcome] += 1
        return queued, outcome

    def persist_batches(self, *, flush: bool = False) -> int:
        """Store the batches that changed (sealing lingered ones, or all with ``flush``); return how many were sealed."""
        sealed = self.batcher.flush() if flush else self.batcher.due()
        now = self.wall()
        for batch in self.batcher.take_changed():
            self._save(batch, now)
        return len(sealed)

    def _save(self, batch: Batch, now: float) -> None:
        kind = "bespoke" if batch.rate_class == BESPOKE_CLASS else "events"
        batch.row_id = self.state.save_batch(rate_class=batch.rate_class, kind=kind, items=batch.items,
                                             sealed=batch.sealed, now=now, row_id=batch.row_id)
