"""A restarted process sees its predecessor's requests of small rate classes (delivery/send_log.py).

The limiter counts a request from its answer (so no latency can crowd a window at the receiver);
the state keeps each remembered request's answer time, and a restart counts from it. A request
whose answer was never settled (the process died with it in flight) counts from the restart.
"""

from __future__ import annotations

import sqlite3
import time

from delivery_helpers import ScriptedSink, write_mixed
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.ratelimit import Limit, make_rate_limiter
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.send_log import remembered_classes, seed_limiters
from ebi_mapper.delivery.source import make_source
from ebi_mapper.delivery.state import SCHEMA_VERSION, open_state
from ebi_mapper.extensions import SendResult

WINDOW = 10.0


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _limiter(clock):
    limiter = make_rate_limiter({"profile": Limit(1, WINDOW)}, None, clock=clock, safety=0.0)
    return limiter, remembered_classes({"profile": Limit(1, WINDOW)}, limiter)


def test_a_request_counts_from_its_answer_after_a_restart(tmp_path):
    t0 = 1_000_000.0
    with open_state(tmp_path) as state:
        send_id = state.record_send("profile", t0)
        with state.transaction():
            state.answer_send(send_id, t0 + 5.0)  # a slow answer
        mono = Clock(50.0)
        limiter, remembered = _limiter(mono)
        seed_limiters(limiter, state, remembered, t0 + 12.0, mono())
    # Counted from the send it would be free again (12 s > 10 s); from its answer 3 s remain.
    assert 2.9 <= limiter.wait_time("profile") <= 3.1


def test_a_request_in_flight_when_its_process_died_counts_from_the_restart(tmp_path):
    t0 = 1_000_000.0
    with open_state(tmp_path) as state:
        state.record_send("profile", t0)  # never answered: the process died with it in flight
        state.record_send("profile", t0 - 3600.0)  # long gone: not counted at all
        mono = Clock(50.0)
        limiter, remembered = _limiter(mono)
        seed_limiters(limiter, state, remembered, t0 + 30.0, mono())
        assert 9.9 <= limiter.wait_time("profile") <= WINDOW
        mono.t += WINDOW
        assert limiter.wait_time("profile") == 0.0


def test_the_loop_stores_each_remembered_requests_answer_time(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 30, seed=2, kinds={"profile": 1})

    def slow(batch, n):
        time.sleep(0.2)
        return SendResult("ok")

    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, event_sink=ScriptedSink(slow),
                            plan=make_rate_plan(catalog, overrides={"profile": "100/1s", "default": "none", "global": "none"}),
                            options=DeliveryOptions(linger=0.01, chunk_size=10, concurrency=2, seed=1))
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
        assert summary.adds_up and summary.events["delivered"] == 30
        rows = state._exec("SELECT at, answered FROM recent_sends").fetchall()
    assert len(rows) == summary.this_run["requests_ok"] >= 3
    assert all(answered is not None and answered - at >= 0.19 for at, answered in rows)


def test_a_version_2_state_file_gets_the_answer_column(tmp_path):
    with open_state(tmp_path) as state:
        state.record_send("profile", 5.0)
    conn = sqlite3.connect(tmp_path / "state.sqlite")
    conn.execute("ALTER TABLE recent_sends DROP COLUMN answered")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with open_state(tmp_path) as state:
        assert state._exec("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION) == "3"
        assert state.recent_sends(0.0) == [("profile", 5.0, None)]  # an old row: its answer unknown, counted from a restart
