"""Group items into batches: one open batch per rate class, sealed on size or linger time.

Optimove takes at most 10 events per request, and the profile class allows only 50 requests per
10 s, so every request should carry as many events as it can: an open batch waits up to
``linger`` seconds for more items before it is sealed half-full. The batcher is pure bookkeeping
(no I/O, injectable clock); the delivery loop persists open and sealed batches to the outbox in
the same transaction as the input checkpoint, so a batch that is still filling survives a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batch", "Batcher"]

Clock = Callable[[], float]


@dataclass(eq=False)
class Batch:
    """Items of one rate class that travel in one request.

    ``row_id`` is the batch's outbox row once stored; ``sealed`` batches are ready to send and
    never grow again.
    """

    rate_class: str
    items: list[Any]
    opened_at: float
    row_id: int | None = None
    sealed: bool = False

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Batcher:
    """Fill one open batch per rate class; seal it when full or when it has lingered too long.

    :param max_size: items per batch, per rate class (``default_size`` for classes not named).
    :param linger: seconds an open batch may wait for more items before it is sealed.
    """

    max_size: Mapping[str, int] = field(default_factory=dict)
    linger: float = 1.0
    default_size: int = 10
    clock: Clock = time.monotonic
    _open: dict[str, Batch] = field(default_factory=dict, init=False, repr=False)
    _changed: dict[int, Batch] = field(default_factory=dict, init=False, repr=False)
    _sizes: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # size_of, asked once per event

    def size_of(self, rate_class: str) -> int:
        """The most items one batch of ``rate_class`` may hold."""
        size = self._sizes.get(rate_class)
        if size is None:
            size = self._sizes[rate_class] = max(1, int(self.max_size.get(rate_class, self.default_size)))
        return size

    def add(self, rate_class: str, item: Any) -> Batch | None:
        """Put ``item`` in the open batch of its class; return that batch if this filled and sealed it."""
        batch = self._open.get(rate_class)
        if batch is None:
            batch = self._open[rate_class] = Batch(rate_class, [], self.clock())
        batch.items.append(item)
        self._changed[id(batch)] = batch
        if len(batch.items) >= self.size_of(rate_class):
            return self._seal(batch)
        return None

    def adopt(self, batch: Batch) -> None:
        """Take back an open batch stored by an earlier run (it keeps filling where it stopped)."""
        if batch.sealed or len(batch) >= self.size_of(batch.rate_class):
            raise ValueError("only an open, not-full batch can be adopted")
        # Its linger time restarts now: the clock of the earlier process means nothing here.
        batch.opened_at = self.clock()
        self._open[batch.rate_class] = batch

    def due(self) -> list[Batch]:
        """Seal and return the open batches that have waited ``linger`` seconds or more."""
        now = self.clock()
        return [self._seal(b) for b in list(self._open.values()) if now - b.opened_at >= self.linger]

    def next_due_in(self) -> float | None:
        """Seconds until the oldest open batch lingers out (``None`` when nothing is open)."""
        if not self._open:
            return None
        now = self.clock()
        return max(0.0, min(b.opened_at + self.linger - now for b in self._open.values()))

    def flush(self) -> list[Batch]:
        """Seal and return every open batch (end of input)."""
        return [self._seal(b) for b in list(self._open.values())]

    def open_batches(self) -> list[Batch]:
        """The batches still filling, one per class at most."""
        return list(self._open.values())

    def take_changed(self) -> list[Batch]:
        """The batches that gained items or were sealed since the last call (to be persisted)."""
        changed = list(self._changed.values())
        self._changed.clear()
        return changed

    def _seal(self, batch: Batch) -> Batch:
        batch.sealed = True
        if self._open.get(batch.rate_class) is batch:
            del self._open[batch.rate_class]
        self._changed[id(batch)] = batch
        return batch
