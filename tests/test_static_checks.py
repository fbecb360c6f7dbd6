"""ruff and mypy over the tree, run by the test command so a finding fails ``./scripts/test`` and CI.

Both are configured in pyproject.toml (``[tool.ruff]``, ``[tool.mypy]``, which argue the rule
choice); docs/contributing.md ("Checks") says how to run them by hand. Each test runs the checker as
a subprocess from the repository root and, on failure, shows its findings verbatim. mypy writes its
cache to a fresh temporary folder, never into the tree; a cold run of both takes a few seconds here.

- test_ruff_finds_nothing: ``ruff check`` over the whole tree (package, plugins, tests, bench,
  tools) reports no finding.
- test_mypy_finds_nothing: ``mypy`` over ebi_mapper/ and the bundled plugin reports no error, and
  really checked the package (the count of checked files covers every module of ebi_mapper/).
- test_public_api_is_checked_strictly: every module defining a name of ``ebi_mapper.__all__``,
  and the hook specs, are under the strict per-module override, so a new public name cannot
  arrive unchecked.
- test_checks_fail_on_a_finding: the same invocations do fail (and name the file) on a module with
  an unused import and a type error, so a green run means something.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import ebi_mapper

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ebi_mapper"
TIMEOUT = 300  # seconds; both take a few seconds on two cores, but the machine may be busy

# The hook specs a plugin author codes against, besides the modules behind ebi_mapper.__all__.
HOOK_MODULES = {"ebi_mapper.hookspecs", "ebi_mapper.extensions"}


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def _mypy(cache_dir: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return _run("mypy", "--cache-dir", str(cache_dir), "--no-color-output", *targets)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert done.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix .`):\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing(tmp_path: Path) -> None:
    done = _mypy(tmp_path / "mypy-cache")
    assert done.returncode == 0, f"mypy found problems:\n{done.stdout}{done.stderr}"
    checked = re.search(r"no issues found in (\d+) source files", done.stdout)
    assert checked, done.stdout
    modules = sum(1 for _ in PACKAGE.rglob("*.py"))
    assert int(checked.group(1)) >= modules, f"mypy checked {checked.group(1)} files; ebi_mapper/ alone has {modules}"


def _strict_modules() -> set[str]:
    strict: set[str] = set()
    for override in _pyproject()["tool"]["mypy"]["overrides"]:
        if override.get("disallow_untyped_defs") and override.get("disallow_any_generics") and override.get("warn_return_any"):
            strict.update(override["module"])
    return strict


def test_public_api_is_checked_strictly() -> None:
    defining = {"ebi_mapper"} | HOOK_MODULES
    for name in ebi_mapper.__all__:
        module = getattr(getattr(ebi_mapper, name), "__module__", None)
        if module and module.startswith("ebi_mapper"):
            defining.add(module)
            # A package re-exporting the name is part of the path a user imports from too.
            package = module.rpartition(".")[0]
            if package != "ebi_mapper" and hasattr(importlib.import_module(package), name):
                defining.add(package)
    missing = sorted(defining - _strict_modules())
    assert not missing, f"public API modules not under mypy's strict override in pyproject.toml: {missing}"


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_checks_fail_on_a_finding(tool: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad_module.py"
    bad.write_text('import os\n\n\ndef half(n: int) -> int:\n    return n / 2\n', encoding="utf-8")
    if tool == "ruff":
        done = _run("ruff", "check", "--no-cache", "--output-format", "concise", str(bad))
        expected = "F401"
    else:
        done = _mypy(tmp_path / "mypy-cache", str(bad))
        expected = "[return-value]"
    assert done.returncode != 0 and "bad_module.py" in done.stdout and expected in done.stdout, done.stdout + done.stderr
