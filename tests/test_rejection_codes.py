"""The one table of rejection codes (ebi_mapper/rejection_codes.py) is the only source of codes and messages.

- every code the code base emits is in the table, and every table entry is emitted somewhere (AST scan
  of ebi_mapper/, generated-code strings included);
- no module but the table builds a Rejection or Filtered with its own code and message;
- docs/rejections.md lists every entry, as generated from the table;
- the generated-code form of a message (message_source) equals the message (Hypothesis).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import ebi_mapper
from ebi_mapper.rejection_codes import CODES, Source, markdown_table, message, message_source, rejection

PACKAGE = Path(ebi_mapper.__file__).parent
DOC = Path(__file__).parent.parent / "docs" / "rejections.md"
TABLE_MODULE = PACKAGE / "rejection_codes.py"
_BUILDERS = {"rejection", "filtered", "message", "message_source", "reject", "_reject"}
_IN_GENERATED = re.compile(r"_(?:Rejection|Filtered)\('([a-z_]+)'")


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p != TABLE_MODULE]


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _scan() -> tuple[dict[str, list[str]], list[str]]:
    """Codes used (code -> where) and direct Rejection/Filtered constructions (where)."""
    used: dict[str, list[str]] = {}
    direct: list[str] = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in ("Rejection", "Filtered"):
                    direct.append(f"{where}:{node.lineno}")
                if name in _BUILDERS:
                    first = next((a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)), None)
                    if first is not None:
                        used.setdefault(first.value, []).append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                for code in _IN_GENERATED.findall(node.value):
                    used.setdefault(code, []).append(f"{where}:{node.lineno}")
    return used, direct


def test_every_emitted_code_is_in_the_table_and_every_entry_is_emitted():
    used, _ = _scan()
    unknown = {code: where for code, where in used.items() if code not in CODES}
    assert not unknown, f"codes emitted but not in ebi_mapper/rejection_codes.py: {unknown}"
    unused = sorted(set(CODES) - set(used))
    assert not unused, f"table entries nothing emits: {unused}"


def test_only_the_table_builds_rejections_and_filters():
    _, direct = _scan()
    assert not direct, f"build these through ebi_mapper.rejection_codes (rejection/filtered): {direct}"


def test_the_docs_page_lists_every_entry():
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- codes:start -->\n", "<!-- codes:end -->"
    assert start in text and end in text, "docs/rejections.md lost its generated table markers"
    block = text.split(start, 1)[1].split(end, 1)[0]
    assert block == markdown_table(), (
        "docs/rejections.md is out of step with the table; regenerate with "
        "python -c 'from ebi_mapper.rejection_codes import markdown_table; print(markdown_table())'"
    )
    for entry in CODES.values():
        assert entry.doc and entry.stage in ("input", "mapping", "guard", "validation", "delivery"), entry.code


def test_an_unknown_code_is_refused():
    try:
        rejection("no_such_code")
    except KeyError as exc:
        assert "no_such_code" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown code was accepted")


_values = st.one_of(st.text(max_size=20), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32), st.none())
_cases = [(code, variant) for code, entry in CODES.items() for variant in entry.templates]


def _numeric(name: str, template: str) -> bool:
    return re.search(r"\{" + name + r"(![rs])?:[^}]+\}", template) is not None


@given(st.sampled_from(_cases), st.data())
def test_message_source_equals_message(case, data):
    code, variant = case
    template = CODES[code].templates[variant]
    names = sorted(set(re.findall(r"\{(\w+)", template)))
    values = {}
    for name in names:
        values[name] = data.draw(st.floats(-1e6, 1e6) if _numeric(name, template) else _values, label=name)
    dynamic = {n for n in names if data.draw(st.booleans(), label=f"{n} at run time")}
    params = {n: Source(f"v[{n!r}]") if n in dynamic else values[n] for n in names}
    text = message_source(code, variant, **params)
    assert eval(text, {"v": values}) == message(code, variant, **values)  # noqa: S307 - our own generated expression
