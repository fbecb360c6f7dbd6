"""Whatever is done to a mapping file, lint reports findings and never raises."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, note, settings
from hypothesis import strategies as st

from ebi_mapper.lint import lint_mapping
from ebi_mapper.mapping import read_mapping

BASE_LINES = (Path(__file__).parent / "base.yaml").read_text(encoding="utf-8").split("\n")

_VALUES = st.sampled_from(
    [
        "", "~", "0", "-1", "1.5", "true", "[]", "{}", "[a, b]", "{expr: x}", "{value: 3}", "{expr: 'a ||'}",
        "'unclosed", "\"a\\\"b\"", "!tag x", "&a x", "*a", "|", ">-", "data.x || `1", "to_strin(x)",
        "lookup('nope', x)", "ootb_deposit", "ootb_nope", "Mars/Olympus", "XYZ", "2026-01-01", "'é'", "`\"é\"`",
    ]
)


@st.composite
def mutated_mapping(draw) -> str:
    """The base mapping with 1-3 line-level edits: deletions, duplications, changed values."""
    lines = list(BASE_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "value", "indent"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "indent":
            lines[i] = " " + lines[i]
        elif ": " in lines[i]:
            lines[i] = lines[i].split(": ", 1)[0] + ": " + draw(_VALUES)
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(mutated_mapping())
def test_lint_never_raises_and_every_finding_is_located_in_the_file(text):
    note(text)
    report = lint_mapping(read_mapping("m.yaml", text=text))
    n_lines = text.count("\n") + 1
    for finding in report.findings:
        assert finding.severity in ("error", "warning")
        assert finding.loc.file == "m.yaml"
        assert 1 <= finding.loc.line <= n_lines + 1 and finding.loc.col >= 1, finding
        assert finding.message and "\n" not in finding.code
    assert report.findings == sorted(report.findings, key=lambda f: (f.loc.line, f.loc.col, f.code))


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,6}){0,4}", fullmatch=True))
def test_the_simple_path_shortcut_agrees_with_the_parser(source):
    """Lint skips jmespath's parser for dotted identifier paths: the parser must find nothing in them either."""
    from ebi_mapper.expressions import function_calls, literal_value, parse_expression, simple_path
    from ebi_mapper.lint.basics import SIMPLE_PATH as _SIMPLE_PATH
    from ebi_mapper.lint.basics import analyse as _analyse

    assert _SIMPLE_PATH.fullmatch(source)
    ast = parse_expression(source)
    assert simple_path(ast) == tuple(source.split("."))
    assert function_calls(ast) == [] and literal_value(ast) == (False, None)
    facts = _analyse(source)
    assert (facts.error, facts.calls, facts.literal, facts.tables) == (None, (), (False, None), ())
