"""The chunked reader and the batched `map` loop give exactly what the line-by-line loop gave.

The reference here is the loop `ebi-mapper map` had before it was made fast: ``iter_jsonl`` line
by line, ``Mapper.map_record`` on the reference interpreter, ``dumps_line`` per output line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.cli import main
from ebi_mapper.cli.report import dumps_line
from ebi_mapper.engine import iter_jsonl
from ebi_mapper.engine.jsonl.accounting import MapCounts
from ebi_mapper.engine.jsonl.decode import MAX_LINE_BYTES, decode_line
from ebi_mapper.engine.jsonl.lines import Oversized, iter_line_batches
from ebi_mapper.engine.timestamps import DST_LOG
from ebi_mapper.mapping.loader import parse_utc_timestamp

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "bench" / "mappings" / "multi_sport_casino.yaml"
RUN_NOW = "2026-12-15T12:00:00Z"


def load_workload():
    """bench/workload.py (the bench's payload generator; bench/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_workload", ROOT / "bench" / "workload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_lines(data: bytes, max_line_bytes: int):
    out = []
    for line in iter_jsonl(io.BytesIO(data), name="in", max_line_bytes=max_line_bytes):
        rejection = line.rejection
        out.append((line.line, line.payload, rejection.to_dict() if rejection else None, line.raw))
    return out


def _batched_lines(data: bytes, max_line_bytes: int, chunk_bytes: int):
    out = []
    for batch in iter_line_batches(io.BytesIO(data), max_line_bytes=max_line_bytes, chunk_bytes=chunk_bytes):
        for number, item in batch:
            where = f"in:{number}"
            if isinstance(item, Oversized):
                from ebi_mapper.outcomes import Rejection

                rejection = Rejection("too_large", f"line is {item.total:,} bytes; the limit is {max_line_bytes:,}", source=where)
                out.append((number, None, rejection.to_dict(), item.kept))
                continue
            payload, rejection = decode_line(item, source=where)
            out.append((number, payload, rejection.to_dict() if rejection else None, item if rejection is None else item[: 64 * 1024]))
    return out


line_text = st.sampled_from([b'{"a": 1}', b"[1, 2]", b"  {\"b\": [true]}  ", b"", b"   ", b"\r", b"not json", b"\xff\xfe", b"[" * 70 + b"]" * 70, b'"x"', b"12"])
long_lines = st.integers(min_value=1, max_value=90).map(lambda n: b'"' + b"x" * n + b'"')


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line_text | long_lines, max_size=12),
    trailing=st.sampled_from([b"", b"\n", b"\r\n"]),
    separator=st.sampled_from([b"\n", b"\r\n"]),
    max_line_bytes=st.integers(min_value=8, max_value=40),
    chunk_bytes=st.integers(min_value=1, max_value=64),
)
def test_line_batches_equal_iter_jsonl(lines, trailing, separator, max_line_bytes, chunk_bytes):
    data = separator.join(lines) + (trailing if lines else b"")
    assert _batched_lines(data, max_line_bytes, chunk_bytes) == _reference_lines(data, max_line_bytes)


def _workload() -> bytes:
    """Every kind of line: good payloads of each rule, bad values, garbage, blank, deep, huge."""
    import random

    rng = random.Random(7)
    payloads = load_workload().make_payloads("multi_sport_casino", 600, rng, bad_share=0.05)
    lines = [orjson.dumps(p) for p in payloads]
    lines[10:10] = [b"", b"  ", b"{not json", b"\xff\xfe{}", b"[" * 100 + b"]" * 100, b'{"type": "x"}\r']
    lines.insert(300, b'{"pad": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}')
    return b"\n".join(lines)  # no newline after the last line, on purpose


def _reference_run(path: Path, data: bytes):
    mapper = compile_mapping(load_mapping(path), fast=False)
    now = parse_utc_timestamp(RUN_NOW)
    counts, events, rejects = MapCounts(), [], []
    DST_LOG.take()  # count this run's DST decisions only
    for line in iter_jsonl(io.BytesIO(data), name="in.jsonl"):
        if line.rejection is not None:
            counts.add_undecodable(line.rejection)
            rejects.append(dumps_line({"source": line.rejection.source, "rejections": [line.rejection.to_dict()], "raw": line.raw.decode("utf-8", "replace")}))
            continue
        result = mapper.map_record(line.payload, source=f"in.jsonl:{line.line}", now=now)
        counts.add(result)
        events += [dumps_line(e.to_dict()) for e in result.events]
        if result.rejections:
            rejects.append(dumps_line({"source": f"in.jsonl:{line.line}", "rejections": [r.to_dict() for r in result.rejections], "payload": line.payload}))
    counts.dst.update(DST_LOG.take())
    return b"".join(events), b"".join(rejects), counts.to_dict()


def test_map_command_output_equals_the_line_by_line_reference(tmp_path, monkeypatch, capsys):
    data = _workload()
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_bytes(data)
    code = main(["map", str(MAPPING), "in.jsonl", "--out", "events.jsonl", "--rejects", "rejects.jsonl", "--summary", "json", "--now", RUN_NOW])
    assert code == 1  # the workload has rejections
    summary = json.loads(capsys.readouterr().err)
    events, rejects, counts = _reference_run(MAPPING, data)
    assert Path("events.jsonl").read_bytes() == events
    assert Path("rejects.jsonl").read_bytes() == rejects
    assert summary["workers"] == 1  # auto: a small file is mapped in this process
    assert {k: v for k, v in summary.items() if k not in ("seconds", "records_per_second", "workers")} == counts
    assert counts["rejections_by_code"]["too_large"] == 1 and counts["rejections_by_code"]["too_deep"] == 1
    assert counts["events_total"] > 500
