"""Profile events are deltas: merge them with the last known profile, complete partial updates.

Events whose primary key is the customer alone (``ootb_registration``, ``ootb_user_details_update``)
describe one customer's profile, and a source often sends only what changed (a PAM's
``PLAYER_UPDATED`` with the new city). The receiver keeps one event per PK, so the later of two
such events would replace the earlier and lose its fields (a self-exclusion flag followed by a
change of mobile number). So for these events the tool keeps the customer's **last known
profile** (``{param: [value, version, event that wrote it]}``) and every event is merged into it before it is sent:

* the event's fields win over the known ones, field by field; a field the event does not carry
  keeps its known value, so the body sent is the cumulative profile and no field is lost;
* with a rule ``version:``, a field is only overwritten by a version at least as high as the one
  that wrote it (an older update that arrives late still fills fields newer ones never set);
  an update none of whose fields is newer than what is known is ``stale``;
* the channel params a mapping's ``channels`` make mandatory are, on the completable events
  (choice ``profile_deltas.completable``: ``ootb_user_details_update``), taken from the known
  profile when the update does not carry them; if the profile does not know them either (cold
  start: the customer registered before go-live), the ``partial_profiles`` policy decides:
  ``send`` what is known (counted as ``partial``) or ``reject`` (``profile_unknown``).

An explicit null is a value like any other here: the mapping's null policy decided before (a
dropped null leaves the field to the known profile, a kept null clears it).

Where the profile is kept is the caller's: the delivery state for ``run`` (durable, bounded by
retention), a bounded in-memory map for ``map`` (earlier records of the same input).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from ..catalog.model import Catalog, EventDef
from ..outcomes import OotbEvent, Rejection
from .versioning import compare_versions

__all__ = ["ProfileStore", "MemoryProfiles", "ProfileMerger", "Merged", "delta_settings", "PARTIAL_POLICIES"]

PARTIAL_POLICIES = ("send", "reject")
_TIME = "@timestamp"  # the envelope's time, merged like a field


class ProfileStore(Protocol):
    """Where the last known profile of each customer lives (``key`` identifies the customer)."""

    def get(self, key: Any) -> dict[str, list] | None: ...

    def put(self, key: Any, fields: dict[str, list]) -> None: ...


class MemoryProfiles:
    """Profiles of the most recent ``limit`` customers, in memory (``map``: earlier records of one input)."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._data: OrderedDict[Any, dict[str, list]] = OrderedDict()
        self._limit = limit

    def get(self, key: Any) -> dict[str, list] | None:
        return self._data.get(key)

    def put(self, key: Any, fields: dict[str, list]) -> None:
        self._data[key] = fields
        self._data.move_to_end(key)
        if len(self._data) > self._limit:
            self._data.popitem(last=False)


def delta_settings(catalog: Catalog) -> tuple[frozenset[str], frozenset[str], str]:
    """(events merged as deltas, events completed from the known profile, default cold-start policy)."""
    value = catalog.choices.get("profile_deltas", {}).get("value", {})
    merged = frozenset(value.get("events") or [k for k, e in catalog.events.items() if tuple(e.primary_key) == ("customer",)])
    return merged, frozenset(value.get("completable", ())), value.get("cold_start", "send")


@dataclass(frozen=True)
class Merged:
    """What merging one event gave: the event to send (or None), and how it ended."""

    status: str  # merged | partial | stale | rejected
    event: OotbEvent | None
    rejection: Rejection | None = None
    missing: tuple[str, ...] = ()


class ProfileMerger:
    """Merges profile events into the known profiles of ``store`` (see the module docstring)."""

    def __init__(self, catalog: Catalog, *, channels: tuple[str, ...], policy: str | None, store: ProfileStore,
                 key: Callable[[OotbEvent], Any] | None = None) -> None:
        merged, completable, default = delta_settings(catalog)
        self.events = merged
        self.policy = policy or default
        self.store = store
        self.key = key or (lambda e: (e.tenant, e.customer))
        # A param's catalog type per event: the same name may differ between the two events
        # (ootb_is_test is Yes/No on a registration, a boolean on an update), and a known value
        # only completes an event whose param has the type of the event that wrote it.
        self._types: dict[str, dict[str, tuple]] = {
            k: {p.key: (p.type, tuple(p.allowed or ())) for p in catalog.events[k].params.values()} for k in merged if k in catalog.events}
        wanted = set(channels)
        self._required: dict[str, tuple[str, ...]] = {
            k: tuple(p.key for p in catalog.events[k].params.values() if p.cls == "channel" and wanted.intersection(p.channels))
            for k in completable if k in catalog.events
        }

    def _fits(self, event: str, param: str, field: list) -> bool:
        """Whether a known ``field`` of ``param`` may complete ``event``: written by it, or by an event typing it alike."""
        writer = field[2] if len(field) > 2 else event
        return writer == event or self._types.get(writer, {}).get(param) == self._types[event][param]

    def applies(self, event: OotbEvent) -> bool:
        return event.event in self.events

    def merge(self, event: OotbEvent, source: str = "") -> Merged:
        """Merge ``event`` into its customer's known profile; the store is updated unless it is rejected."""
        key = self.key(event)
        known = self.store.get(key)
        fields = {k: list(v) for k, v in (known or {}).items()}
        version = event.version
        changed = False
        for name, value in ((_TIME, event.timestamp), *event.context.items()):
            old = fields.get(name)
            if old is not None and version is not None and old[1] is not None and compare_versions(version, old[1]) == -1:
                continue  # a newer version wrote this field (versions of other kinds: arrival order)
            changed = changed or old is None or old[0] != value or old[2:] != [event.event]
            fields[name] = [value, version, event.event]
        highest = _highest(known) if known else None
        if not changed and version is not None and highest is not None and compare_versions(version, highest) == -1:
            return Merged("stale", None)  # older than what is known, and brings nothing new
        types = self._types.get(event.event, {})
        context = {p: v[0] for p, v in fields.items() if p in types and self._fits(event.event, p, v)}
        missing = tuple(p for p in self._required.get(event.event, ()) if p not in context)
        if missing and self.policy == "reject":
            message = (f"{', '.join(missing)} required by {event.event} (channels) but this update does not carry "
                       f"{'it' if len(missing) == 1 else 'them'} and no earlier event of customer {event.customer!r} is known "
                       f"(cold start); partial_profiles: reject")
            return Merged("rejected", None, Rejection("profile_unknown", message, event.rule, event.event,
                                                     f"$.context.{missing[0]}", "", None, source), missing)
        self.store.put(key, fields)
        out = OotbEvent(event.tenant, event.event, event.customer, fields[_TIME][0], context, event.rule, event.pk,
                        _highest(fields))
        return Merged("partial" if missing else "merged", out, None, missing)


def _highest(fields: Mapping[str, list]) -> Any:
    best = None
    for field in fields.values():
        version = field[1]
        if version is not None and (best is None or compare_versions(version, best) == 1):
            best = version
    return best



class EventLines:
    """For ``map``: merge the profile events in written event lines with earlier ones of the same input.

    Applied to the event bytes in input order (after any worker processes), so the output is the
    same for any ``--workers``. ``map`` has no durable state, and the event lines carry no
    version, so here merging follows input order and nothing is refused: the cold-start policy and
    stale versions are ``run``'s decisions; a partial update is written and counted.
    """

    def __init__(self, mapper: Any) -> None:
        self.merger = ProfileMerger(mapper.catalog, channels=tuple(mapper.mapping.channels), policy="send", store=MemoryProfiles())
        names = {r.event for r in mapper.mapping.rules} & self.merger.events
        self.needles = tuple(b'"event":"' + n.encode() + b'"' for n in sorted(names))
        self.partial = 0

    def __bool__(self) -> bool:
        return bool(self.needles)

    def __call__(self, blob: bytes) -> bytes:
        if not any(n in blob for n in self.needles):
            return blob
        import orjson

        out = []
        for line in blob.splitlines(keepends=True):
            if not any(n in line for n in self.needles):
                out.append(line)
                continue
            d = orjson.loads(line)
            event = OotbEvent(d["tenant"], d["event"], d["customer"], d["timestamp"], d["context"])
            merged = self.merger.merge(event)
            self.partial += merged.status == "partial"
            m = merged.event
            out.append(orjson.dumps({"tenant": m.tenant, "event": m.event, "customer": m.customer, "timestamp": m.timestamp,
                                     "context": m.context}, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(out)
