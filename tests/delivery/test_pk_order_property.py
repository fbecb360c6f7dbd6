"""Per-PK version order, proven over interleavings (issue #10 item 6).

Hypothesis draws an input (versions of a few PKs, in any arrival order, with repeats), a script of
receiver answers (ok, a failure before storing, a failure *after* storing, a slow ok, and a
process "death" right after storing) and whether the input is read a second time. The real
pipeline (DeliveryLoop, SQLite state on disk, worker threads) delivers it to a receiver that, like
Optimove and the sandbox, keeps one event per PK; a death stops the loop, waits for its send
threads (a dead process sends nothing more) and a new loop reopens the state and resumes. Then:

* the receiver's final content for every PK is the input's highest version (the last one in
  input order among equal versions; without `version:`, the last in input order);
* no store of a PK ever follows an acknowledged newer version of it (without `version:`, within
  one pass over the input: a second pass's records arrive later, so they are the newer).

The same properties against the real sandbox over HTTP: tests/delivery/test_pk_order_sandbox.py.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retry import RetryPolicy
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state
from ebi_mapper.errors import DeliveryError
from ebi_mapper.extensions import SendResult

MAPPING = """
ebi_mapping: 1
client: order-proof
vertical: multi_sport_casino
tenant: 567
site_currency: EUR
rules:
  - name: deposit
    when: "type == 'deposit'"
    event: ootb_deposit
    customer: to_string(player)
    timestamp: at
    currency: currency
    {version}
    context:
      ootb_transaction_id: tx
      ootb_deposit_amount: amount
      ootb_deposit_timestamp: at
"""
AT = "2025-03-01T12:00:00Z"
_MAPPERS: dict = {}


def mapper(versioned: bool):
    if versioned not in _MAPPERS:
        from ebi_mapper import compile_mapping, load_mapping

        path = Path(tempfile.mkdtemp()) / "m.yaml"
        path.write_text(MAPPING.format(version="version: seq" if versioned else ""))
        _MAPPERS[versioned] = compile_mapping(load_mapping(path))
    return _MAPPERS[versioned]


class Died(DeliveryError):
    """The process "dies" right after the receiver stored a batch (raised from the sink, it stops the loop)."""


class Receiver:
    """Keeps one event per PK (the last stored), answers from a script, and checks the ack order."""

    def __init__(self, script):
        self.script = script
        self.calls = 0
        self.store: dict[tuple, dict] = {}
        self.acked: dict[tuple, int] = {}  # highest order acknowledged per PK
        self.violations: list[str] = []
        self.lock = threading.Lock()
        self.once: dict[int, str] = {}  # amount -> the answer its next store gets (fail_after or die), once

    @staticmethod
    def key(event):
        return event["customer"], event["context"]["ootb_transaction_id"]

    def send(self, batch):
        with self.lock:
            answer = self.script[self.calls % len(self.script)]
            if answer == "die" and self.calls >= len(self.script):
                answer = "ok"  # each death in the script happens once: a process dying on every retry never finishes
            self.calls += 1
        if answer == "fail_before":
            return SendResult("retry", reason="503 before storing", http_status=503)
        if answer == "slow":
            time.sleep(0.02)
        with self.lock:
            for event in batch:
                k, order = self.key(event), int(event["context"]["ootb_deposit_amount"]) // 1000
                if order < self.acked.get(k, -1):
                    self.violations.append(f"{k}: stored order {order} after order {self.acked[k]} was acknowledged")
                self.store[k] = event
        with self.lock:
            for event in batch:
                answer = self.once.pop(event["context"]["ootb_deposit_amount"], answer)
        if answer == "fail_after":
            return SendResult("retry", reason="500 after storing", http_status=500)
        if answer == "die":
            raise Died("the process died after the receiver stored the batch")
        with self.lock:
            for event in batch:
                k, order = self.key(event), int(event["context"]["ootb_deposit_amount"]) // 1000
                self.acked[k] = max(order, self.acked.get(k, -1))
        return SendResult("ok")

    def close(self):
        pass


def deliver(workdir: Path, src: Path, receiver: Receiver, versioned: bool) -> None:
    """Run the input to completion, restarting the loop on the state after every death."""
    from ebi_mapper.catalog import load_catalog

    opts = DeliveryOptions(linger=0.0, chunk_size=1, concurrency=3, seed=1,
                           retry=RetryPolicy(base_delay=0.001, max_delay=0.004, max_attempts=1000))
    for _ in range(200):
        with open_state(workdir / "state") as state:
            loop = DeliveryLoop(state=state, mapper=mapper(versioned), plan=make_rate_plan(load_catalog()), event_sink=receiver, options=opts)
            try:
                summary = loop.run_input(make_source(str(src)))
            except Died:
                continue  # the state is reopened by a new loop, as a restarted process would
            finally:
                loop._pool.shutdown(wait=True)  # a dead process sends nothing more: its sends are over
            assert summary.adds_up and summary.backlog == 0, summary.to_dict()
            return
    raise AssertionError("did not finish after 200 restarts")


records = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 1)), min_size=1, max_size=12)
answers = st.lists(st.sampled_from(["ok", "slow", "slow", "fail_before", "fail_after", "die"]), min_size=1, max_size=8).map(lambda a: [*a, "ok"])


@pytest.mark.parametrize("versioned", [True, False], ids=["version", "input-order"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(records=records, script=answers, passes=st.integers(1, 2))
def test_the_receiver_ends_with_the_last_version_of_every_pk(versioned, records, script, passes):
    # A record: (pk, version, variant). Its amount encodes the order the property checks: the
    # source version (with `version:`) or the input position (without), then the variant.
    lines = []
    for i, (pk, version, variant) in enumerate(records):
        order = version if versioned else i
        lines.append({"type": "deposit", "player": 1, "tx": f"t{pk}", "at": AT, "currency": "EUR",
                      "seq": version, "amount": order * 1000 + variant})
    expected: dict = {}
    best: dict = {}
    for line in lines:
        k, order = ("1", line["tx"]), line["amount"] // 1000
        if order >= best.get(k, -1):  # the highest version wins; among equals, the last to arrive
            best[k], expected[k] = order, line["amount"]
    note(f"lines={[(x['tx'], x['amount']) for x in lines]} script={script} passes={passes}")
    receiver = Receiver(script)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
        for _ in range(passes):
            if not versioned:
                # Without `version:` arrival decides: a second pass's A arrives after the first
                # pass's B, so it is the newer (it may reach the receiver before B is read again).
                receiver.acked.clear()
            deliver(Path(tmp), src, receiver, versioned)
    assert not receiver.violations, receiver.violations
    final = {k: e["context"]["ootb_deposit_amount"] for k, e in receiver.store.items()}
    assert final == expected


@pytest.mark.parametrize("answer", ["fail_after", "die"])
def test_a_version_stored_without_an_acknowledgement_is_not_taken_for_the_newer(tmp_path, answer):
    """Pass 2 of A, B: A is stored again but not acknowledged (a 500, or the process dies and restarts): B must still go."""
    lines = [{"type": "deposit", "player": 1, "tx": "t", "at": AT, "currency": "EUR", "seq": 0, "amount": a} for a in (1000, 2000)]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    receiver = Receiver(["ok"])
    deliver(tmp_path, src, receiver, versioned=False)
    assert receiver.store[("1", "t")]["context"]["ootb_deposit_amount"] == 2000
    receiver.once = {1000: answer}
    deliver(tmp_path, src, receiver, versioned=False)
    assert receiver.store[("1", "t")]["context"]["ootb_deposit_amount"] == 2000
