"""The bundled example mappings: lint clean, their example cases pass and cover what they must,
and their sample inputs map with every line accounted for and every event valid."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ebi_mapper import compile_mapping, load_mapping
from ebi_mapper.cli import cli
from ebi_mapper.engine.cases import DEFAULT_CASE_NOW, run_cases
from ebi_mapper.lint import lint_path
from ebi_mapper.schemas import schema_rejections

EXAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "examples"
NAMES = ["multi_sport_casino", "sport", "casino", "sweepstakes", "ecom", "sportsbook"]  # sportsbook: a second sport feed (issue 15)
# A fixed run clock after every sample event, so the future-skew guard answers the same every day.
RUN_NOW = "2027-01-01T00:00:00Z"


def _mapping(name: str) -> Path:
    return EXAMPLES / f"{name}.yaml"


@pytest.fixture(scope="module", params=NAMES)
def name(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def mapper(name):
    return compile_mapping(load_mapping(_mapping(name)))


def test_every_vertical_has_an_example():
    verticals = {load_mapping(_mapping(n)).vertical for n in NAMES}
    assert verticals == {"multi_sport_casino", "sport", "casino", "sweepstakes", "ecom"}


def test_lint_has_no_errors_and_only_coverage_warnings(name):
    report = lint_path(_mapping(name))
    assert report.errors == [], "\n".join(map(str, report.errors))
    # Unmapped enrichment params are acceptable where the source lacks the data; any other
    # warning (an expected event no rule produces, ...) is a defect in the example.
    assert {w.code for w in report.warnings} <= {"enrichment-coverage"}, "\n".join(map(str, report.warnings))


def test_lint_cli_accepts_the_examples_glob():
    """`ebi-mapper lint mappings/examples/*.yaml` also matches the *.tests.yaml companions."""
    paths = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    assert any(p.endswith(".tests.yaml") for p in paths)
    result = CliRunner().invoke(cli, ["lint", "--quiet", *paths])
    assert result.exit_code == 0, result.output
    assert f"{len(NAMES)} file(s): 0 error(s)" in result.stderr


def test_example_cases_pass(mapper):
    results = run_cases(mapper)
    assert len(results) >= 10
    failed = [r for r in results if not r.passed]
    assert not failed, "\n\n".join(f"{r.location} {r.name}\n{r.diff}" for r in failed)


def _case_results(mapper):
    return [(case, mapper.map_record(case.payload, now=DEFAULT_CASE_NOW)) for case in mapper.mapping.tests]


def test_cases_cover_every_rule_and_every_outcome(mapper):
    results = _case_results(mapper)
    produced = {event.rule for _, result in results for event in result.events}
    assert {rule.name for rule in mapper.mapping.rules} <= produced, "a rule has no happy-path case"
    filters = {f.reason for _, result in results for f in result.filtered}
    assert {"pre_go_live", "no_rule"} <= filters
    codes = {r.code for _, result in results for r in result.rejections}
    assert codes & {"coerce_failed", "missing_mandatory", "null_mandatory", "currency_mismatch"}
    assert all(r.field for _, result in results for r in result.rejections), "every rejection names its field"
    # A profile field cleared on purpose (nulls: keep) and a null dropped by the default policy.
    cleared = [e for _, result in results for e in result.events if e.event == "ootb_user_details_update" and None in e.context.values()]
    assert cleared, "no case sends a null on purpose through ootb_user_details_update"
    assert any(result.nulls_dropped for _, result in results), "no case shows a null dropped"
    fanned = [result for _, result in results if len({e.rule for e in result.events}) == 1 and len(result.events) > 1]
    if any(rule.each for rule in mapper.mapping.rules):
        assert fanned, "a mapping with `each` has no case that fans out"


def test_the_examples_together_cover_the_time_forms():
    """Naive times read in Europe/Malta (both DST transitions), and epoch milliseconds."""
    sources = {n: _mapping(n).with_name(f"{n}.tests.yaml").read_text(encoding="utf-8") for n in NAMES}
    malta = load_mapping(_mapping("multi_sport_casino"))
    assert malta.source_timezone == "Europe/Malta"
    assert "2026-10-25 02:30:00" in sources["multi_sport_casino"]  # overlap
    assert "2026-03-29 02:30:00" in sources["multi_sport_casino"]  # gap
    assert "1784111430123" in sources["casino"]  # epoch milliseconds


def _sample_lines(name: str) -> list[str]:
    return [line for line in (EXAMPLES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_sample_accounts_for_every_line_and_every_event_is_valid(name, tmp_path):
    mapping = load_mapping(_mapping(name))
    out, rejects = tmp_path / "events.jsonl", tmp_path / "rejects.jsonl"
    args = ["map", str(_mapping(name)), str(EXAMPLES / f"{name}.jsonl"), "--out", str(out), "--rejects", str(rejects), "--summary", "json", "--now", RUN_NOW]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    summary = json.loads(result.stderr)
    lines = _sample_lines(name)
    assert summary["records"] == len(lines)
    assert summary["mapped"] + summary["rejected"] + summary["filtered"] == len(lines)
    assert summary["balanced"]
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(events) == summary["events_total"] > 0
    for event in events:
        assert schema_rejections(mapping.vertical, event) == [], event
    rejected = rejects.read_text(encoding="utf-8").splitlines()
    assert len(rejected) == summary["rejected"] > 0
    # Each sample shows the three outcomes, and at least one line that is not JSON.
    assert summary["filtered"] > 0
    assert summary["rejections_by_code"].get("decode", 0) >= 1


def test_casino_sample_is_the_generators_output_and_about_two_percent_bad():
    spec = importlib.util.spec_from_file_location("make_casino_sample", EXAMPLES / "make_casino_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = module.make_lines()
    assert lines == module.make_lines(), "the generator is not deterministic"
    assert (EXAMPLES / "casino.jsonl").read_text(encoding="utf-8") == "\n".join(lines) + "\n", "casino.jsonl is stale: run make_casino_sample.py"
    assert 300 <= len(lines) <= 600
    mapper = compile_mapping(load_mapping(_mapping("casino")))
    bad = 0
    for line in lines:
        try:
            payload = json.loads(line)
        except ValueError:
            bad += 1
            continue
        result = mapper.map_record(payload, now=DEFAULT_CASE_NOW)
        bad += bool(result.rejections) or any(f.reason == "pre_go_live" for f in result.filtered)
    assert 0.015 <= bad / len(lines) <= 0.03
    profile = [line for line in lines if '"player_registered"' in line or '"player_updated"' in line]
    assert len(profile) >= 50  # the rate class limited to 50 requests / 10 s gets real traffic


@pytest.mark.parametrize("payload", sorted(p.name for p in (EXAMPLES / "payloads").glob("*.json")))
def test_explain_payload_files(payload):
    name = next(n for n in sorted(NAMES, key=len, reverse=True) if payload.startswith(n + "-"))
    args = ["explain", str(_mapping(name)), str(EXAMPLES / "payloads" / payload), "--format", "json", "--now", RUN_NOW]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    assert data["steps"], "no rule matched the payload"
    assert data["events"] or data["rejections"]


def test_test_cli_runs_each_mapping_once_from_the_examples_glob():
    paths = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    result = CliRunner().invoke(cli, ["test", "--format", "json", *paths])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["failed"] == 0
    assert {r["mapping"] for r in data["results"]} == {str(_mapping(n)) for n in NAMES}
    assert data["cases"] == sum(len(load_mapping(_mapping(n)).tests) for n in NAMES)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["a.yaml", "a.tests.yaml"], ["a.yaml"]),
        (["a.tests.yaml"], ["a.yaml"]),
        (["b.tests.yaml"], ["b.tests.yaml"]),  # no b.yaml beside it: left for the loader to report
        (["a.tests.yaml", "c.yaml", "a.yaml"], ["a.yaml", "c.yaml"]),
    ],
    ids=["glob-pair", "companion-alone", "orphan-companion", "order-kept"],
)
def test_mapping_paths_takes_companions_as_their_mapping(tmp_path, monkeypatch, given, expected):
    from ebi_mapper.cli.companions import mapping_paths

    monkeypatch.chdir(tmp_path)
    for name in ("a.yaml", "a.tests.yaml", "b.tests.yaml", "c.yaml"):
        (tmp_path / name).write_text("{}\n", encoding="utf-8")
    assert mapping_paths(given) == expected


def test_the_sportsbook_example_passes_generated_payloads():
    """Issue 15's "done when": the example's generated properties hold (`test --generate 200`;
    EBI_EXAMPLE_GENERATE=200 runs that size here, the default keeps the suite fast)."""
    size = os.environ.get("EBI_EXAMPLE_GENERATE", "25")
    result = CliRunner().invoke(cli, ["test", "--generate", size, "--seed", "15", "--format", "json", str(_mapping("sportsbook"))])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failed"] == 0
