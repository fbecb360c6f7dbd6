"""The pytest plugin in a client's repo (run by pytester), its collection rule, and `ebi-mapper test --generate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ebi_mapper.testing.runner  # noqa: F401 - imported here, outside pytester's inline runs (see below)
import ebi_mapper.testing.source_schema  # noqa: F401
from ebi_mapper.cli import main
from ebi_mapper.cli.exits import EXIT_FINDINGS, EXIT_OK
from ebi_mapper.testing import mapping_properties  # noqa: F401
from ebi_mapper.testing.pytest_plugin import DEFAULT_GLOBS, is_mapping_file

from .kit_helpers import BROKEN, GOOD

pytest_plugins = ["pytester"]

# pytester's inline runs drop the modules first imported inside them; the kit's modules (and the
# Hypothesis strategies they build) are therefore imported above, once, so every run shares them.

THREE_LINE_TEST = """\
from ebi_mapper.testing import mapping_properties

test_acme = mapping_properties("mappings/acme.yaml", max_examples=25, seed=1)
"""


def _client_repo(pytester: pytest.Pytester, mapping: Path, *, name: str = "mappings/acme.yaml") -> None:
    target = pytester.path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(mapping.read_text())
    pytester.makepyfile(test_acme=THREE_LINE_TEST)


def test_a_client_repo_passes_on_a_good_mapping(pytester):
    _client_repo(pytester, GOOD / "wallet.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)  # the examples, deposit, withdrawal
    result.stdout.fnmatch_lines(["*test_acme.py ...*"])


def test_a_client_repo_fails_on_a_broken_mapping_with_a_shrunk_payload(pytester):
    _client_repo(pytester, BROKEN / "pk_can_be_missing.yaml")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*property 'rejections_explained' failed (rule 'deposit' field $.context.ootb_transaction_id)*",
            "*payload: {*\"references\": []*",
            "*broken on purpose in this payload: nothing (a valid payload)*",
        ]
    )


def test_a_rule_no_payload_reaches_fails_in_pytest_too(pytester):
    # Both ways in: the three-line test module and the collected mapping file.
    never = (GOOD / "wallet_types.yaml").read_text().replace("contains(['wallet.deposit','wallet.topup'], type)", "length(code || '') == `40`")
    (pytester.path / "mappings").mkdir()
    (pytester.path / "mappings" / "acme.yaml").write_text(never)
    pytester.makepyfile(test_acme=THREE_LINE_TEST)
    pytester.makeini("[pytest]\nebi_mapping_files = mappings/*.yaml\nebi_mapper_examples = 5\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*acme.yaml::properties?deposit? FAILED*", "*test_acme.py::test_acme?deposit? FAILED*"])
    assert result.stdout.str().count("rule 'deposit' was never reached") >= 2


def test_mapping_files_are_collected_by_the_ini_glob(pytester):
    mapping = (GOOD / "wallet.yaml").read_text()
    (pytester.path / "mappings").mkdir()
    (pytester.path / "mappings" / "acme.yaml").write_text(mapping)
    (pytester.path / "mappings" / "not_a_mapping.yaml").write_text("just: data\n")
    pytester.makeini("[pytest]\nebi_mapping_files = mappings/*.yaml\nebi_mapper_examples = 15\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--ebi-seed", "2")
    result.assert_outcomes(passed=3)  # one case + one properties item per rule
    result.stdout.fnmatch_lines(["*acme.yaml::approved deposit PASSED*", "*acme.yaml::properties?deposit? PASSED*", "*acme.yaml::properties?withdrawal? PASSED*"])


def test_a_failing_case_and_a_failing_rule_read_well(pytester):
    text = (BROKEN / "naive_time_no_zone.yaml").read_text() + """
tests:
  - name: deposit in Malta time
    payload: {type: wallet.deposit, data: {player_id: 7, processed_at: "2026-12-10 11:00:00", currency: EUR, tx_id: t1, amount: 5}}
    expect:
      events:
        - {tenant: 567, event: ootb_deposit, customer: "7", timestamp: "2026-12-10 10:00:00.000000 UTC",
           context: {ootb_transaction_id: t1, ootb_deposit_timestamp: "2026-12-10T10:00:00.000000Z", ootb_deposit_amount: 5}}
"""
    pytester.path.joinpath("acme.ebi.yaml").write_text(text)  # the default glob: *.ebi.yaml
    result = pytester.runpytest("-p", "no:cacheprovider", "--ebi-examples", "20", "--ebi-seed", "1")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*acme.ebi.yaml:*: case 'deposit in Malta time' did not produce what it expects*",
            '*-*"timestamp": "2026-12-10 10:00:00.000000 UTC"',
            '*+*"timestamp": "2026-12-10 11:00:00.000000 UTC"',
            "*rule 'deposit' of acme.ebi.yaml: shrunk failing example*",
            "*property 'zone_declared' failed (rule 'deposit' field $.timestamp)*",
            "*payload: {*processed_at*",
        ]
    )


def test_an_invalid_mapping_file_is_a_readable_collection_error(pytester):
    pytester.path.joinpath("bad.ebi.yaml").write_text("ebi_mapping: 1\nclient: x\nvertical: casino\ntenant: 1\nsite_currency: EUR\nrules: []\nsurprise: 1\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad.ebi.yaml: * error(s) in mapping*", "*bad.ebi.yaml:7:1: error unknown-key*"])


def test_fixtures_load_and_compile_mappings(pytester):
    _client_repo(pytester, GOOD / "wallet.yaml")
    pytester.makepyfile(
        test_acme="""
        from datetime import datetime, timezone

        def test_deposit(ebi_mapper_mapper, ebi_mapper_mapping):
            mapping = ebi_mapper_mapping("mappings/acme.yaml")
            mapper = ebi_mapper_mapper(mapping)
            assert mapper is not ebi_mapper_mapper("mappings/acme.yaml")
            assert mapping.client == "good-wallet"
            result = mapper.map_record({"type": "wallet.withdrawal", "data": {"player_id": 1, "processed_at": "2026-12-10T10:00:00Z",
                                        "currency": "EUR", "tx_id": "w1", "amount_cents": 1250}},
                                       now=datetime(2027, 1, 1, tzinfo=timezone.utc))
            assert result.events[0].context["ootb_withdrawal_amount"] == 12.5
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "relative, expected",
    [
        ("tests/testing/good/wallet.yaml", False),  # a mapping, but not named *.ebi.yaml
        ("tests/lint/base.yaml", False),
        ("mappings/examples/casino.yaml", False),
        ("ebi_mapper/catalog/choices.yaml", False),  # package data never
    ],
)
def test_this_repo_collects_no_mapping_files_by_default(relative, expected):
    root = Path(__file__).parents[2]
    if (root / relative).exists():
        assert is_mapping_file(root / relative, DEFAULT_GLOBS, root) is expected


def test_the_collection_rule_needs_the_glob_and_the_top_level_key(tmp_path):
    (tmp_path / "a.ebi.yaml").write_text("# comment\nebi_mapping: 1\n")
    (tmp_path / "b.ebi.yaml").write_text("other: 1\n  ebi_mapping: 1\n")
    (tmp_path / "a.tests.yaml").write_text("ebi_mapping: 1\n")
    assert is_mapping_file(tmp_path / "a.ebi.yaml", DEFAULT_GLOBS, tmp_path)
    assert not is_mapping_file(tmp_path / "b.ebi.yaml", DEFAULT_GLOBS, tmp_path)
    assert not is_mapping_file(tmp_path / "a.tests.yaml", ["*.yaml"], tmp_path)
    assert is_mapping_file(tmp_path / "a.ebi.yaml", ["*.yaml"], tmp_path)


def test_cli_test_generate_reports_the_first_failure_shrunk(capsys):
    code = main(["test", str(BROKEN / "amount_default_text.yaml"), "--generate", "40", "--seed", "0"])
    out = capsys.readouterr().out
    assert code == EXIT_FINDINGS
    assert "FAIL deposit" in out
    assert "first failure, rule 'deposit' (shrunk):" in out
    assert "field $.context.ootb_deposit_amount" in out and "$.data.amount" in out


def test_cli_test_generate_passes_a_good_mapping_with_json_output(capsys):
    code = main(["test", str(GOOD / "wallet.yaml"), "--generate", "20", "--seed", "0", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    generated = next(r["generated"] for r in data["results"] if "generated" in r)
    assert generated["failures"] == 0 and generated["seed"] == 0
    assert [r["rule"] for r in generated["rules"]] == ["tests:", "deposit", "withdrawal"]
    assert all(r["examples"] >= 1 and r["passed"] for r in generated["rules"])
