"""The status snapshot's buckets: every count inside the window lands in exactly one bucket."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ebi_mapper.serve.snapshot import buckets

NOW = 1_800_000_000.0
rows = st.lists(st.tuples(st.integers(-3 * 86400, 0).map(lambda d: int((NOW + d) // 60) * 60),
                          st.sampled_from(["received", "refused", "delivered", "rejected", "dead_lettered"]),
                          st.sampled_from(["a", "b"]), st.integers(1, 50)), max_size=40)


@given(rows)
def test_counts_in_the_window_are_kept_once(rs):
    for size, count in ((60, 60), (3600, 24)):
        out = buckets(rs, NOW, size, count)
        assert len(out["starts"]) == count and out["starts"] == sorted(out["starts"])
        first = out["starts"][0]
        for series in ("received", "refused", "delivered"):
            want: dict[str, int] = {}
            for minute, s, key, n in rs:
                if s == series and minute >= first:
                    want[key] = want.get(key, 0) + n
            assert {k: sum(v) for k, v in out[series].items()} == want
        for series in ("rejected", "dead_lettered"):
            assert sum(out[series]) == sum(n for minute, s, _, n in rs if s == series and minute >= first)
