"""The folder of broken mappings: each yields exactly the findings its ``.expected`` file lists.

Every ``broken/<name>.yaml`` is ``base.yaml`` with one thing changed. Its sibling
``broken/<name>.expected`` has one line per finding, in the order lint reports them::

    LINE:COL: severity CODE @ TOKEN ~ phrase ~ phrase

``@ TOKEN`` is the text the location points at in the YAML file (``<eol>``: just past the end of
the line), so the expected location is checked against the file itself, not only against lint.
Each ``~ phrase`` must appear in the message. Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from ebi_mapper.lint import lint_path
from ebi_mapper.mapping import read_mapping

HERE = Path(__file__).parent
BROKEN = HERE / "broken"
BASE = HERE / "base.yaml"
CASES = sorted(BROKEN.glob("*.yaml"))
DOCS = HERE.parents[1] / "docs" / "mapping-format.md"


@dataclass(frozen=True)
class Expected:
    """One line of an ``.expected`` file."""

    line: int
    col: int
    severity: str
    code: str
    token: str
    phrases: tuple[str, ...]


_LINE = re.compile(r"(\d+):(\d+): (error|warning) ([a-z0-9-]+) @ (.+)")


def read_expected(path: Path) -> list[Expected]:
    """Parse an ``.expected`` file (format in this module's docstring)."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        head, *phrases = raw.split(" ~ ")
        match = _LINE.fullmatch(head)
        assert match, f"{path.name}: cannot read line {raw!r}"
        line, col, severity, code, token = match.groups()
        out.append(Expected(int(line), int(col), severity, code, token, tuple(phrases)))
    return out


def test_the_folder_has_cases_and_each_has_its_expected_file():
    assert len(CASES) >= 40
    expected_files = {p.stem for p in BROKEN.glob("*.expected")}
    assert expected_files == {p.stem for p in CASES}


def test_the_base_mapping_is_clean():
    report = lint_path(BASE)
    assert report.findings == []


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_broken_mapping_yields_exactly_the_expected_findings(path: Path):
    expected = read_expected(path.with_suffix(".expected"))
    report = lint_path(path)
    got = [(f.loc.line, f.loc.col, f.severity, f.code) for f in report.findings]
    assert got == [(e.line, e.col, e.severity, e.code) for e in expected], "\n".join(map(str, report.findings))
    for finding, exp in zip(report.findings, expected, strict=True):
        assert finding.loc.file == str(path)
        for phrase in exp.phrases:
            assert phrase in finding.message, f"{phrase!r} not in {finding.message!r}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_expected_locations_point_at_the_offending_token(path: Path):
    lines = path.read_text(encoding="utf-8").split("\n")
    for exp in read_expected(path.with_suffix(".expected")):
        at = lines[exp.line - 1][exp.col - 1 :]
        if exp.token == "<eol>":
            assert at == "", f"{exp}: expected the end of line {exp.line}"
        else:
            assert at.startswith(exp.token), f"{exp}: line {exp.line} column {exp.col} reads {at[:30]!r}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_each_broken_file_changes_the_base_in_one_place(path: Path):
    base = BASE.read_text(encoding="utf-8").splitlines()[1:]  # both start with their own comment line
    broken = path.read_text(encoding="utf-8").splitlines()
    assert broken[0].startswith("# broken: ")
    hunks = [op for op in difflib.SequenceMatcher(a=base, b=broken[1:], autojunk=False).get_opcodes() if op[0] != "equal"]
    assert len(hunks) == 1, hunks


def test_every_finding_code_in_the_docs_has_a_broken_case():
    """The docs' table of lint codes is the list of finding kinds; each is exercised here."""
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("## What lint checks") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    documented = {code for row in rows for code in re.findall(r"`([a-z0-9-]+)`", row.split("|")[1])}
    assert len(documented) > 25
    covered = {e.code for p in CASES for e in read_expected(p.with_suffix(".expected"))}
    covered |= {"file-too-large"}  # generated in tmp_path by test_file_too_large below, not committed
    # Whole-file problems that cannot be "the base with one change"; tests/mapping/test_loader_*.py prove them.
    covered |= {"empty", "encoding", "too-deep", "too-many-nodes", "recursive-alias", "io"}
    assert documented - covered == set()


def test_file_too_large_is_refused_before_parsing(tmp_path: Path):
    path = tmp_path / "huge.yaml"
    base = BASE.read_text(encoding="utf-8")
    padding = "# " + "x" * 1000 + "\n"
    path.write_text(base + padding * (2 * 1024 * 1024 // len(padding) + 1), encoding="utf-8")
    report = lint_path(path)
    assert [(f.loc.line, f.loc.col, f.severity, f.code) for f in report.findings] == [(1, 1, "error", "file-too-large")]
    assert f"{path.stat().st_size:,} bytes" in report.findings[0].message
    assert "2,097,152" in report.findings[0].message


def test_file_at_the_size_limit_is_read(tmp_path: Path):
    path = tmp_path / "big.yaml"
    base = BASE.read_text(encoding="utf-8")
    room = 2 * 1024 * 1024 - len(base.encode()) - 1
    path.write_text(base + "#" + " " * (room - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == 2 * 1024 * 1024
    assert read_mapping(path).ok
