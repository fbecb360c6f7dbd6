"""A partition's entries are acknowledged in stream order only (scaleout/partition.py AckOrder).

Records settle out of order; acknowledging a later entry while an earlier one is unsettled would
let the next owner of the partition replay the older record after the newer version, and leave the
older one at the receiver. These tests pin the rule: whatever the order in which entries settle,
what is acknowledged is always a prefix of the entries read, each exactly once, and everything is
acknowledged once everything has settled.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ebi_mapper.scaleout.partition import AckOrder


def test_a_later_entry_waits_for_an_earlier_one() -> None:
    order = AckOrder()
    for entry_id in ("1-0", "2-0", "3-0"):
        order.read(entry_id)
    assert order.settle([("2-0", "delivered")]) == []  # 1-0 is still open: nothing may be acknowledged
    assert order.waiting == 1
    assert order.settle([("1-0", "superseded")]) == [("1-0", "superseded"), ("2-0", "delivered")]
    assert order.settle([("3-0", "filtered")]) == [("3-0", "filtered")]
    assert order.waiting == 0


def test_an_entry_marked_gone_is_acknowledged_with_the_next_settled_prefix() -> None:
    order = AckOrder()
    for entry_id in ("1-0", "2-0"):
        order.read(entry_id)
    order.mark("1-0", "gone")  # deleted from the stream while pending
    assert order.settle([("2-0", "delivered")]) == [("1-0", "gone"), ("2-0", "delivered")]


@given(st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(st.just(n), st.permutations(list(range(n))),
                        st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=n))))
def test_whatever_the_settle_order_only_a_prefix_is_acknowledged_and_all_in_the_end(case: tuple) -> None:
    n, settle_order, group_sizes = case
    ids = [f"{i + 1}-0" for i in range(n)]
    order = AckOrder()
    for entry_id in ids:
        order.read(entry_id)
    acked: list[str] = []
    settled: set[str] = set()
    k = 0
    sizes = iter(group_sizes * n)
    while k < n:
        group = [ids[i] for i in settle_order[k:k + next(sizes)]]
        k += len(group)
        settled.update(group)
        acked += [entry_id for entry_id, _ in order.settle([(g, "delivered") for g in group])]
        # Always a prefix of the stream, and never an entry with an unsettled one before it.
        assert acked == ids[:len(acked)]
        assert all(e in settled for e in acked)
        first_open = next((i for i, e in enumerate(ids) if e not in settled), n)
        assert len(acked) == first_open
    assert acked == ids
