"""Workers on real Redis and a loopback sandbox (ebi_mapper/scaleout/{queue,leases,partition,worker}.py)."""

from __future__ import annotations

import pytest
import redis as redis_lib
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.errors import DeliveryError
from ebi_mapper.scaleout.queue import (
    Keys,
    Producer,
    enqueue_input,
    ensure_partitions,
    partition_of,
)
from scaleout_helpers import (
    ClusterThreads,
    cluster_counts,
    make_worker,
    reached,
    records_settled,
    wait_for,
    write_mixed,
)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("OPTIMOVE_TOKEN", "sandbox-token")


@pytest.fixture
def sandbox():
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567, rate_limits=(("profile", 10, 1.0),)) as sb:
        yield sb


@given(st.text(min_size=1), st.integers(1, 64))
@settings(max_examples=200, deadline=None)
def test_a_customer_always_lands_in_one_partition(customer, partitions):
    p = partition_of(customer, b"raw", partitions)
    assert 0 <= p < partitions
    assert p == partition_of(customer, b"other raw bytes", partitions)  # the customer decides, not the line


def test_partition_count_is_fixed_and_a_mismatch_refused(rclient, prefix):
    keys = Keys(prefix)
    assert ensure_partitions(rclient, keys, 8) == 8
    assert ensure_partitions(rclient, keys, None) == 8  # a worker without --partitions takes the cluster's
    with pytest.raises(DeliveryError, match="has 8 partitions, not 4"):
        ensure_partitions(rclient, keys, 4)


def _enqueue(rclient, prefix, tmp_path, n, seed, partitions=4):
    from ebi_mapper import compile_mapping, load_mapping
    from ebi_mapper.delivery.source import make_source
    from ebi_mapper.delivery.state import open_state
    from scaleout_helpers import MAPPING

    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "in.jsonl"
    expected = write_mixed(src, n, seed=seed)
    producer = Producer(rclient, Keys(prefix), compile_mapping(load_mapping(MAPPING, lint=False)), partitions=partitions)
    with open_state(tmp_path / "producer") as state:
        out = enqueue_input(producer, make_source(str(src)), state)
    assert out["enqueued"] == n
    return expected


def _check(rclient, prefix, sandbox, expected):
    counts = cluster_counts(rclient, prefix)
    records = {k.removeprefix("records_"): counts.get(k, 0) for k in
               ("records_delivered", "records_rejected", "records_filtered", "records_duplicate", "records_stale",
                "records_superseded")}
    for outcome, count in expected["outcomes"].items():
        assert reached(records, outcome) == count, (outcome, records)
    stats = sandbox.stats()
    assert stats["stored"]["events"] == expected["event_pks"]
    assert stats["max_events_per_request"] <= 10
    assert stats["max_profile_requests_per_window"] <= 10
    for p in range(4):  # every entry acknowledged
        assert rclient.xpending(Keys(prefix).stream(p), "workers")["pending"] == 0


def test_two_workers_deliver_everything_once_and_ack_all(rclient, redis_url, prefix, sandbox, tmp_path):
    expected = _enqueue(rclient, prefix, tmp_path, 600, seed=31)
    cluster = ClusterThreads()
    try:
        for name in ("w1", "w2"):
            cluster.start(make_worker(redis_url, prefix, sandbox, tmp_path, name))
        wait_for(lambda: records_settled(rclient, prefix) >= 600, 60, "600 records settled")
    finally:
        cluster.stop_all()
    assert records_settled(rclient, prefix) == 600  # each entry counted once (at its XACK)
    _check(rclient, prefix, sandbox, expected)
    # The two shared the partitions and left nothing held.
    assert all(rclient.get(Keys(prefix).lease(p)) is None for p in range(4))


def test_a_worker_with_a_file_sink_acknowledges_every_entry(rclient, redis_url, prefix, sandbox, tmp_path):
    """A file sink takes each chunk's events inside the chunk's transaction (the direct path): the
    records it settles there are acknowledged too, once, and each PK's last version is in the files."""
    expected = _enqueue(rclient, prefix, tmp_path, 400, seed=35)
    out = tmp_path / "events.jsonl"
    cluster = ClusterThreads()
    try:
        cluster.start(make_worker(redis_url, prefix, sandbox, tmp_path, "w1", events_file=out))
        wait_for(lambda: records_settled(rclient, prefix) >= 400, 60, "400 records settled")
    finally:
        cluster.stop_all()
    assert records_settled(rclient, prefix) == 400
    for p in range(4):
        assert rclient.xpending(Keys(prefix).stream(p), "workers")["pending"] == 0
    import orjson

    pks = set()
    for p in range(4):
        path = out.with_suffix(f".p{p}.jsonl")
        for line in path.read_bytes().splitlines() if path.exists() else []:
            event = orjson.loads(line)
            ctx = event.get("context", {})
            pks.add((event["event"], event.get("customer"), ctx.get("ootb_transaction_id") or ctx.get("ootb_bet_key")))
    assert len(pks) == expected["event_pks"]


def test_xack_only_after_the_outcome_is_durable(rclient, redis_url, prefix, sandbox, tmp_path):
    """The receiver refuses everything with 503 for a while: entries are read but stay pending."""
    expected = _enqueue(rclient, prefix, tmp_path, 200, seed=32)
    sandbox.set_faults({"500": 1.0, "seed": 1})
    cluster = ClusterThreads()
    try:
        cluster.start(make_worker(redis_url, prefix, sandbox, tmp_path, "w1"))
        keys = Keys(prefix)
        wait_for(lambda: sum(rclient.xpending(keys.stream(p), "workers")["pending"] for p in range(4)) > 0, 20,
                 "entries read")
        import time

        time.sleep(1.0)
        counts = cluster_counts(rclient, prefix)
        # Only records with nothing for the refusing receiver could settle: rejected, filtered, duplicate,
        # and the bespoke rows (their own sink, a local file).
        assert sandbox.stats()["stored"]["events"] == 0
        assert counts.get("records_delivered", 0) <= expected["drawn"].get("vip", 0)
        pending = sum(rclient.xpending(keys.stream(p), "workers")["pending"] for p in range(4))
        assert pending > 0 and pending + records_settled(rclient, prefix) == 200
        sandbox.set_faults({"500": 0.0})
        wait_for(lambda: records_settled(rclient, prefix) >= 200, 60, "all settled after the receiver recovered")
    finally:
        cluster.stop_all()
    _check(rclient, prefix, sandbox, expected)


def test_dedup_survives_a_worker(rclient, redis_url, prefix, sandbox, tmp_path):
    """w1 delivers and leaves; the same records queued again reach w2 (fresh state dir): nothing is sent twice,
    and an older version of a PK queued after a newer one was delivered stays stale."""
    expected = _enqueue(rclient, prefix, tmp_path, 300, seed=33)
    cluster = ClusterThreads()
    cluster.start(make_worker(redis_url, prefix, sandbox, tmp_path, "w1"))
    wait_for(lambda: records_settled(rclient, prefix) >= 300, 60, "first pass settled")
    cluster.stop_all()
    requests_before = sandbox.stats()["by_status"].get("200", 0)
    keys = Keys(prefix)
    assert rclient.hlen(keys.dedup(0)) + rclient.hlen(keys.dedup(1)) > 0
    _enqueue(rclient, prefix, tmp_path / "again", 300, seed=33)  # the same feed once more
    cluster.start(make_worker(redis_url, prefix, sandbox, tmp_path, "w2"))
    wait_for(lambda: records_settled(rclient, prefix) >= 600, 60, "second pass settled")
    cluster.stop_all()
    assert sandbox.stats()["by_status"].get("200", 0) == requests_before  # not one request more
    assert sandbox.stats()["stored"]["events"] == expected["event_pks"]


def test_lease_takeover_fences_the_old_owner(rclient, prefix):
    from ebi_mapper.scaleout.leases import Leases

    keys = Keys(prefix)
    ensure_partitions(rclient, keys, 1)
    rclient.xadd(keys.stream(0), {"d": b"{}", "src": "x"})
    rclient.xreadgroup("workers", "old", {keys.stream(0): ">"})
    [(entry_id, _)] = rclient.xrange(keys.stream(0))
    old, new = Leases(rclient, keys, "old", ttl=0.2), Leases(rclient, keys, "new", ttl=5)
    v_old = old.claim(0)
    assert v_old and new.claim(0) is None  # held
    import time

    time.sleep(0.3)  # the old owner stalls past its lease
    v_new = new.claim(0)
    assert v_new and v_new != v_old
    assert old.settle(0, v_old, "workers", [(entry_id.decode(), "records_delivered")], [], []) == -1  # fenced
    assert rclient.xpending(keys.stream(0), "workers")["pending"] == 1
    assert new.settle(0, v_new, "workers", [(entry_id.decode(), "records_delivered")], [], []) == 1
    assert new.settle(0, v_new, "workers", [(entry_id.decode(), "records_delivered")], [], []) == 0  # counted once
    assert cluster_counts(rclient, prefix) == {"records_delivered": 1}
    assert not old.renew(0, v_old) and new.renew(0, v_new)


def test_redis_down_is_a_one_line_error():
    from ebi_mapper.scaleout.queue import connect

    with pytest.raises(DeliveryError, match="does not answer"):
        connect("redis://127.0.0.1:1/0")
    with pytest.raises(DeliveryError, match="expected redis://"):
        connect("http://x")
    assert redis_lib  # the client is installed with the project


PROFILE_MAPPING = """\
ebi_mapping: 1
client: {client}
vertical: multi_sport_casino
tenant: 567
site_currency: EUR
go_live: "2024-01-01T00:00:00Z"
rules:
  - name: signup
    when: "type == 'signup'"
    event: ootb_registration
    customer: to_string(player)
    timestamp: at
    context:
      ootb_email: email
      ootb_mobile_number: mobile
  - name: profile
    when: "type == 'profile'"
    event: ootb_user_details_update
    customer: to_string(player)
    timestamp: at
    context:
      ootb_mobile_number: mobile
"""


def test_profiles_survive_a_worker(rclient, redis_url, prefix, sandbox, tmp_path):
    """A registration goes out through w1; the customer's later delta (mobile only) reaches w2 with a fresh
    state dir: the update it sends carries the e-mail w1 knew (merged), not a partial profile."""
    import orjson

    from ebi_mapper import compile_mapping, load_mapping
    from scaleout_helpers import make_worker as make

    path = tmp_path / "profiles.yaml"
    path.write_text(PROFILE_MAPPING.format(client="acme-profiles"))
    mapper = compile_mapping(load_mapping(path, lint=False))
    producer = Producer(rclient, Keys(prefix), mapper, partitions=4)
    at = "2025-03-01T12:00:00Z"
    producer.enqueue([("in:1", orjson.dumps(p), p) for p in
                      [{"type": "signup", "player": 7, "email": "a@example.com", "mobile": "+3561", "at": at}]])
    cluster = ClusterThreads()
    cluster.start(make(redis_url, prefix, sandbox, tmp_path, "w1", mapping=path))
    wait_for(lambda: records_settled(rclient, prefix) >= 1, 30, "the registration settled")
    cluster.stop_all()
    later = "2025-03-02T12:00:00Z"
    producer.enqueue([("in:2", orjson.dumps(p), p) for p in
                      [{"type": "profile", "player": 7, "mobile": "+3562", "at": later}]])
    cluster.start(make(redis_url, prefix, sandbox, tmp_path, "w2", mapping=path))
    wait_for(lambda: records_settled(rclient, prefix) >= 2, 30, "the delta settled")
    cluster.stop_all()
    [update] = [e for e in sandbox.events() if e["event"] == "ootb_user_details_update"]
    assert update["data"]["context"]["ootb_email"] == "a@example.com"
    assert update["data"]["context"]["ootb_mobile_number"] == "+3562"
