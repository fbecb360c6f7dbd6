"""The sandbox store decides a request's items as one after the other would, whatever their mix.

``store_events`` looks a request's PKs up once and writes with one statement per kind; this
proves it against a model that keeps one row per PK and applies the items in order.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.sandbox.store import SandboxStore, event_hash

PKS = st.sampled_from([("deposit", '["a"]'), ("deposit", '["b"]'), ("login", '["a"]')])
BODIES = st.sampled_from([{"v": 1}, {"v": 2}, {"v": 1, "w": 0}])
REQUESTS = st.lists(st.lists(st.tuples(PKS, BODIES), min_size=1, max_size=10), min_size=1, max_size=6)


def _model(requests: list) -> tuple[list[list[str]], dict]:
    rows: dict = {}
    outcomes = []
    for request in requests:
        out = []
        for (name, pk), body in request:
            row = rows.get((name, pk))
            digest = event_hash(body)
            if row is None:
                rows[(name, pk)] = {"hash": digest, "duplicates": 0, "updates": 0}
                out.append("accepted")
            elif row["hash"] == digest:
                row["duplicates"] += 1
                out.append("duplicate")
            else:
                row.update(hash=digest, updates=row["updates"] + 1)
                out.append("update")
        outcomes.append(out)
    return outcomes, rows


@settings(max_examples=150, deadline=None)
@given(REQUESTS)
def test_a_request_is_stored_as_its_items_one_after_the_other(requests):
    store = SandboxStore()
    try:
        outcomes = [store.store_events([(name, pk, body) for (name, pk), body in request]) for request in requests]
        want_outcomes, want_rows = _model(requests)
        assert outcomes == want_outcomes
        got = {(e, p): {"hash": h, "duplicates": d, "updates": u}
               for e, p, h, d, u in store._db.execute("SELECT event, pk, hash, duplicates, updates FROM events")}
        assert got == want_rows
        seqs = [s for (s,) in store._db.execute("SELECT seq FROM events")]
        assert len(set(seqs)) == len(seqs)  # each row's sequence number is its own
    finally:
        store.close()
