"""Per-PK version order against the real sandbox on loopback (issue #10, "found by an independent receiver").

A PK with two versions read twice: the receiver must end with the newer one. The sandbox answers
slowly after storing (``reply_delay``), and the input is a FIFO fed a line at a time, so the newer
version is read while the older one is in flight: the interleaving that once left the older one
at the receiver.
"""

from __future__ import annotations

import os
import threading
import time

import orjson
import pytest

from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state

AT = "2025-03-01T12:00:00Z"


pytestmark = pytest.mark.usefixtures("optimove_token")  # sandbox and token: conftest.py


def deposit(amount: float) -> dict:
    return {"type": "deposit", "player": 7, "tx": "T1", "amount": amount, "currency": "EUR", "at": AT}


def feed_fifo(path, lines, gap):
    """Write ``lines`` into the FIFO at ``path`` one at a time, ``gap`` seconds apart."""
    def writer():
        with open(path, "wb", buffering=0) as fh:
            for i, line in enumerate(lines):
                if i:
                    time.sleep(gap)
                fh.write(orjson.dumps(line) + b"\n")

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    return t


def run_pass(sandbox, tmp_path, mapper, catalog, lines, *, gap=0.6):
    from ebi_mapper.plugins import make_registry

    fifo = tmp_path / "in.fifo"
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    writer = feed_fifo(fifo, lines, gap)
    sink = make_registry(entry_points=False).sink("optimove").factory({"url": sandbox.endpoint, "timeout": 5.0, "trust_env": False})
    opts = DeliveryOptions(linger=0.0, chunk_size=1, concurrency=4, seed=1, retry=RetryPolicy(base_delay=0.02, max_delay=0.2))
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=sink, options=opts)
        try:
            summary = loop.run_input(make_source(str(fifo)))
        finally:
            loop.close()
            sink.close()
    writer.join(5)
    return summary


def stored_amount(sandbox):
    events = sandbox.events(event="ootb_deposit")
    assert len(events) == 1
    return events[0]["data"]["context"]["ootb_deposit_amount"]


@pytest.mark.parametrize("faults", [
    {"reply_delay": 1.0},  # answers a second after storing
    {"reply_delay": 0.3, "500_after_store": 0.5, "seed": 3},  # and half the time fails after storing
], ids=["slow", "slow-and-500-after-store"])
def test_rerun_of_two_versions_leaves_the_newer_at_a_slow_receiver(sandbox, tmp_path, mapper, catalog, faults):
    lines = [deposit(10.0), deposit(20.0)]
    first = run_pass(sandbox, tmp_path, mapper, catalog, lines)
    assert first.adds_up and stored_amount(sandbox) == 20.0
    sandbox.set_faults(faults)
    second = run_pass(sandbox, tmp_path, mapper, catalog, lines)
    assert second.adds_up, second.to_dict()
    assert stored_amount(sandbox) == 20.0, second.to_dict()
