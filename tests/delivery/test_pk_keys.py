"""How the state keys PKs (state_records.pk_key): the same PK always the same key, two PKs never
one, keys in the order of the PK's time; new state files take the ordered keys, files from before
keep the hashes their entries were written under (so an upgrade re-sends nothing)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_helpers import RecordingSink, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import open_state, pk_hash, pk_key
from ebi_mapper.errors import StateError

EVENTS = st.sampled_from(["ootb_deposit", "ootb_game_session", "ootb_registration", "bespoke:vip", "profile"])
# Envelope times have four-digit years.
STAMPS = st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
VALUES = st.one_of(st.text(max_size=30), STAMPS, STAMPS.map(lambda s: s.replace(" ", "T", 1)[:19] + "Z"),
                   st.integers(-10**12, 10**12), st.none(), st.booleans(),
                   st.from_regex(r"[-+ _0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:]{8}", fullmatch=True))
PKS = st.lists(VALUES, min_size=1, max_size=4).map(tuple)


@settings(max_examples=300, deadline=None)
@given(event_a=EVENTS, a=PKS, event_b=EVENTS, b=PKS)
def test_two_pks_share_a_key_exactly_when_they_share_a_hash(event_a, a, event_b, b):
    ka, kb = pk_key(event_a, a), pk_key(event_b, b)
    assert ka.endswith(pk_hash(event_a, a)) and len(ka) in (18, 24)  # tag, time if any, the hash
    assert pk_key(event_a, list(a)) == ka  # a function of the values, not of the container
    assert (ka == kb) == (pk_hash(event_a, a) == pk_hash(event_b, b))


@settings(max_examples=200, deadline=None)
@given(t1=STAMPS, t2=STAMPS, c1=st.text(max_size=8), c2=st.text(max_size=8))
def test_keys_of_one_event_sort_by_the_time_in_the_pk(t1, t2, c1, c2):
    k1, k2 = pk_key("ootb_deposit", (c1, "tx", t1)), pk_key("ootb_deposit", (c2, "tx", t2))
    if t1[:19] < t2[:19]:  # to the second: the rest only tells them apart
        assert k1 < k2
    assert pk_key("ootb_deposit", (c1, "tx", t1))[:2] != pk_key("ootb_withdrawal", (c1, "tx", t1))[:2]


def _deliver(state_dir, mapper, catalog, src, **open_args):
    sink = RecordingSink()
    with open_state(state_dir, **open_args) as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=sink, bespoke_sink=RecordingSink(),
                            bespoke_route="data_studio", options=DeliveryOptions(linger=0.0, chunk_size=50, seed=1))
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
        scheme = state.pk_keys
    assert summary.adds_up
    return summary, scheme, sink


def _dedup_keys(state_dir):
    with sqlite3.connect(state_dir / "state.sqlite") as conn:
        return [bytes(r[0]) for r in conn.execute("SELECT pk_hash FROM dedup")]


def test_a_new_file_keys_by_time_and_a_file_from_before_keeps_its_hashes(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 200, seed=5, kinds={"deposit": 6, "update": 1, "duplicate": 1, "bet": 2, "vip": 1})
    fresh, scheme, _ = _deliver(tmp_path / "new", mapper, catalog, src)
    assert scheme == "ordered" and fresh.events["delivered"] > 0
    lengths = {len(k) for k in _dedup_keys(tmp_path / "new")}
    assert lengths <= {18, 24} and 24 in lengths  # tag + time + hash for PKs with a time
    second, _, _ = _deliver(tmp_path / "new", mapper, catalog, src)  # a second pass over the same input

    # A file written before the scheme existed: entries keyed by pk_hash, no meta.pk_keys.
    old = tmp_path / "old"
    first, scheme, _ = _deliver(old, mapper, catalog, src, pk_keys="hash")
    assert scheme == "hash" and {len(k) for k in _dedup_keys(old)} == {16}
    assert first.totals == fresh.totals
    with sqlite3.connect(old / "state.sqlite") as conn:
        conn.execute("DELETE FROM meta WHERE key = 'pk_keys'")
    again, scheme, _ = _deliver(old, mapper, catalog, src)  # the upgraded ebi-mapper opens it
    assert scheme == "hash"  # written back: the file keeps its keys
    assert again.events["new"] == 0  # every PK found again under its old key: nothing looks new
    assert again.totals == second.totals  # as a second pass over a file of the new scheme


def test_a_scheme_the_file_does_not_have_is_refused(tmp_path):
    with open_state(tmp_path / "s"):
        pass
    with pytest.raises(StateError, match="keys its PKs as 'ordered', not 'hash'"):
        open_state(tmp_path / "s", pk_keys="hash")
    with sqlite3.connect(tmp_path / "s" / "state.sqlite") as conn:
        conn.execute("UPDATE meta SET value = 'sha9' WHERE key = 'pk_keys'")
    with pytest.raises(StateError, match="'sha9', which this ebi-mapper does not know"):
        open_state(tmp_path / "s")
