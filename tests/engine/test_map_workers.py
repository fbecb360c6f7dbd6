"""`ebi-mapper map --workers N` writes byte for byte what one process writes, and the same counts."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import orjson
import pytest

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.cli import main
from ebi_mapper.engine.jsonl.accounting import MapCounts
from ebi_mapper.engine.jsonl.decode import MAX_DEPTH, MAX_LINE_BYTES, decode_line
from ebi_mapper.engine.jsonl.parallel import GROUP_LINES, resolve_workers
from ebi_mapper.mapping.loader import parse_utc_timestamp
from ebi_mapper.outcomes import Rejection

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "mappings" / "examples"
BENCH_MAPPING = ROOT / "bench" / "mappings" / "multi_sport_casino.yaml"
RUN_NOW = "2026-12-15T12:00:00Z"
SAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.jsonl"))


def _run(capsys, mapping: Path, data: Path, workdir: Path, workers: int | str, *, processes: int | None = None) -> tuple[int, dict, dict]:
    """Run `map` in this process; return its exit code, its output files' bytes and its summary."""
    out = workdir / f"w{workers}"
    out.mkdir()
    capsys.readouterr()
    args = ["map", str(mapping), str(data), "--out", str(out / "events"), "--rejects", str(out / "rejects"), "--bespoke-out", str(out / "bespoke")]
    code = main([*args, "--summary", "json", "--now", RUN_NOW, "--workers", str(workers)])
    summary = json.loads(capsys.readouterr().err)
    assert summary.pop("workers") == (workers if processes is None else processes)  # the summary says how many ran
    del summary["seconds"], summary["records_per_second"]
    files = {name: (out / name).read_bytes() for name in ("events", "rejects", "bespoke")}
    return code, files, summary


def _generated_file(path: Path) -> tuple[int, int]:
    """The bench's mixed feed over several worker groups, with garbage, a too-deep and an oversized line."""
    spec = importlib.util.spec_from_file_location("bench_workload", ROOT / "bench" / "workload.py")
    workload = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(workload)
    rng = random.Random(6)
    lines = [orjson.dumps(p) for p in workload.make_payloads("multi_sport_casino", GROUP_LINES * 2 + 300, rng, bad_share=0.05)]
    for i in range(0, len(lines), 97):
        lines[i] = b'{"type": "wallet.deposit", "data": {oops'
    oversized_at = GROUP_LINES + 11  # in the second group: its line number must still be the file's
    lines[oversized_at] = b'{"pad": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}'
    lines[oversized_at + 1] = b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2)
    lines.insert(500, b"   ")  # a blank line still counts in the numbering
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines), oversized_at + 2  # 1-based, after the inserted blank line


@pytest.mark.parametrize("sample", SAMPLES)
def test_workers_2_equal_workers_1_on_the_example_samples(sample, tmp_path, capsys):
    mapping, data = EXAMPLES / f"{sample}.yaml", EXAMPLES / f"{sample}.jsonl"
    one = _run(capsys, mapping, data, tmp_path, 1)
    two = _run(capsys, mapping, data, tmp_path, 2)
    assert two == one
    assert one[2]["balanced"] and one[2]["records"] > 0


def test_workers_equal_one_process_on_a_big_file_with_bad_lines(tmp_path, capsys):
    data = tmp_path / "in.jsonl"
    total, oversized_line = _generated_file(data)
    one = _run(capsys, BENCH_MAPPING, data, tmp_path, 1)
    two = _run(capsys, BENCH_MAPPING, data, tmp_path, 2)
    assert two == one
    code, files, summary = two
    assert code == 1  # there are rejections
    assert summary["balanced"] and summary["records"] == total - 1  # the blank line is not a record
    assert summary["rejections_by_code"]["too_large"] == 1 and summary["rejections_by_code"]["too_deep"] == 1
    assert summary["rejections_by_code"]["decode"] >= total // 97
    assert summary["events_total"] > total // 2
    rejects = [orjson.loads(line) for line in files["rejects"].splitlines()]
    by_code = {r["rejections"][0]["code"]: r["source"] for r in rejects}
    assert by_code["too_large"] == f"{data}:{oversized_line}"
    assert by_code["too_deep"] == f"{data}:{oversized_line + 1}"
    # Rejects are in input order: their line numbers only go up.
    numbers = [int(r["source"].rsplit(":", 1)[1]) for r in rejects]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_workers_0_uses_one_per_cpu_and_gives_the_same_output(tmp_path, capsys):
    mapping, data = EXAMPLES / "casino.yaml", EXAMPLES / "casino.jsonl"
    assert resolve_workers(0) >= 1
    assert _run(capsys, mapping, data, tmp_path, 0, processes=resolve_workers(0)) == _run(capsys, mapping, data, tmp_path, 1)


@pytest.mark.parametrize("value", ["-1", "two", ""])
def test_bad_workers_is_a_usage_error(capsys, value):
    code = main(["map", str(EXAMPLES / "casino.yaml"), str(EXAMPLES / "casino.jsonl"), "--workers", value])
    assert code == 2
    assert "--workers" in capsys.readouterr().err


def test_merged_counts_equal_the_counts_of_the_whole():
    mapper = compile_mapping(load_mapping(EXAMPLES / "multi_sport_casino.yaml"))
    now = parse_utc_timestamp(RUN_NOW)
    decoded = [decode_line(line, source="x") for line in (EXAMPLES / "multi_sport_casino.jsonl").read_bytes().splitlines() if line.strip()]
    results = [mapper.map_record(payload, source="x", now=now) for payload, rejection in decoded if rejection is None]
    whole, first, second = MapCounts(), MapCounts(), MapCounts()
    for i, result in enumerate(results):
        whole.add(result)
        (first if i % 3 else second).add(result)
    second.add_undecodable(Rejection("decode", "bad", source="x"))
    whole.add_undecodable(Rejection("decode", "bad", source="x"))
    first.merge(second)
    assert first.to_dict() == whole.to_dict()
    assert first.balanced and first.bespoke_rows > 0 and first.nulls_dropped > 0


def test_auto_uses_one_process_per_cpu_only_for_big_regular_files(tmp_path, monkeypatch):
    from ebi_mapper.engine.jsonl import parallel

    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small.write_bytes(b"{}\n")
    with open(big, "wb") as fh:  # sparse: 32 MiB of size, no disk
        fh.truncate(parallel.AUTO_MIN_BYTES)
    assert parallel.auto_workers(str(small)) == 1
    assert parallel.auto_workers(str(big)) == resolve_workers(0)
    assert parallel.auto_workers("-") == 1 and parallel.auto_workers(None) == 1  # a pipe has no size
    assert parallel.auto_workers(str(tmp_path)) == 1  # not a regular file: `map` itself reports it
    assert parallel.auto_workers(str(tmp_path / "missing.jsonl")) == 1
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert parallel.auto_workers(str(big)) == 1  # one CPU: nothing to spread over


def test_map_defaults_to_auto_and_auto_output_equals_one_process(tmp_path, capsys, monkeypatch):
    from ebi_mapper.engine.jsonl import parallel

    mapping, data = EXAMPLES / f"{SAMPLES[0]}.yaml", EXAMPLES / f"{SAMPLES[0]}.jsonl"
    monkeypatch.setattr(parallel, "AUTO_MIN_BYTES", 1)  # this small sample counts as big
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    many = _run(capsys, mapping, data, tmp_path, "auto", processes=2)
    one = _run(capsys, mapping, data, tmp_path, 1)
    assert many == one
    capsys.readouterr()
    assert main(["map", str(mapping), str(data), "--out", str(tmp_path / "default"), "--summary", "json", "--now", RUN_NOW]) in (0, 1)
    assert json.loads(capsys.readouterr().err)["workers"] == 2  # auto is the default
