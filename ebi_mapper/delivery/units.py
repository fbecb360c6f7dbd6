"""The pure part of ingesting a record: map it and turn what it produced into dedup units.

Everything here depends only on the record and the compiled mapping, never on the delivery
state, so it runs wherever the mapping runs: in the loop's own thread, or in the mapping child
process of ``run`` (premap.py), which ships the :class:`Prepared` form to the loop. The loop
then does only what needs its state (ingest.py): profile deltas merged with the known profile,
source versions against the highest seen, the content dedup, the outbox.

A *unit* is ``(counter prefix, rate class, PK hash, content hash, sighting time, body)``: one
event or bespoke row as the dedup and the outbox see it. The sighting time is ``None`` when the
timestamp cannot be read; the loop puts its own clock there (as ``sighting_time`` would).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..outcomes import BespokeRow, OotbEvent, RecordResult
from ..rejection_codes import rejection
from .rateplan import BESPOKE_CLASS
from .state import PkKey, content_hash

__all__ = ["Unit", "Prepared", "sighting_time", "map_records", "event_unit", "bespoke_unit", "prepare", "gc_paused"]

Unit = tuple[str, str, bytes, bytes, "float | None", dict]


class Prepared(NamedTuple):
    """What one mapped record hands the loop (the same form in and out of the mapping process)."""

    filtered: int  # filtered events (``events_filtered``)
    rejections: list[dict]  # the mapping's rejections, as their dead-letter reasons
    events: list  # per event, in order: a Unit, or the OotbEvent itself when it needs the state (profile, version)
    bespoke: list  # bespoke rows as Units (none when bespoke rows are dropped)
    dropped: int  # bespoke rows dropped (no bespoke sink)
    dst: dict | None = None  # the DST_LOG counts of the mapping process's chunk (on its first record)


def sighting_time(timestamp: str, default: Any) -> Any:
    """The feed's time of an event (its envelope ``timestamp``) as epoch seconds; ``default`` if unreadable.

    Retention expires dedup entries by this clock, not the wall clock, so a backfill of a week
    read in minutes keeps a one-day window of PKs, as the live feed would (docs/delivery.md).
    Envelope times read ``YYYY-MM-DD HH:MM:SS.ffffff UTC``, bespoke rows ISO 8601 with ``Z``.
    """
    try:
        text = timestamp[:-4] if timestamp.endswith(" UTC") else timestamp
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError, AttributeError):
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def map_records(mapper: Any, payloads: Sequence[Any], sources: Sequence[str], now_dt: datetime) -> list[RecordResult]:
    """Map ``payloads`` (one ``map_many`` when the mapper has it); an engine failure rejects only its record."""
    many = getattr(mapper, "map_many", None)
    if many is not None:
        try:
            return many(payloads, now=now_dt, sources=sources)
        except Exception:  # noqa: BLE001 - find the record that broke the engine, below
            pass
    out = []
    for payload, source in zip(payloads, sources, strict=True):
        try:
            out.append(mapper.map_record(payload, source=source, now=now_dt))
        except Exception as exc:  # noqa: BLE001 - an engine bug must not stop the other records
            out.append(RecordResult(rejections=[rejection("internal_error", error_type=type(exc).__name__, error=exc, source=source)]))
    return out


def event_unit(event: OotbEvent, class_of: Callable[[str], str], seen: float | None, key: PkKey) -> Unit:
    """The unit of an event as sent; ``seen`` overrides the sighting time read from its timestamp.

    ``key``: the state's PK key (``StateStore.pk_key``).
    """
    body = event.to_dict()
    ch = content_hash(body)
    # An event without a catalog PK is keyed by its content.
    pk = key(event.event, event.pk) if event.pk else key(event.event, [ch.hex()])
    return ("events", class_of(event.event), pk, ch, sighting_time(event.timestamp, None) if seen is None else seen, body)


def bespoke_unit(row: BespokeRow, key: PkKey) -> Unit:
    # A bespoke row has no catalog PK: the customer's attributes at one moment from one rule.
    body = row.to_dict()
    return ("bespoke", BESPOKE_CLASS, key("bespoke:" + row.rule, [row.customer, row.timestamp]), content_hash(body),
            sighting_time(row.timestamp, None), body)


def prepare(result: RecordResult, class_of: Callable[[str], str], bespoke: bool, stateful: Callable[[OotbEvent], bool],
            key: PkKey) -> Prepared:
    """A record's result in the form the loop takes; events for which ``stateful`` holds stay events."""
    events = [e if stateful(e) else event_unit(e, class_of, None, key) for e in result.events]
    rows = [bespoke_unit(r, key) for r in result.bespoke] if bespoke else []
    return Prepared(len(result.filtered), [r.to_dict() for r in result.rejections], events, rows,
                    0 if bespoke else len(result.bespoke))


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a chunk's work, and restored after (whatever its state was).

    A chunk makes tens of thousands of small objects and no reference cycles, which reference
    counting frees on its own, while the collector would rescan the live ones every 700
    allocations: about a seventh of the loop's time on a file input, measured (as Mapper.map_many).
    A cycle made meanwhile (an exception's traceback) is collected once it is back on.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
