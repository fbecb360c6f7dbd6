"""`run` maps in a child process (delivery/premap.py): the same outcome as mapping in the loop, and
every way the two processes can part (the child killed, the loop killed, signals, a mapping bug)
ends with nothing lost and a clear message.

"The same outcome" up to the one timing choice test_direct.py describes: whether an event whose PK
gets a newer version is ``superseded`` or ``delivered`` first depends on where the chunks end, and
the in-process reader hands over what its thread has read so far; the sum of the two counters,
every other counter, the dead letters, the receiver's content per PK and the state tables may not
differ."""

from __future__ import annotations

import dataclasses
import fcntl
import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import termios
import time
from array import array

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delivery_helpers import MAPPING, RecordingSink, ScriptedSink, sportsbook_mapping, write_mixed
from ebi_mapper.delivery import pipeline, premap
from ebi_mapper.delivery.pipeline import DeliveryLoop, DeliveryOptions
from ebi_mapper.delivery.rateplan import make_rate_plan
from ebi_mapper.delivery.settings import read_delivery_settings
from ebi_mapper.delivery.source import InputRecord, make_source
from ebi_mapper.delivery.state import Checkpoint, open_state
from ebi_mapper.errors import DeliveryError
from ebi_mapper.extensions import SendResult

NO_LIMITS = {"profile": "none", "default": "none", "global": "none"}

class InlineSink(ScriptedSink):
    inline = True


def _ok(batch, n):
    return SendResult("ok")


class Quiet:
    """A fixture value with a short repr (Hypothesis prints the arguments of every example it runs)."""

    def __init__(self, value, name: str):
        self.value, self.name = value, name

    def __repr__(self) -> str:
        return self.name


@pytest.fixture(scope="module")
def quiet(mapper, catalog):
    return Quiet(mapper, "<the casino mapping, compiled>"), Quiet(catalog, "<the catalog>")


@pytest.fixture(scope="module")
def versioned(tmp_path_factory):
    from ebi_mapper import compile_mapping, load_mapping

    path = tmp_path_factory.mktemp("versioned") / "m.yaml"
    path.write_text(sportsbook_mapping(extra="source_timezone: Europe/Berlin"))
    return Quiet(compile_mapping(load_mapping(path, lint=False)), "<the VERSIONED mapping, compiled>")


def write_versioned(path, n: int, seed: int) -> None:
    """Versions of a few legs in shuffled order (some of another kind: refused), profile deltas of a
    few customers, DST-overlap local times, signups, garbage and lines that are JSON but not one object."""
    import random

    rng = random.Random(seed)
    with open(path, "wb") as fh:
        for i in range(n):
            kind = rng.choice(["settle", "settle", "settle", "update", "update", "signup", "garbage", "array", "odd"])
            if kind == "odd":  # a version of another kind than the leg's others: refused by the loop, with the payload
                p = {"type": "settled", "player": 1, "slip": "s1", "leg": f"leg{rng.randrange(6)}", "placed_at": "2025-10-26T12:00:00Z",
                     "currency": "EUR", "settlement": {"version": "2025-10-26T10:00:00Z", "result": "won", "payout": 1}}
            elif kind == "settle":
                p = {"type": "settled", "player": rng.randrange(5), "slip": "s1", "leg": f"leg{rng.randrange(6)}",
                     "placed_at": rng.choice(["2025-10-26T12:00:00Z", "2025-10-26 02:30:00"]),  # the second is in Berlin's overlap
                     "currency": "EUR", "settlement": {"version": rng.randrange(4), "result": rng.choice(["won", "lost"]),
                                                       "payout": rng.randrange(100)}}
            elif kind == "update":
                p = {"type": "player_updated", "player": rng.randrange(4), "at": f"2025-10-26T12:{i // 60 % 60:02d}:{i % 60:02d}Z"}
                for name, value in (("email", f"p{i}@example.com"), ("city", rng.choice(["Oslo", "Rome"])),
                                    ("blocked", rng.choice([True, False])), ("mobile", rng.choice([None, "555"]))):
                    if rng.random() < 0.5:
                        p[name] = value
            elif kind == "signup":
                p = {"type": "signup", "player": f"new{i}", "email": f"n{i}@example.com", "at": "2025-10-26T12:00:00Z"}
            elif kind == "garbage":
                fh.write(b'{"type": "settled", oops\n')
                continue
            else:
                fh.write(rng.choice([b"[1, 2]\n", b"3\n", b'"text"\n']))
                continue
            fh.write(orjson.dumps(p) + b"\n")
        # Whatever was drawn: a stale version, a refused one, a DST-overlap time and a profile delta at the end.
        for version in (9, 8, "2025-10-26T10:00:00Z"):  # one PK (the placing time is part of it)
            fh.write(orjson.dumps({"type": "settled", "player": 2, "slip": "s1", "leg": "last", "placed_at": "2025-10-26 02:30:00", "currency": "EUR",
                                   "settlement": {"version": version, "result": "won", "payout": 5}}) + b"\n")
        fh.write(orjson.dumps({"type": "player_updated", "player": 3, "at": "2025-10-26T13:00:00Z", "blocked": True}) + b"\n")


def _run(tmp_path, name, mapper, catalog, src, *, map_process, chunk, passes=1, bespoke=False):
    sink, rows = InlineSink(_ok), RecordingSink()
    summaries = []
    with open_state(tmp_path / name) as state:
        for _ in range(passes):
            loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=sink,
                                bespoke_sink=rows if bespoke else None, bespoke_route="data_studio" if bespoke else None,
                                options=DeliveryOptions(linger=0.01, chunk_size=chunk, concurrency=2, seed=1, map_process=map_process))
            try:
                summaries.append(loop.run_input(make_source(str(src))))
            finally:
                loop.close()
    conn = sqlite3.connect(tmp_path / name / "state.sqlite")
    tables = {
        "dedup": sorted(conn.execute("SELECT pk_hash, content_hash, sent_hash, last_seen FROM dedup").fetchall()),
        "versions": sorted(conn.execute("SELECT pk_hash, version, last_seen FROM pk_versions").fetchall()),
        "profiles": sorted(conn.execute("SELECT customer_hash, fields, last_seen FROM profiles").fetchall()),
        "dead": sorted(conn.execute("SELECT input_id, source, kind, reason, payload, event FROM dlq").fetchall()),
        "left": conn.execute("SELECT (SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM pending)").fetchone(),
    }
    conn.close()
    held = {}
    for event in sink.accepted:  # the receiver's content per PK: the last version it took
        ctx = event.get("context", {})
        held[(event["event"], event.get("customer"), ctx.get("ootb_transaction_id") or ctx.get("ootb_bet_key"))] = event
    return summaries, tables, held, sorted(repr(row) for batch in rows.batches for row in batch)


def _merged(totals: dict) -> dict:
    out = dict(totals)
    for prefix in ("records", "events"):
        out[f"{prefix}_reached"] = out.pop(f"{prefix}_delivered", 0) + out.pop(f"{prefix}_superseded", 0)
    return out


def _same_both_ways(tmp_path, mapper, catalog, src, chunk, *, bespoke=False):
    runs = {}
    for mode in ("on", "off"):
        summaries, tables, held, rows = _run(tmp_path, f"state-{mode}", mapper, catalog, src, map_process=mode, chunk=chunk,
                                             passes=2, bespoke=bespoke)
        assert all(s.adds_up for s in summaries)
        runs[mode] = ([_merged(s.totals) for s in summaries], tables, held, rows)
    assert runs["on"][0] == runs["off"][0]  # every counter of both passes (dst_* included)
    assert runs["on"][1] == runs["off"][1]  # dedup, versions, profiles, dead letters (codes, payloads), nothing left
    assert runs["on"][2] == runs["off"][2]  # the receiver's content per PK
    assert runs["on"][3] == runs["off"][3]  # the bespoke rows
    return runs["on"]


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([1, 7, 37, 500]))
def test_the_mapping_process_ends_where_mapping_in_the_loop_ends(tmp_path_factory, quiet, seed, chunk):
    mapper, catalog = quiet[0].value, quiet[1].value
    tmp_path = tmp_path_factory.mktemp("premap")
    src = tmp_path / "in.jsonl"
    write_mixed(src, 300, seed=seed)  # deposits, updates, duplicates, profiles, bets, bespoke rows, rejections, garbage
    with open(src, "ab") as fh:
        fh.write(b"[1, 2]\n\n7\n" + b'{"type": "deposit", "player": 1, "tx": "late", "amount": 3, "currency": "EUR", "at": "2025-03-01T12:00:00Z"}\n')
    counts, tables, held, rows = _same_both_ways(tmp_path, mapper, catalog, src, chunk, bespoke=True)
    assert counts[0]["records_rejected"] > 0 and rows and tables["dead"]


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([1, 3, 7, 50]))
def test_versions_and_profile_deltas_across_chunk_boundaries_end_the_same(tmp_path_factory, versioned, quiet, seed, chunk):
    catalog = quiet[1].value
    tmp_path = tmp_path_factory.mktemp("premap-versions")
    src = tmp_path / "in.jsonl"
    write_versioned(src, 120, seed)
    counts, tables, held, _ = _same_both_ways(tmp_path, versioned.value, catalog, src, chunk)
    first = counts[0]
    assert first["events_stale"] > 0 and tables["versions"] and tables["profiles"]  # the stateful paths ran
    assert first.get("dst_overlap", 0) > 0  # counted in the child, shipped back
    assert {row[2] for row in tables["dead"]} == {"malformed", "mapping"}  # garbage, not-an-object lines


class Exploding:
    """A mapper whose engine raises on one payload (as a bug would): map_many fails, map_record on it only."""

    def __init__(self, inner):
        self.inner = inner
        self.mapping, self.catalog = inner.mapping, inner.catalog

    def map_many(self, payloads, *, now=None, sources=None):
        if any(isinstance(p, dict) and p.get("tx") == "boom" for p in payloads):
            raise RuntimeError("engine bug")
        return self.inner.map_many(payloads, now=now, sources=sources)

    def map_record(self, payload, *, source="", now=None):
        if payload.get("tx") == "boom":
            raise RuntimeError("engine bug")
        return self.inner.map_record(payload, source=source, now=now)


def test_a_mapping_exception_rejects_only_its_record(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    lines = [{"type": "deposit", "player": i, "tx": "boom" if i == 5 else f"t{i}", "amount": 5, "currency": "EUR",
              "at": "2025-03-01T12:00:00Z"} for i in range(20)]
    src.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in lines))
    summaries, tables, held, _ = _run(tmp_path, "state", Exploding(mapper), catalog, src, map_process="on", chunk=8)
    summary = summaries[0]
    assert summary.adds_up and summary.records["rejected"] == 1 and summary.records["delivered"] == 19
    (dead,) = tables["dead"]
    assert dead[2] == "mapping" and orjson.loads(dead[3])[0]["code"] == "internal_error" and orjson.loads(dead[4])["tx"] == "boom"


def _capture_readers(monkeypatch) -> list:
    made: list = []

    def capturing(*args, **kwargs):
        reader = premap.open_reader(*args, **kwargs)
        made.append(reader)
        return reader

    monkeypatch.setattr(pipeline, "open_reader", capturing)
    return made


def test_the_child_killed_stops_the_run_at_the_last_committed_chunk_and_the_next_run_resumes(tmp_path, mapper, catalog, monkeypatch):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 3000, seed=4, kinds={"deposit": 5, "bet": 1, "malformed": 1})
    made = _capture_readers(monkeypatch)

    def kill_the_child(batch, n):
        if n == 3:
            os.kill(made[0].pid, signal.SIGKILL)
        return SendResult("ok")

    sink = InlineSink(kill_the_child)
    options = DeliveryOptions(linger=0.01, chunk_size=50, seed=1, map_process="on")
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=sink, options=options)
        with pytest.raises(DeliveryError, match=r"^the mapping process was killed by SIGKILL before the end of the input"):
            loop.run_input(make_source(str(src)))
        loop.close()
        input_id = make_source(str(src)).input_id
        cp = state.checkpoint(input_id)
        first = state.totals(input_id)
        assert cp is not None and cp.status == "reading" and 0 < cp.records == first["records_read"] < 3000
        assert cp.records % 50 == 0  # whole chunks only
        again = InlineSink(_ok)
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=again, options=options)
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
    assert summary.status == "complete" and summary.adds_up and summary.records["read"] == 3000 and summary.records["pending"] == 0
    sent = {(e["event"], e["context"].get("ootb_transaction_id") or e["context"].get("ootb_bet_key")) for e in sink.accepted + again.accepted}
    assert len(sent) == summary.records["delivered"]  # every delivered record reached the receiver


def test_the_pipe_bounds_what_the_child_reads_ahead(tmp_path, mapper, catalog):
    src = tmp_path / "in.jsonl"
    write_mixed(src, 20_000, seed=2, kinds={"deposit": 1})
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=InlineSink(_ok))
        reader = premap.MapProcess(make_source(str(src)), Checkpoint("x", "", 0, 0, 0, "reading"), loop.ingestor, 500)
        try:
            time.sleep(1.5)  # far longer than mapping 20,000 records takes
            waiting = array("i", [0])
            fcntl.ioctl(reader._conn.fileno(), termios.FIONREAD, waiting)
            assert 0 < waiting[0] <= premap._PIPE_BYTES  # the child waits for room: the pipe is the only buffer
            assert os.waitpid(reader.pid, os.WNOHANG) == (0, 0)
            taken = 0
            while True:
                chunk, ended = reader.take(500, 1.0)
                taken += len(chunk)
                assert len(chunk) <= 500
                if ended:
                    break
            assert taken == 20_000
        finally:
            reader.close()
            loop.close()


def test_the_child_ships_small_batches_and_the_loop_gathers_its_chunk_with_the_collector_off(tmp_path, mapper, catalog, monkeypatch):
    """Each message holds at most premap._BATCH records (they stay in the CPU cache from reading to
    pickling); the loop's chunk is gathered from several, and the collector stays off from taking
    a chunk until it is committed."""
    import gc

    src = tmp_path / "in.jsonl"
    write_mixed(src, 1_000, seed=3, kinds={"deposit": 1})
    sizes, collector = [], []
    decode = premap._decode

    def counting(data):
        got = decode(data)
        sizes.append(len(got))
        collector.append(gc.isenabled())
        return got

    monkeypatch.setattr(premap, "_decode", counting)
    commit_chunk = DeliveryLoop._commit_chunk
    chunks = []

    def chunked(self, chunk, *args):
        chunks.append(len(chunk))
        collector.append(gc.isenabled())
        return commit_chunk(self, chunk, *args)

    monkeypatch.setattr(DeliveryLoop, "_commit_chunk", chunked)
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=InlineSink(_ok),
                            options=DeliveryOptions(chunk_size=600, map_process="on"))
        try:
            summary = loop.run_input(make_source(str(src)))
        finally:
            loop.close()
    assert summary.adds_up and summary.records["read"] == 1_000
    assert sum(sizes) == 1_000 and max(sizes) <= premap._BATCH < 600
    assert max(chunks) == 600 and sum(chunks) == 1_000  # a chunk of the loop's size, from several messages
    assert not any(collector)  # never a collection over a chunk's objects


def test_the_stdin_reader_hands_back_what_it_read_on_a_graceful_stop(tmp_path, mapper, catalog):
    """stop() returns the records received and what the child had read (a line of stdin cannot be read again)."""
    src = tmp_path / "in.jsonl"
    write_mixed(src, 1200, seed=9, kinds={"deposit": 1})
    with open_state(tmp_path / "state") as state:
        loop = DeliveryLoop(state=state, mapper=mapper, plan=make_rate_plan(catalog, overrides=NO_LIMITS), event_sink=InlineSink(_ok))
        reader = premap.MapProcess(make_source(str(src)), Checkpoint("x", "", 0, 0, 0, "reading"), loop.ingestor, 100)
        try:
            first, _ = reader.take(100, 5.0)
            rest = reader.stop()
        finally:
            reader.close()
            loop.close()
    got = first + rest
    assert [r.line for r in got] == list(range(1, len(got) + 1))  # in order, none skipped
    assert all(r.prepared is not None for r in got)


def test_the_wire_form_gives_back_what_the_child_prepared_and_takes_any_type():
    from decimal import Decimal

    from ebi_mapper.delivery.units import Prepared
    from ebi_mapper.outcomes import OotbEvent

    versioned_event = OotbEvent(567, "ootb_sports_bet_settled", "7", "2026-01-01 10:00:00.000000 UTC", {"ootb_bet_key": "l1"},
                                "settle", ("l1",), ["n", 3])
    records = [InputRecord("f:1", b"{oops", None, "not JSON", "", 6, 1, code="decode"),
               InputRecord("f:2", b"{}", {"a": 1}, None, "", 9, 2),
               InputRecord("f:3", b"{}", {"b": 2}, None, "", 12, 3)]
    for value in (1.25, Decimal("1.25")):  # any type a plugin may put in an event
        unit = ("events", "default", b"p" * 16, b"c" * 16, 1.5, {"context": {"amount": value}})
        prepared = [Prepared(1, [{"code": "x"}], [unit, versioned_event], [], 0), Prepared(0, [], [unit], [], 2)]
        got = premap._decode(premap._encode(records, prepared, {"overlap": 2}))
        assert [(r.source, r.raw, r.error, r.code, r.offset, r.line) for r in got] == [
            (r.source, r.raw, r.error, r.code, r.offset, r.line) for r in records]
        assert got[0].prepared is None and got[0].payload is None
        assert got[1].prepared == prepared[0]._replace(dst={"overlap": 2})  # the chunk's DST counts, on its first mapped record
        assert got[1].payload == {"a": 1}  # kept: it has a rejection and a stateful event
        assert got[2].prepared == prepared[1] and got[2].payload is None  # not needed by the loop: not shipped


def test_input_record_constructor_sets_every_field():
    names = [f.name for f in dataclasses.fields(InputRecord)]
    params = list(inspect.signature(InputRecord.__init__).parameters)[1:]
    assert params == names, "InputRecord.__init__ and its fields parted: update both (source.py)"
    values = ["f:1", b"{}", {"a": 1}, None, "f", 3, 1, 7, "c", "intake", ("p",)]
    rec = InputRecord(*values)
    assert rec == InputRecord(**dict(zip(names, values, strict=True)))
    assert vars(rec) == dict(zip(names, values, strict=True))
    short = InputRecord("s", b"")
    assert (short.payload, short.error, short.dead_letter_kind, short.prepared) == (None, None, "malformed", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.line = 2  # type: ignore[misc]


def test_when_the_mapping_process_is_used(tmp_path, monkeypatch, mapping, catalog):
    src = tmp_path / "in.jsonl"
    src.write_text("")
    source = make_source(str(src))
    monkeypatch.setattr(premap, "usable_cpus", lambda: 2)
    assert premap.use_map_process("auto", source) and premap.use_map_process("on", source)
    assert not premap.use_map_process("off", source)
    assert not premap.use_map_process("auto", object())  # a stream (the scale-out worker) is mapped in the loop
    monkeypatch.setattr(premap, "usable_cpus", lambda: 1)
    assert not premap.use_map_process("auto", source) and premap.use_map_process("on", source)
    assert read_delivery_settings(mapping, catalog=catalog).options.map_process == "auto"
    # usable_cpus counts the CPUs the process may run on (a container's cpuset), not the machine's.
    from ebi_mapper.cpus import usable_cpus

    assert usable_cpus() == len(os.sched_getaffinity(0))
    for value, expected in (("off", "off"), (False, "off"), (True, "on")):
        assert read_delivery_settings(mapping, catalog=catalog, overrides={"map_process": value}).options.map_process == expected
    with pytest.raises(DeliveryError, match="map_process must be one of auto, on, off"):
        read_delivery_settings(mapping, catalog=catalog, overrides={"map_process": "sometimes"})


# -- the processes, as an operator runs them --------------------------------------------------------

def _cmd(tmp_path, src, out, *extra):
    return [sys.executable, "-m", "ebi_mapper", "run", str(MAPPING), "--input", str(src), "--state-dir", str(tmp_path / "state"),
            "--sink", "jsonl", "--sink-option", f"path={out}", "--no-progress", "--format", "json",
            "--limit", "default=none", "--limit", "global=none", "--linger-ms", "0", *extra]


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _wait_for(what, timeout: float = 10.0):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        got = what()
        if got:
            return got
        time.sleep(0.02)
    return what()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1].startswith("Z")  # a zombie: exited, not yet reaped by init
    except OSError:
        return True


def _lines(out) -> list[bytes]:
    return out.read_bytes().splitlines() if out.exists() else []


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="finds the child through /proc (Linux)")
@pytest.mark.parametrize("sig, group, code", [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)])  # SIGINT as Ctrl-C sends it
def test_a_trickling_stdin_is_mapped_line_by_line_and_signals_reach_the_loop_only(tmp_path, sig, group, code):
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen(_cmd(tmp_path, "-", out), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            start_new_session=group)
    try:
        line = b'{"type": "deposit", "player": 1, "tx": "t%d", "amount": 5, "currency": "EUR", "at": "2025-03-01T12:00:00Z"}\n'
        proc.stdin.write(line % 1)
        proc.stdin.flush()
        assert _wait_for(lambda: len(_lines(out)) == 1)  # delivered while stdin stays open: no wait for a full chunk
        (child,) = _wait_for(lambda: _children(proc.pid))
        with open(f"/proc/{child}/status") as fh:
            ignored = int(next(x for x in fh if x.startswith("SigIgn:")).split()[1], 16)
        assert ignored & (1 << (signal.SIGINT - 1)) and ignored & (1 << (signal.SIGTERM - 1))
        proc.stdin.write(line % 2)
        proc.stdin.flush()
        assert _wait_for(lambda: len(_lines(out)) == 2)
        if group:
            os.killpg(proc.pid, sig)  # the whole process group, as a terminal's Ctrl-C: the child ignores it
        else:
            proc.send_signal(sig)  # the loop stops gracefully and closes the child
        proc.wait(timeout=20)  # stdin still open: the stop does not wait for its end
        stdout, stderr = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr.decode()
    summary = orjson.loads(stdout)
    assert summary["status"] == "interrupted" and summary["records"]["read"] == 2 == summary["records"]["delivered"]
    assert _gone(child)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="finds the child through /proc (Linux)")
@pytest.mark.parametrize("stdin", [True, False])
def test_the_loop_killed_the_child_exits_on_its_own(tmp_path, stdin):
    """SIGKILL of the loop: idle on an open stdin the child notices within 0.2 s; mapping a big file,
    its next write to the pipe fails."""
    src, out = tmp_path / "in.jsonl", tmp_path / "events.jsonl"
    if not stdin:
        write_mixed(src, 100_000, seed=8, kinds={"deposit": 1})
    proc = subprocess.Popen(_cmd(tmp_path, "-" if stdin else src, out), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        proc.stdin.write(b'{"type": "deposit", "player": 1, "tx": "t1", "amount": 5, "currency": "EUR", "at": "2025-03-01T12:00:00Z"}\n')
        proc.stdin.flush()
        assert _wait_for(lambda: len(_lines(out)) >= 1)
        (child,) = _wait_for(lambda: _children(proc.pid))
        proc.kill()
        proc.wait(timeout=10)
        assert _wait_for(lambda: _gone(child), timeout=5.0)
    finally:
        proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="finds the child through /proc (Linux)")
def test_the_child_killed_is_one_line_and_exit_3_and_the_next_run_adds_up(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "events.jsonl"
    write_mixed(src, 60_000, seed=6, kinds={"deposit": 8, "malformed": 1})
    proc = subprocess.Popen(_cmd(tmp_path, src, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        assert _wait_for(lambda: len(_lines(out)) > 1000, timeout=30)  # well under way
        (child,) = _children(proc.pid)
        os.kill(child, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    message = stderr.decode().strip()
    assert proc.returncode == 3, message
    assert message.startswith("ebi-mapper: error: the mapping process was killed by SIGKILL") and "\n" not in message
    again = subprocess.run(_cmd(tmp_path, src, out), capture_output=True, cwd=tmp_path, timeout=120)
    summary = orjson.loads(again.stdout)
    assert summary["status"] == "complete" and summary["adds_up"] and summary["records"]["read"] == 60_000
    assert summary["records"]["pending"] == 0
    delivered = {orjson.loads(x)["context"]["ootb_transaction_id"] for x in _lines(out)}
    assert len(delivered) == summary["records"]["delivered"]  # every delivered record is in the file (some twice: at-least-once)
