"""Every module of the package (and of the bundled plugins) is at most 600 lines (issue #14).

A module that outgrows this is doing more than one job: split it by concern (see
docs/architecture.md), keeping old import paths only where the public API or plugins need them.
Counted in physical lines, docstrings and comments included: they are read too.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 600


def _package_files() -> list[Path]:
    files = sorted((ROOT / "ebi_mapper").rglob("*.py"))
    for plugin in sorted((ROOT / "plugins").glob("*/")):
        files += sorted(p for p in plugin.rglob("*.py") if "tests" not in p.relative_to(plugin).parts)
    return files


def test_no_module_is_over_600_lines():
    files = _package_files()
    assert len(files) > 100  # really looked at the package
    over = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not over, f"modules over {LIMIT} lines (split them by concern, docs/architecture.md): {over}"
