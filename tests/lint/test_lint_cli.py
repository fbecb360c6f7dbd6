"""``ebi-mapper lint``: the text format, exit codes, ``--strict``, ``--quiet`` and ``--format json``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ebi_mapper.cli import main
from ebi_mapper.cli.exits import EXIT_CONFIG, EXIT_FINDINGS, EXIT_OK

HERE = Path(__file__).parent
BASE = HERE / "base.yaml"
BROKEN = HERE / "broken"
ERRORS = BROKEN / "unknown_function.yaml"  # one error
WARNING = BROKEN / "enrichment_coverage.yaml"  # one warning, no error
MIXED = BROKEN / "unknown_param_typo.yaml"  # one error and one warning

FINDING_LINE = re.compile(r"(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning) (?P<code>[a-z0-9-]+) (?P<message>.+)")


def lint(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = main(["lint", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_mapping_exits_0_and_prints_no_finding(capsys):
    code, out, err = lint(capsys, BASE)
    assert code == EXIT_OK
    assert out == ""
    assert "1 file(s): 0 error(s), 0 warning(s): ok" in err


def test_each_finding_is_one_line_file_line_col_severity_code_message(capsys):
    code, out, err = lint(capsys, MIXED)
    assert code == EXIT_FINDINGS
    lines = out.splitlines()
    assert len(lines) == 2
    parsed = [FINDING_LINE.fullmatch(line) for line in lines]
    assert all(parsed), lines
    assert [(m["file"], m["line"], m["col"], m["severity"], m["code"]) for m in parsed] == [
        (str(MIXED), "84", "12", "warning", "enrichment-coverage"),
        (str(MIXED), "94", "7", "error", "unknown-param"),
    ]
    assert "did you mean 'ootb_deposit_amount'" in parsed[1]["message"]
    assert "1 file(s): 1 error(s), 1 warning(s): failed" in err


def test_errors_exit_1(capsys):
    code, out, _ = lint(capsys, ERRORS)
    assert code == EXIT_FINDINGS
    assert " error unknown-function " in out


def test_warnings_only_exit_0(capsys):
    code, out, err = lint(capsys, WARNING)
    assert code == EXIT_OK
    assert " warning enrichment-coverage " in out
    assert ": ok" in err


def test_strict_makes_warnings_fail(capsys):
    code, out, err = lint(capsys, "--strict", WARNING)
    assert code == EXIT_FINDINGS
    assert " warning enrichment-coverage " in out
    assert ": failed" in err


def test_strict_on_a_clean_mapping_still_passes(capsys):
    code, _, _ = lint(capsys, "--strict", BASE)
    assert code == EXIT_OK


def test_quiet_hides_warnings_but_not_errors(capsys):
    code, out, _ = lint(capsys, "--quiet", MIXED)
    assert code == EXIT_FINDINGS
    assert [line.split()[2] for line in out.splitlines()] == ["unknown-param"]


def test_several_files_are_reported_in_order_and_fail_if_any_fails(capsys):
    code, out, err = lint(capsys, BASE, WARNING, ERRORS)
    assert code == EXIT_FINDINGS
    files = [FINDING_LINE.fullmatch(line)["file"] for line in out.splitlines()]
    assert files == [str(WARNING), str(ERRORS)]
    assert "3 file(s): 1 error(s), 1 warning(s): failed" in err


def test_json_format_structure(capsys):
    code, out, _ = lint(capsys, "--format", "json", BASE, MIXED)
    assert code == EXIT_FINDINGS
    data = json.loads(out)
    assert [entry["file"] for entry in data] == [str(BASE), str(MIXED)]
    assert data[0] == {"file": str(BASE), "ok": True, "findings": []}
    assert data[1]["ok"] is False
    findings = data[1]["findings"]
    assert [set(f) for f in findings] == [{"file", "line", "col", "severity", "code", "message"}] * 2
    assert [(f["line"], f["col"], f["severity"], f["code"]) for f in findings] == [
        (84, 12, "warning", "enrichment-coverage"),
        (94, 7, "error", "unknown-param"),
    ]
    assert all(f["file"] == str(MIXED) for f in findings)
    assert isinstance(findings[0]["line"], int) and isinstance(findings[0]["col"], int)


def test_json_and_text_report_the_same_findings(capsys):
    _, text, _ = lint(capsys, MIXED)
    _, out, _ = lint(capsys, "--format", "json", MIXED)
    rendered = [f"{f['file']}:{f['line']}:{f['col']}: {f['severity']} {f['code']} {f['message']}" for f in json.loads(out)[0]["findings"]]
    assert rendered == text.splitlines()


def test_json_warnings_only_is_ok_unless_strict(capsys):
    code, out, _ = lint(capsys, "--format", "json", WARNING)
    assert code == EXIT_OK and json.loads(out)[0]["ok"] is True
    code, out, _ = lint(capsys, "--format", "json", "--strict", WARNING)
    assert code == EXIT_FINDINGS and json.loads(out)[0]["ok"] is False


def test_missing_file_is_a_finding_not_a_crash(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, out, _ = lint(capsys, missing)
    assert code == EXIT_CONFIG  # an unreadable file is the operator's to fix (issue #11 item 4)
    assert out.startswith(f"{missing}:1:1: error io cannot read file")


def test_no_argument_is_a_usage_error(capsys):
    assert main(["lint"]) == 2


@pytest.mark.skipif(shutil.which("ebi-mapper", path=str(Path(sys.executable).parent)) is None, reason="console script not installed")
def test_console_script_exit_codes():
    exe = shutil.which("ebi-mapper", path=str(Path(sys.executable).parent))
    failed = subprocess.run([exe, "lint", str(ERRORS)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert FINDING_LINE.fullmatch(failed.stdout.splitlines()[0])
    passed = subprocess.run([exe, "lint", str(WARNING)], capture_output=True, text=True, timeout=60)
    assert passed.returncode == 0
