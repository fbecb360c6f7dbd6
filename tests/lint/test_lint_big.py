"""Lint of a generated 2,000-rule mapping: correct results only (its speed is measured by bench/lint_bench.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ebi_mapper.lint import lint_path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lint_bench.py"


@pytest.fixture(scope="module")
def make_mapping_text():
    """The generator the benchmark times, so this test lints exactly what the bench measures."""
    spec = importlib.util.spec_from_file_location("lint_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_mapping_text


@pytest.fixture(scope="module")
def big_mapping(tmp_path_factory, make_mapping_text) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    path.write_text(make_mapping_text(2000), encoding="utf-8")
    return path


def test_generated_2000_rule_mapping_is_clean(big_mapping: Path):
    report = lint_path(big_mapping)
    assert report.findings == []
    text = big_mapping.read_text(encoding="utf-8")
    assert text.count("\n  - name: rule-") == 2000


def test_one_mistake_in_2000_rules_is_found_at_its_line(big_mapping: Path, tmp_path: Path):
    lines = big_mapping.read_text(encoding="utf-8").split("\n")
    target = next(i for i, line in enumerate(lines) if line.startswith("  - name: rule-01234"))
    customer = next(i for i in range(target, target + 10) if lines[i].startswith("    customer: "))
    lines[customer] = "    customer: to_strin(data.player.id)"
    # the rule's last context field: an enrichment param other rules map too, so only this key is wrong
    typo = next(i for i in range(customer, customer + 30) if lines[i].startswith("  - name: ")) - 1
    key = lines[typo].split(":")[0].strip()
    lines[typo] = lines[typo].replace(key, key + "x", 1)
    path = tmp_path / "one-mistake.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")

    report = lint_path(path)
    got = [(f.loc.line, f.loc.col, f.code) for f in report.findings]
    assert got == [(customer + 1, 15, "unknown-function"), (typo + 1, 7, "unknown-param")]
    assert "did you mean 'to_string'" in report.findings[0].message
    assert f"did you mean {key!r}" in report.findings[1].message


def test_generated_mapping_rules_have_realistic_shape(make_mapping_text):
    """Each rule: when, customer, timestamp, currency and 6-10 context fields; events of the vertical mixed."""
    import yaml

    data = yaml.safe_load(make_mapping_text(70))
    rules = data["rules"]
    assert len(rules) == 70
    assert all({"when", "customer", "timestamp", "currency", "context", "event"} <= set(rule) for rule in rules)
    assert all(6 <= len(rule["context"]) <= 10 for rule in rules)
    assert len({rule["event"] for rule in rules}) == 7  # every event of multi_sport_casino
