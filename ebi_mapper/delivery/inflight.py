"""Per-PK order of sending: one version of a PK in flight at a time, and what the receiver may hold.

Two rules keep a receiver that stores one version per PK from ending with an older version:

1. **One version of a PK in flight at a time.** A batch holding a PK whose other batch is still
   being sent waits until that send is settled (:class:`PkGate`). Without it, a newer version
   could be skipped as "already at the receiver" (or acknowledged) while an older one in flight
   lands after it.
2. **The receiver's content is unknown after a send that was not acknowledged.** A batch that
   was sent and then failed (a 500 after storing, a timeout, a dropped connection), or that was
   in the outbox when a process died, may have been stored. Its PKs' acknowledged content is
   then forgotten (:func:`forget_acknowledged`), so a version equal to the one acknowledged
   earlier is sent again instead of being skipped as already there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .state import OutboxItem, OutboxRow, StateStore

__all__ = ["PkGate", "forget_acknowledged", "forget_acknowledged_of_outbox", "superseded"]


def superseded(current: tuple[bytes, bytes | None] | None, content: bytes) -> bool:
    """Whether an item of ``content`` is not to be sent, given its PK's ``(content committed, content acknowledged)``.

    Not sent: a newer version of the PK was committed after this one, or the receiver already
    acknowledged exactly this content (an input with A then B for one PK, read again, queues A
    and B again; A is superseded and B is already there). "Already acknowledged" is trustworthy
    while no other version of the PK is in flight (rule 1), and a send that was not acknowledged
    cleared it (rule 2).
    """
    return current is not None and (current[0] != content or current[1] == content)


class PkGate:
    """The PKs of the batches being sent now (a PK may be in several batches of one content)."""

    def __init__(self) -> None:
        self._busy: Counter[bytes] = Counter()

    def blocks(self, row: OutboxRow) -> bool:
        """Whether a PK of ``row`` is being sent in another batch right now."""
        busy = self._busy
        return bool(busy) and any(item.pk_hash in busy for item in row.items)

    def enter(self, row: OutboxRow) -> None:
        for item in row.items:
            self._busy[item.pk_hash] += 1

    def leave(self, row: OutboxRow) -> None:
        for item in row.items:
            left = self._busy[item.pk_hash] - 1
            if left > 0:
                self._busy[item.pk_hash] = left
            else:
                del self._busy[item.pk_hash]


def forget_acknowledged(state: StateStore, items: Iterable[OutboxItem]) -> None:
    """These items may have reached the receiver unacknowledged: forget what it was known to hold.

    Only PKs whose acknowledged content differs from the item's are touched (if they are equal,
    the receiver holds that content either way). Runs inside the caller's transaction.
    """
    state.dedup_unknown_at_receiver([(i.pk_hash, i.content_hash) for i in items])


def forget_acknowledged_of_outbox(state: StateStore) -> None:
    """At start-up: every batch a previous process left may have been sent before it stopped."""
    rows = state.outbox_items()
    if rows:
        with state.transaction():
            state.dedup_unknown_at_receiver(rows)
