"""docs/python-api.md runs as written: every ```python block, in order, in one namespace, from the repo root."""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
from pathlib import Path

import ebi_mapper

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def test_every_python_block_of_the_page_runs_in_order():
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4, "the page lost its examples"
    namespace: dict = {"__name__": "python_api_doc"}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for i, block in enumerate(blocks, 1):
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    exec(compile(block, f"{DOC.name} block {i}", "exec"), namespace)
                except Exception as exc:  # name the block, so the doc is easy to fix
                    raise AssertionError(f"{DOC.name} python block {i} raised {exc!r}:\n{block}") from exc
    finally:
        os.chdir(cwd)


def test_the_page_uses_only_public_names():
    public = set(ebi_mapper.__all__)
    for block in python_blocks(DOC.read_text(encoding="utf-8")):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ebi_mapper"):
                assert node.module == "ebi_mapper", f"import from a private module: {node.module}"
                assert {a.name for a in node.names} <= public, {a.name for a in node.names} - public
