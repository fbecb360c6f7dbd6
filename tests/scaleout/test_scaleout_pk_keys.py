"""A cluster keys PKs one way in Redis and in every worker's state (real Redis): a new cluster
takes the ordered keys, one whose Redis holds dedup entries from before keeps the hashes."""

from __future__ import annotations

import pytest

from ebi_mapper.errors import DeliveryError
from ebi_mapper.scaleout.queue import Keys, ensure_pk_keys


def test_a_new_cluster_takes_ordered_keys_and_keeps_them(rclient, prefix):
    keys = Keys(prefix)
    assert ensure_pk_keys(rclient, keys, 4) == "ordered"
    rclient.hset(keys.dedup(2), b"k" * 24, b"{}")
    assert ensure_pk_keys(rclient, keys, 4) == "ordered"  # recorded: entries written since do not change it


def test_a_cluster_with_entries_from_before_keeps_its_hashes(rclient, prefix):
    keys = Keys(prefix)
    rclient.hset(keys.dedup(3), b"h" * 16, b"{}")  # written by a worker that knew only pk_hash
    assert ensure_pk_keys(rclient, keys, 4) == "hash"
    assert rclient.hget(keys.meta, "pk_keys") == b"hash"


def test_an_unknown_scheme_is_refused(rclient, prefix):
    keys = Keys(prefix)
    rclient.hset(keys.meta, "pk_keys", "sha9")
    with pytest.raises(DeliveryError, match="'sha9', which this ebi-mapper does not know"):
        ensure_pk_keys(rclient, keys, 1)
