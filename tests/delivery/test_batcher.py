"""The batcher: ≤ N items per batch, one open batch per rate class, sealed on size or linger."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.delivery.batcher import Batch, Batcher


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["profile", "default"]), max_size=120))
def test_batches_never_exceed_size_and_never_mix_classes(classes):
    b = Batcher({"profile": 10, "default": 10}, linger=1.0, clock=FakeClock())
    sealed = [x for i, c in enumerate(classes) if (x := b.add(c, (c, i))) is not None]
    sealed += b.flush()
    assert all(1 <= len(x) <= 10 for x in sealed)
    assert all(all(item[0] == x.rate_class for item in x.items) for x in sealed)
    assert sorted(i for x in sealed for _, i in x.items) == list(range(len(classes)))  # nothing lost or doubled
    # Full batches except at most one partial per class.
    for c in ("profile", "default"):
        partial = [x for x in sealed if x.rate_class == c and len(x) < 10]
        assert len(partial) <= 1


def test_seals_on_size():
    b = Batcher({"default": 3}, clock=FakeClock())
    assert b.add("default", 1) is None
    assert b.add("default", 2) is None
    full = b.add("default", 3)
    assert full is not None and full.sealed and full.items == [1, 2, 3]
    assert b.open_batches() == []


def test_seals_on_linger():
    clock = FakeClock()
    b = Batcher({"default": 10}, linger=0.5, clock=clock)
    b.add("default", "a")
    clock.t = 0.3
    b.add("profile", "b")
    assert b.due() == [] and b.next_due_in() == pytest.approx(0.2)
    clock.t = 0.5
    due = b.due()
    assert [x.items for x in due] == [["a"]]
    assert [x.rate_class for x in b.open_batches()] == ["profile"]
    clock.t = 0.8
    assert [x.items for x in b.due()] == [["b"]]
    assert b.next_due_in() is None


def test_take_changed_reports_each_touched_batch_once():
    b = Batcher({"default": 2}, clock=FakeClock())
    b.add("default", 1)
    b.add("default", 2)
    b.add("default", 3)
    changed = b.take_changed()
    assert sorted(len(x) for x in changed) == [1, 2]
    assert b.take_changed() == []


def test_adopted_batch_keeps_filling():
    clock = FakeClock()
    b = Batcher({"default": 3}, linger=1.0, clock=clock)
    clock.t = 100.0
    old = Batch("default", [1, 2], opened_at=0.0, row_id=7)
    b.adopt(old)
    assert b.due() == []  # the linger restarts at adoption
    full = b.add("default", 3)
    assert full is old and full.items == [1, 2, 3] and full.row_id == 7


def test_adopting_a_full_or_sealed_batch_is_a_mistake():
    b = Batcher({"default": 2}, clock=FakeClock())
    with pytest.raises(ValueError):
        b.adopt(Batch("default", [1, 2], 0.0))
