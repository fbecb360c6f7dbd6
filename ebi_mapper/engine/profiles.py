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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..catalog.model import Catalog
from ..outcomes import OotbEvent, Rejection
from ..rejection_codes import rejection
from .versioning import compare_versions

__all__ = ["ProfileStore", "MemoryProfiles", "ProfileMerger", "Merged", "delta_settings", "PARTIAL_POLICIES"]

PARTIAL_POLICIES = ("send", "reject")
_TIME = "@timestamp"  # the envelope's time, merged like a field


class ProfileStore(Protocol):
    """Where the last known profile of each customer lives (``key`` identifies the customer)."""

    def get(self, key: Any) -> dict[str, Any] | None: ...

    def put(self, key: Any, fields: dict[str, Any]) -> None: ...


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

    def _fits(self, event: str, param: str, field: Sequence[Any]) -> bool:
        """Whether a known ``field`` of ``param`` may complete ``event``: written by it, or by an event typing it alike."""
        writer = field[2] if len(field) > 2 else event
        return writer == event or self._types.get(writer, {}).get(param) == self._types[event][param]

    def applies(self, event: OotbEvent) -> bool:
        return event.event in self.events

    def merge(self, event: OotbEvent, source: str = "") -> Merged:
        """Merge ``event`` into its customer's known profile; the store is updated unless it is rejected."""
        key = self.key(event)
        known = self.store.get(key) or {}
        version, writer = event.version, event.event
        updates: dict[str, Sequence[Any]] = {}
        changed = False
        for name, value in ((_TIME, event.timestamp), *event.context.items()):
            old = known.get(name)
            if old is None:
                changed = True
            elif version is not None and old[1] is not None and compare_versions(version, old[1]) == -1:
                continue  # a newer version wrote this field (versions of other kinds: arrival order)
            else:
                same_writer = len(old) > 2 and old[2] == writer
                if old[0] == value and old[1] == version and same_writer:
                    continue  # known exactly so
                changed = changed or old[0] != value or not same_writer
            # A tuple: once its items are plain values the cyclic GC stops tracking it, so a big
            # store of profiles (map keeps up to a million) costs collections nothing.
            updates[name] = (value, version, writer)
        if not changed and version is not None and known:
            highest = _highest(known)
            if highest is not None and compare_versions(version, highest) == -1:
                return Merged("stale", None)  # older than what is known, and brings nothing new
        fields = {**known, **updates} if updates else known
        types = self._types.get(writer, {})
        context = {}
        for p, v in fields.items():
            if p in types and (v[2] == writer or self._fits(writer, p, v)):
                context[p] = v[0]
        missing = tuple(p for p in self._required.get(event.event, ()) if p not in context)
        if missing and self.policy == "reject":
            refused = rejection("profile_unknown", params=", ".join(missing), pronoun="it" if len(missing) == 1 else "them",
                                customer=event.customer, rule=event.rule, event=event.event, field=f"$.context.{missing[0]}", source=source)
            return Merged("rejected", None, refused, missing)
        if fields is not known:
            self.store.put(key, fields)
        out = OotbEvent(event.tenant, event.event, event.customer, fields[_TIME][0], context, event.rule, event.pk,
                        _highest(fields))
        return Merged("partial" if missing else "merged", out, None, missing)


def _highest(fields: Mapping[str, Sequence[Any]]) -> Any:
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
        import re

        self.merger = ProfileMerger(mapper.catalog, channels=tuple(mapper.mapping.channels), policy="send", store=MemoryProfiles())
        names = sorted({r.event for r in mapper.mapping.rules} & self.merger.events)
        # The writer's lines are compact JSON: `"event":"<name>"` marks a profile event's line (a
        # quote inside a JSON string is escaped, so it cannot occur in a value).
        self.pattern = re.compile(b'"event":"(?:' + b"|".join(re.escape(n.encode()) for n in names) + b')"') if names else None
        self.partial = 0

    def __bool__(self) -> bool:
        return self.pattern is not None

    def __call__(self, blob: bytes) -> bytes:
        """``blob`` (whole JSON lines) with each profile event's line replaced by its merged form; only those lines are touched."""
        out, pos = [], 0
        if self.pattern is None:  # no profile events in this mapping
            return blob
        for match in self.pattern.finditer(blob):
            start = blob.rfind(b"\n", 0, match.start()) + 1
            if start < pos:
                continue
            end = blob.find(b"\n", match.end())
            end = len(blob) if end < 0 else end + 1
            out.append(blob[pos:start])
            out.append(self._merged(blob[start:end]))
            pos = end
        if not out:
            return blob
        out.append(blob[pos:])
        return b"".join(out)

    def _merged(self, line: bytes) -> bytes:
        import orjson

        d = orjson.loads(line)
        merged = self.merger.merge(OotbEvent(d["tenant"], d["event"], d["customer"], d["timestamp"], d["context"]))
        self.partial += merged.status == "partial"
        m = merged.event
        if m is None:  # never here: without versions or a cold-start policy nothing is refused or stale
            return line
        return orjson.dumps({"tenant": m.tenant, "event": m.event, "customer": m.customer, "timestamp": m.timestamp,
                             "context": m.context}, option=orjson.OPT_APPEND_NEWLINE)
