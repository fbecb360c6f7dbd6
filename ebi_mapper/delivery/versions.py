"""Which version of a PK goes out: source versions, stale arrivals, merged profile deltas.

Decided at ingest, inside the chunk's transaction, before the content dedup (docs/delivery.md,
"Versions of one PK"):

* **Source versions.** For an event of a rule with ``version:`` the highest version seen for its
  PK is kept in the state (``pk_versions``, durable, so a v1 redelivered after v2 is stale even
  in a later run). A lower version is ``stale``: counted, never queued, never sent. An equal
  version goes on to the content dedup (identical → duplicate, changed → update: input order).
  A version of another kind than the stored one (a number after a time) cannot be ordered: the
  event is refused with ``version_incomparable``, kept as a dead letter for a replay.
* **Profile deltas** (engine/profiles.py): events keyed by the customer alone are merged into the
  customer's last known profile (``profiles``), which also completes partial updates.

Without ``version:`` nothing here applies to an event except the profile merge, and input order
decides, as the content dedup always did.
"""

from __future__ import annotations

from typing import Any

from ..engine.profiles import Merged, ProfileMerger
from ..engine.versioning import compare_versions, describe_version
from ..outcomes import OotbEvent, Rejection
from ..rejection_codes import rejection
from .state import StateStore

__all__ = ["VersionGate", "StateProfiles", "make_profile_merger"]


class VersionGate:
    """Admits a versioned event only if its version is not below the highest seen for its PK."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    def admit(self, pk: bytes, event: OotbEvent, seen: float, source: str = "") -> tuple[str, Rejection | None]:
        """``("newer" | "same" | "stale", None)`` or ``("incomparable", rejection)``; stores a higher version."""
        known = self.state.version_get(pk)
        if known is None:
            self.state.version_put(pk, event.version, seen)
            return "newer", None
        order = compare_versions(event.version, known)
        if order is None:
            return "incomparable", rejection("version_incomparable", version=describe_version(event.version), known=describe_version(known),
                                             rule=event.rule, event=event.event, field="version", value=describe_version(event.version), source=source)
        if order < 0:
            return "stale", None
        if order > 0:
            self.state.version_put(pk, event.version, seen)
            return "newer", None
        return "same", None


class StateProfiles:
    """Known profiles kept in the delivery state (one row per customer); ``seen(fields)`` is the sighting time retention uses."""

    def __init__(self, state: StateStore, seen) -> None:
        self.state = state
        self.seen = seen

    def get(self, key: Any) -> dict[str, list] | None:
        return self.state.profile_get(key)

    def put(self, key: Any, fields: dict[str, list]) -> None:
        self.state.profile_put(key, fields, self.seen(fields))


def make_profile_merger(state: StateStore, mapping: Any, catalog: Any, seen) -> ProfileMerger:
    """The merger of profile deltas for ``run``: profiles live in the state, keyed by a hash of the customer."""
    return ProfileMerger(catalog, channels=tuple(mapping.channels), policy=mapping.partial_profiles,
                         store=StateProfiles(state, seen), key=lambda e: state.pk_key("profile", [e.tenant, e.customer]))


def merge_profile(merger: ProfileMerger | None, event: OotbEvent, source: str) -> Merged | None:
    """``merger.merge(event)`` for a profile event, ``None`` for any other (or without a merger)."""
    if merger is None or not merger.applies(event):
        return None
    return merger.merge(event, source)
