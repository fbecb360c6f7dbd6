"""Bounded state: dedup entries expire by the feed's time of last sight, old history goes, the file shrinks.

Real state files and the real loop; ``ebi-mapper state stats|compact`` as a user runs them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from click.testing import CliRunner

from delivery_helpers import RecordingSink
from ebi_mapper.cli import cli
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.retention import (
    DAY,
    Retention,
    compact,
    expire_dedup,
    expire_history,
    parse_duration,
    save_retention,
    state_stats,
)
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import Checkpoint, open_state
from ebi_mapper.errors import DeliveryError

START = datetime(2025, 3, 1, tzinfo=UTC)


def _deposit(i: int, at: datetime, amount: int = 10) -> dict:
    return {"type": "deposit", "player": i % 50, "tx": f"tx{i}", "amount": amount, "currency": "EUR",
            "at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _week(path, n):
    """``n`` deposits, each its own PK, evenly over 7 days of event time."""
    with open(path, "wb") as fh:
        for i in range(n):
            fh.write(orjson.dumps(_deposit(i, START + timedelta(days=7) * i / n)) + b"\n")


def _run(tmp_path, mapper, catalog, src, retention, sink=None):
    sink = sink or RecordingSink()
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog), event_sink=sink,
                            options=DeliveryOptions(linger=0.01, chunk_size=50, concurrency=4, seed=1, retention=retention))
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
        rows = state._exec("SELECT COUNT(*) FROM dedup").fetchone()[0]
    return summary, rows, sink


def test_dedup_keeps_the_window_of_feed_time_not_the_whole_feed(tmp_path, mapper, catalog):
    src = tmp_path / "week.jsonl"
    _week(src, 700)  # 100 PKs per day of event time
    summary, rows, _ = _run(tmp_path, mapper, catalog, src, Retention(dedup=DAY))
    assert summary.adds_up and summary.records["delivered"] == 700
    # One day of PKs (100; the one exactly at the horizon stays): what was acknowledged after the
    # last chunk expires at the end of the run.
    assert rows in (100, 101), rows

    # Seen again: a PK inside the window is a duplicate; one whose entry expired is sent again.
    again = tmp_path / "again.jsonl"
    again.write_bytes(orjson.dumps(_deposit(699, START + timedelta(days=7) * 699 / 700)) + b"\n"
                      + orjson.dumps(_deposit(0, START)) + b"\n")
    summary, _, sink = _run(tmp_path, mapper, catalog, again, Retention(dedup=DAY))
    assert summary.records["duplicate"] == 1 and summary.records["delivered"] == 1
    assert [e["context"]["ootb_transaction_id"] for b in sink.batches for e in b] == ["tx0"]


def test_without_a_window_every_pk_is_kept(tmp_path, mapper, catalog):
    src = tmp_path / "week.jsonl"
    _week(src, 300)
    _, rows, _ = _run(tmp_path, mapper, catalog, src, Retention(dedup=None))
    assert rows == 300


def test_an_entry_still_being_delivered_never_expires(tmp_path):
    pk, a, b = b"p" * 16, b"a" * 16, b"b" * 16
    with open_state(tmp_path) as state:
        with state.transaction():
            state.dedup_decide_many([(pk, a, 1.0), (b"q" * 16, a, 10 * DAY)], 0.0)  # the feed clock moves on to day 10
            assert expire_dedup(state, Retention(dedup=DAY), limit=None) == 0  # a was never acknowledged
            state.dedup_mark_sent([(pk, a)], 0.0)
            state.dedup_decide_many([(pk, b, 2.0)], 0.0)  # a newer version queued, not yet acknowledged
            assert expire_dedup(state, Retention(dedup=DAY), limit=None) == 0
            state.dedup_mark_sent([(pk, b)], 0.0)
            assert expire_dedup(state, Retention(dedup=DAY), limit=None) == 1
        assert state.dedup_get(pk) is None


def test_old_dead_letters_runs_and_finished_inputs_go(tmp_path):
    now = 1_000 * DAY
    with open_state(tmp_path) as state:
        with state.transaction():
            for age in (40, 10):
                state.add_dead_letter(input_id="in", source=f"f:{age}", kind="mapping", reasons=[{"age": age}],
                                      payload={"age": age}, now=now - age * DAY)
            state._exec("INSERT INTO runs (input_id, mapping, started_at, status) VALUES ('old', 'm', ?, 'complete')", (now - 100 * DAY,))
            state._exec("INSERT INTO runs (input_id, mapping, started_at, status) VALUES ('new', 'm', ?, 'complete')", (now - DAY,))
            state.set_checkpoint(Checkpoint("old", "", 5, 1, 1, "done"), now - 100 * DAY)
            state.set_checkpoint(Checkpoint("unfinished", "", 5, 1, 1, "reading"), now - 100 * DAY)
            state.bump("old", {"records_read": 1})
            gone = expire_history(state, Retention(), now)
        assert gone == {"dead_letters": 1, "runs": 1, "inputs": 1}
        assert [d.source for d in state.dead_letters()] == ["f:10"]
        assert [r["input_id"] for r in state.runs()] == ["new"]
        assert state.checkpoint("old") is None and state.totals("old") == {}
        assert state.checkpoint("unfinished") is not None  # a run still to be resumed is never forgotten


@pytest.mark.parametrize("text, seconds", [("7d", 7 * DAY), ("36h", 36 * 3600.0), ("90m", 5400.0), ("3600s", 3600.0),
                                           ("3600", 3600.0), (120, 120.0), ("2w", 14 * DAY), ("none", None), ("off", None)])
def test_durations(text, seconds):
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("bad", ["", "7 days", "-1d", "0", 0, True, "d"])
def test_bad_durations_say_what_is_expected(bad):
    with pytest.raises(DeliveryError, match="duration like 7d"):
        parse_duration(bad, "delivery.retention.dedup")


def test_state_stats_and_compact_commands(tmp_path, mapper, catalog):
    src = tmp_path / "week.jsonl"
    _week(src, 700)
    _run(tmp_path, mapper, catalog, src, Retention(dedup=None))
    with open_state(tmp_path / "state") as state, state.transaction():
        save_retention(state, Retention(dedup=DAY))  # as a later run with a one-day window leaves it
    runner = CliRunner()
    res = runner.invoke(cli, ["state", "stats", "--state-dir", str(tmp_path / "state"), "--format", "json"])
    assert res.exit_code == 0, res.output
    stats = json.loads(res.output)
    assert stats["retention"]["dedup"] == DAY and stats["rows"]["dedup"] == 700 and stats["rows"]["runs"] == 0
    assert stats["feed_clock"] - stats["dedup_horizon"] == DAY
    assert stats["dedup_last_seen"]["newest"] == stats["feed_clock"] and stats["file_bytes"] > 0
    assert stats["auto_vacuum"] == "incremental" and stats["pk_keys"] == "ordered"
    text = runner.invoke(cli, ["state", "stats", "--state-dir", str(tmp_path / "state")]).output
    assert "retention:  dedup 1d of feed time by last sight" in text and "dedup " in text
    assert "PKs keyed by time, then hash" in text
    res = runner.invoke(cli, ["state", "compact", "--state-dir", str(tmp_path / "state"), "--format", "json"])
    assert res.exit_code == 0, res.output
    done = json.loads(res.output)
    assert done["expired"]["dedup"] == 599
    assert done["bytes_after"] < done["bytes_before"]
    with open_state(tmp_path / "state") as state:
        assert state_stats(state)["rows"]["dedup"] == 101


def test_compaction_gives_freed_pages_back(tmp_path):
    with open_state(tmp_path) as state:
        with state.transaction():
            units = [(i.to_bytes(16, "big"), b"c" * 16, float(i)) for i in range(20_000)]
            state.dedup_decide_many(units, 0.0)
            state.dedup_mark_sent([(u[0], u[1]) for u in units], 0.0)
        compact(state)
        big = state_stats(state)["file_bytes"]
        with state.transaction():
            assert expire_dedup(state, Retention(dedup=100.0), limit=None) == 20_000 - 101
        compact(state)
        assert state_stats(state)["file_bytes"] < big / 5


def test_retention_is_read_from_the_mapping(mapping, catalog, tmp_path):
    from dataclasses import replace

    from ebi_mapper.delivery.settings import read_delivery_settings

    s = read_delivery_settings(replace(mapping, delivery={"retention": {"dedup": "1d", "runs": "none"}}), catalog=catalog, state_dir=tmp_path)
    assert s.options.retention == Retention(dedup=DAY, dead_letters=30 * DAY, runs=None)
    assert read_delivery_settings(mapping, catalog=catalog, state_dir=tmp_path).options.retention == Retention()
    with pytest.raises(DeliveryError, match="unknown key.*retention: dlq"):
        read_delivery_settings(replace(mapping, delivery={"retention": {"dlq": "1d"}}), catalog=catalog, state_dir=tmp_path)
    with pytest.raises(DeliveryError, match="delivery.retention.dedup must be a duration"):
        read_delivery_settings(replace(mapping, delivery={"retention": {"dedup": "a week"}}), catalog=catalog, state_dir=tmp_path)


def test_versions_and_known_profiles_expire_with_the_dedup_window(tmp_path):
    """The highest version per PK and the known profiles are bounded by the same feed-time window."""
    with open_state(tmp_path) as state:
        with state.transaction():
            state.version_put(b"old" * 4 + b"pkpk", ["n", 3], 1.0)
            state.version_put(b"new" * 4 + b"pkpk", ["n", 3], 10 * DAY)
            state.profile_put(b"old-customer-key", {"ootb_city": ["Rome", None, "ootb_user_details_update"]}, 1.0)
            state.profile_put(b"new-customer-key", {"ootb_city": ["Oslo", None, "ootb_user_details_update"]}, 10 * DAY)
            state.dedup_decide_many([(b"q" * 16, b"a" * 16, 10 * DAY)], 0.0)  # the feed clock moves on to day 10
            expire_dedup(state, Retention(dedup=DAY), limit=None)
        assert state.version_get(b"old" * 4 + b"pkpk") is None and state.version_get(b"new" * 4 + b"pkpk") == ["n", 3]
        assert state.profile_get(b"old-customer-key") is None and state.profile_get(b"new-customer-key") is not None
