"""The jsonl, stdout and data_studio sinks, built through the plugin registry like the run loop does."""

from __future__ import annotations

import csv
import json

import orjson
import pytest

from ebi_mapper.default_plugins.bespoke_sinks import DataStudioSink, csv_cell
from ebi_mapper.errors import DeliveryError
from ebi_mapper.outcomes import BespokeRow
from ebi_mapper.plugins import make_registry


@pytest.fixture(scope="module")
def registry():
    return make_registry(entry_points=False)


def _event(customer: str, n: int) -> dict:
    return {"tenant": 1, "event": "ootb_deposit", "customer": customer,
            "timestamp": "2026-12-01 10:00:00.000000 UTC", "context": {"ootb_transaction_id": f"t{n}"}}


def _row(customer: str, ts: str, **attributes) -> dict:
    return BespokeRow(customer=customer, timestamp=ts, attributes=attributes, rule="r").to_dict()


def _read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_builtin_sinks_are_registered_by_the_default_plugin(registry):
    assert registry.provided_by[("sinks", "optimove")] == "ebi_mapper.default_plugins.sinks"
    kinds = {name: registry.sink(name).kind for name in ("optimove", "jsonl", "stdout", "data_studio", "api_attributes")}
    assert kinds == {"optimove": "events", "jsonl": "events", "stdout": "events",
                     "data_studio": "bespoke", "api_attributes": "bespoke"}
    assert "token_env" in registry.sink("optimove").options


def test_jsonl_appends_batches_as_json_lines_across_runs(registry, tmp_path):
    path = tmp_path / "out" / "events.jsonl"
    sink = registry.sink("jsonl").factory({"path": str(path)})
    assert sink.send([_event("a", 1), _event("b", 2)]).status == "ok"
    sink.close()
    sink = registry.sink("jsonl").factory({"path": str(path), "fsync": "true"})
    assert sink.send([_event("c", 3)]).status == "ok"
    sink.close()
    sink.close()  # idempotent
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["customer"] for e in lines] == ["a", "b", "c"]
    assert lines[0] == _event("a", 1)


def test_jsonl_data_is_readable_before_close(registry, tmp_path):
    path = tmp_path / "events.jsonl"
    sink = registry.sink("jsonl").factory({"path": str(path)})
    sink.send([_event("a", 1)])
    assert path.read_bytes() == orjson.dumps(_event("a", 1)) + b"\n"
    sink.close()


@pytest.mark.parametrize("options, needle", [
    ({}, "'path' is required"),
    ({"path": "x.jsonl", "pth": "y"}, "unknown option(s) pth"),
    ({"path": "x.jsonl", "fsync": "maybe"}, "'fsync'"),
], ids=["missing-path", "misspelt-option", "bad-bool"])
def test_jsonl_option_mistakes_are_delivery_errors(registry, tmp_path, monkeypatch, options, needle):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeliveryError) as info:
        registry.sink("jsonl").factory(options)
    assert needle in str(info.value)


def test_context_options_from_the_run_loop_are_accepted(registry, tmp_path):
    sink = registry.sink("jsonl").factory({"path": str(tmp_path / "e.jsonl"), "client": "acme", "tenant": 5,
                                           "vertical": "casino"})
    sink.close()


def test_stdout_writes_one_json_line_per_event(registry, capsys):
    sink = registry.sink("stdout").factory({})
    assert sink.send([_event("a", 1), _event("b", 2)]).status == "ok"
    sink.close()
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in out] == [_event("a", 1), _event("b", 2)]


def test_data_studio_keeps_the_latest_value_per_customer_and_attribute(registry, tmp_path):
    sink = registry.sink("data_studio").factory({"dir": str(tmp_path), "client": "acme"})
    batch = [
        _row("p1", "2026-12-01T10:00:00Z", vip_tier="gold", segment="a"),
        _row("p1", "2026-12-01T09:00:00Z", vip_tier="silver"),  # older: must not win
        _row("p2", "2026-12-01T08:00:00.5Z", vip_tier="bronze"),
        _row("p1", "2026-12-01T11:00:00+02:00", segment="b"),  # 09:00 UTC: older than 10:00
        _row("p2", "2026-12-01T12:00:00Z", risk=3),
    ]
    assert sink.send(batch).status == "ok"
    sink.close()
    rows = _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv")
    assert rows == [
        ["customer_id", "risk", "segment", "vip_tier"],
        ["p1", "", "a", "gold"],
        ["p2", "3", "", "bronze"],
    ]


def test_data_studio_writes_one_file_per_utc_day(registry, tmp_path):
    sink = registry.sink("data_studio").factory({"dir": str(tmp_path), "client": "acme"})
    sink.send([
        _row("p1", "2026-12-01T23:30:00Z", tier="a"),
        _row("p1", "2026-12-02T00:30:00+01:00", tier="b"),  # 23:30 UTC on the 1st
        _row("p1", "2026-12-02T00:00:00Z", tier="c"),
    ])
    sink.close()
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["acme-bespoke-2026-12-01.csv", "acme-bespoke-2026-12-02.csv"]
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv") == [["customer_id", "tier"], ["p1", "b"]]
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-02.csv") == [["customer_id", "tier"], ["p1", "c"]]


def test_data_studio_client_defaults_to_the_mapping_client_passed_by_the_run_loop(registry, tmp_path):
    sink = registry.sink("data_studio").factory({"dir": str(tmp_path), "client": "acme-casino"})
    sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="a")])
    sink.close()
    assert (tmp_path / "acme-casino-bespoke-2026-12-01.csv").exists()


_CRASHING_WRITER = """
import os, sys
from ebi_mapper.default_plugins.bespoke_sinks import DataStudioSink
sink = DataStudioSink(sys.argv[1], client="acme", flush_seconds=3600)
row = {"customer": "p1", "timestamp": "2026-12-01T10:00:00Z", "attributes": {"tier": "gold"}, "rule": "r"}
assert sink.send([row]).status == "ok"
os._exit(0)  # killed after the acknowledgement: no flush, no close
"""


def test_data_studio_a_restarted_sink_keeps_rows_acknowledged_before_a_crash(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", _CRASHING_WRITER, str(tmp_path)], check=True, cwd=root,
                   env={"PYTHONPATH": str(root)})
    assert not (tmp_path / "acme-bespoke-2026-12-01.csv").exists()
    second = DataStudioSink(tmp_path, client="acme")
    second.send([_row("p2", "2026-12-01T11:00:00Z", tier="silver")])
    second.close()
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv") == [
        ["customer_id", "tier"], ["p1", "gold"], ["p2", "silver"]]


def test_data_studio_ignores_a_torn_journal_line(tmp_path):
    sink = DataStudioSink(tmp_path, client="acme")
    sink.send([_row("p1", "2026-12-01T10:00:00Z", tier="gold")])
    sink.close()
    journal = tmp_path / ".acme-bespoke-2026-12-01.journal.jsonl"
    with open(journal, "ab") as f:
        f.write(b'{"c": "p9", "t": "2026-')  # a crash mid-append
    again = DataStudioSink(tmp_path, client="acme")
    again.send([_row("p2", "2026-12-01T10:00:00Z", tier="silver")])
    again.close()
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv")[1:] == [["p1", "gold"], ["p2", "silver"]]


def test_data_studio_flushes_evicted_days_and_stays_within_max_open_days(tmp_path):
    sink = DataStudioSink(tmp_path, client="acme", max_open_days=1, flush_seconds=3600)
    for day in range(1, 5):
        sink.send([_row("p1", f"2026-12-0{day}T10:00:00Z", tier=str(day))])
        assert len(sink._days) == 1
    sink.close()
    for day in range(1, 5):
        assert _read_csv(tmp_path / f"acme-bespoke-2026-12-0{day}.csv")[1] == ["p1", str(day)]


@pytest.mark.parametrize("row, index_reason", [
    ({"customer": "", "timestamp": "2026-12-01T10:00:00Z", "attributes": {"a": 1}}, "no customer"),
    ({"customer": "p", "timestamp": "2026-12-01 10:00:00", "attributes": {"a": 1}}, "not ISO 8601 with a zone"),
    ({"customer": "p", "timestamp": "2026-12-01T10:00:00Z", "attributes": {}}, "no attributes"),
    ({"customer": "p", "timestamp": "2026-12-01T10:00:00Z", "attributes": {"customer_id": 1}}, "clashes"),
], ids=["no-customer", "naive-time", "no-attributes", "column-clash"])
def test_data_studio_rejects_a_malformed_row_by_index(tmp_path, row, index_reason):
    sink = DataStudioSink(tmp_path, client="acme")
    result = sink.send([_row("ok", "2026-12-01T10:00:00Z", a=1), row])
    sink.close()
    assert (result.status, result.rejected_index) == ("rejected", 1)
    assert index_reason in result.reason


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("-12.5", "-12.5"),
    (-12.5, "-12.5"),
    ("gold", "gold"),
    (None, ""),
    (True, "true"),
    ({"k": [1]}, '{"k":[1]}'),
], ids=["equals", "plus", "minus-formula", "at", "tab", "negative-number-text", "negative-number",
        "plain", "null", "bool", "object"])
def test_csv_cells_escape_formulas_but_keep_numbers(value, cell):
    assert csv_cell(value) == cell


def test_formula_escape_can_be_turned_off(registry, tmp_path):
    sink = registry.sink("data_studio").factory({"dir": str(tmp_path), "client": "acme", "escape_formulas": "false"})
    sink.send([_row("=p1", "2026-12-01T10:00:00Z", note="=1+1")])
    sink.close()
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv")[1] == ["=p1", "=1+1"]


def test_escaped_customer_ids_and_values_in_the_file(registry, tmp_path):
    sink = registry.sink("data_studio").factory({"dir": str(tmp_path), "client": "acme"})
    sink.send([_row("=p1", "2026-12-01T10:00:00Z", note="=1+1")])
    sink.close()
    assert _read_csv(tmp_path / "acme-bespoke-2026-12-01.csv")[1] == ["'=p1", "'=1+1"]


def test_data_studio_refuses_a_client_name_that_is_not_a_file_name(tmp_path):
    with pytest.raises(DeliveryError):
        DataStudioSink(tmp_path, client="../etc")


def test_sink_header_default_matches_the_http_sink_and_the_sandbox():
    from ebi_mapper.default_plugins import http_sink, sinks
    from ebi_mapper.sandbox import config

    assert sinks.DEFAULT_AUTH_HEADER == http_sink.DEFAULT_AUTH_HEADER == config.DEFAULT_AUTH_HEADER
