"""The threaded reader hands every record over once, in order, never holds more than its capacity,
wakes the loop as soon as a record arrives, and gives back what was read but not taken when stopped."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.delivery.readers import ThreadedReader
from ebi_mapper.errors import DeliveryError


def _take_all(reader: ThreadedReader, sizes: list[int]) -> list:
    got: list = []
    k = 0
    while True:
        chunk, ended = reader.take(sizes[k % len(sizes)], 1.0)
        k += 1
        got.extend(chunk)
        if ended:
            return got


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 300), capacity=st.integers(2, 20), sizes=st.lists(st.integers(1, 50), min_size=1, max_size=5))
def test_every_record_once_in_order_and_never_more_than_the_capacity_waiting(n, capacity, sizes):
    peak = [0]
    held: list[ThreadedReader] = []
    started = threading.Event()

    def records():
        started.wait(5)  # the reader exists (its thread starts in its constructor)
        for i in range(n):
            peak[0] = max(peak[0], len(held[0]._buf))
            yield i

    reader = ThreadedReader(records(), capacity)
    held.append(reader)
    started.set()
    try:
        assert _take_all(reader, sizes) == list(range(n))
    finally:
        reader.close()
    assert peak[0] <= capacity


def test_the_loop_gets_a_record_as_soon_as_it_arrives():
    gate = threading.Event()

    def records():
        gate.wait(5)
        yield "late"

    reader = ThreadedReader(records(), 4)
    try:
        assert reader.take(10, 0.0) == ([], False)
        threading.Timer(0.2, gate.set).start()
        started = time.monotonic()
        chunk, ended = reader.take(10, 5.0)
        assert chunk == ["late"]
        assert time.monotonic() - started < 2.0  # woken by the record, not by the timeout
        assert ended or reader.take(10, 5.0) == ([], True)
    finally:
        reader.close()


def test_a_failing_input_is_reported_after_the_records_before_it():
    def records():
        yield 1
        yield 2
        raise OSError("disk gone")

    reader = ThreadedReader(records(), 10)
    got, ended = [], False
    with pytest.raises(DeliveryError, match="reading the input failed: disk gone"):
        while not ended:
            chunk, ended = reader.take(1, 1.0)
            got.extend(chunk)
    assert got == [1, 2]


def test_stop_gives_back_what_was_read_and_not_taken_and_reads_no_further():
    produced = []

    def records():
        for i in range(1000):
            produced.append(i)
            yield i

    reader = ThreadedReader(records(), 8)
    first, _ = reader.take(3, 1.0)
    deadline = time.monotonic() + 5
    while len(reader._buf) < 8 and time.monotonic() < deadline:  # the reader fills its buffer and waits
        time.sleep(0.01)
    left = reader.stop()
    assert first + left == list(range(len(first) + len(left)))
    assert len(produced) <= len(first) + len(left) + 1  # at most the record in its hand when stopped


def test_with_fill_a_bulk_input_comes_in_whole_chunks_and_a_trickle_waits_at_most_fill():
    """``fill``: once a record is there, the loop waits (up to ``fill``) for a whole chunk or the end,
    so a file read in bulk is cut into the same chunks whatever the threads' timing."""

    def bulk():
        for i in range(250):
            if i % 10 == 0:
                time.sleep(0.002)  # slower than the loop takes: without fill it would get bits
            yield i

    reader = ThreadedReader(bulk(), 300)
    sizes = []
    while True:
        chunk, ended = reader.take(100, 1.0, fill=2.0)
        if chunk:
            sizes.append(len(chunk))
        if ended:
            break
    assert sizes == [100, 100, 50]

    def trickle():
        yield 1
        time.sleep(5)
        yield 2

    reader = ThreadedReader(trickle(), 10)
    started = time.monotonic()
    chunk, ended = reader.take(100, 1.0, fill=0.3)
    assert chunk == [1] and not ended
    assert 0.25 <= time.monotonic() - started < 2.0  # waited for more, but not past fill
    reader.close()
