"""engine/ is split by concern, and the fast path stands behind a public seam.

- every module of ebi_mapper/engine is at most 600 lines;
- the rooms: the semantics (engine/*.py) do not import the fast path (engine/fast/) or the
  JSON-lines room (engine/jsonl/), except where the public entry points are assembled
  (build.py makes the FastPath, __init__.py re-exports the reader; mapper.py names the FastPath
  type for annotations only);
- the fast path uses only public engine names: no ``obj._private`` attribute of anything but
  itself, no ``_private`` name imported from outside engine/fast/, and no building an object
  around its constructor (``object.__new__``, ``__setattr__``, ``__dict__``), neither in its own
  code nor in the code it generates for the example mappings.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ebi_mapper import compile_mapping, load_mapping

ENGINE = Path(__file__).resolve().parents[2] / "ebi_mapper" / "engine"
EXAMPLES = Path(__file__).resolve().parents[2] / "mappings" / "examples"
LIMIT = 600
_BYPASS = ("__new__", "__setattr__", "__dict__")


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.py"))


def test_no_engine_module_is_over_600_lines():
    long = {str(p.relative_to(ENGINE)): n for p in ENGINE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"split these (one job per module, at most {LIMIT} lines): {long}"


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module as written, under `if TYPE_CHECKING:`) for each relative import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    return [(n.lineno, "." * n.level + (n.module or ""), id(n) in guarded)
            for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0]


def test_the_semantics_do_not_reach_into_the_fast_path_or_the_io_room():
    allowed = {("build.py", ".fast"), ("__init__.py", ".jsonl.decode")}  # the public entry points, assembled
    bad = []
    for path in _modules(ENGINE):
        for line, module, typing_only in _imports(path):
            if module.startswith((".fast", ".jsonl")) and not typing_only and (path.name, module) not in allowed:
                bad.append(f"{path.name}:{line} imports {module}")
    assert not bad, bad


def test_the_fast_path_uses_only_public_engine_names():
    bad = []
    for path in _modules(ENGINE / "fast"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
                if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                    bad.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Attribute) and node.attr in _BYPASS:
                bad.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and not (node.level == 1):  # outside engine/fast/
                bad += [f"{path.name}:{node.lineno} imports {a.name}" for a in node.names if a.name.startswith("_")]
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and any(b in node.value for b in _BYPASS):
                bad.append(f"{path.name}:{node.lineno} writes {node.value[:60]!r}")
    assert not bad, f"engine/fast/ must use the public engine API only: {bad}"


@pytest.mark.parametrize("path", sorted(p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".tests.yaml")), ids=lambda p: p.stem)
def test_generated_code_builds_results_with_their_constructors(path):
    mapper = compile_mapping(load_mapping(path))
    for crule in mapper.rules:
        assert crule.python_source and not any(b in crule.python_source for b in _BYPASS), crule.rule.name
        assert "_OotbEvent(" in crule.python_source or "_finish(" in crule.python_source, crule.rule.name
