"""Every import line shown in docs/writing-plugins.md works, and each hook type shows one."""

from __future__ import annotations

import re
from pathlib import Path

from ebi_mapper import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-plugins.md"
IMPORT = re.compile(r"^(?:from ebi_mapper[\w.]* import .+|import ebi_mapper[\w.]*.*)$", re.M)


def test_every_import_line_of_the_page_imports():
    lines = IMPORT.findall(DOC.read_text(encoding="utf-8"))
    assert lines, "docs/writing-plugins.md shows no import line"
    for line in lines:
        try:
            exec(line, {})
        except ImportError as exc:
            raise AssertionError(f"docs/writing-plugins.md: {line!r} fails: {exc}") from exc


def test_each_hook_section_shows_its_import_line():
    text = DOC.read_text(encoding="utf-8")
    hooks = [name for name in hookspecs.__all__ if name.startswith("register_")]
    assert hooks
    for hook in hooks:
        section = text.split(f"### `{hook}(register)`", 1)
        assert len(section) == 2, f"no section for {hook}"
        body = section[1].split("\n### ", 1)[0]
        assert IMPORT.search(body), f"the {hook} section shows no import line"
        assert re.search(r"^from ebi_mapper import .*\bhookimpl\b", body, re.M), hook
