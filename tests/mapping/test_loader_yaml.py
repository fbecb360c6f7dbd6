"""Reading YAML safely with locations: ``ebi_mapper.mapping.yaml_source``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, note, settings
from hypothesis import strategies as st

from ebi_mapper.mapping.loader import read_mapping
from ebi_mapper.mapping.yaml_source import MAX_NODES, read_yaml, scalar_positions

BASE = Path(__file__).parents[1] / "lint" / "base.yaml"


def codes(doc) -> list[tuple[int, int, str]]:
    return [(f.loc.line, f.loc.col, f.code) for f in doc.findings]


# ---- locations ---------------------------------------------------------------------------------


def test_every_value_and_key_keeps_its_line_and_column():
    text = "a: 1\nrules:\n  - name: x\n    context:\n      k:   'v'\n"
    doc = read_yaml(text, "m.yaml")
    assert doc.findings == []
    assert doc.data == {"a": 1, "rules": [{"name": "x", "context": {"k": "v"}}]}
    assert (doc.loc(("a",)).line, doc.loc(("a",)).col) == (1, 4)
    assert (doc.key_loc(("rules",)).line, doc.key_loc(("rules",)).col) == (2, 1)
    assert (doc.loc(("rules", 0)).line, doc.loc(("rules", 0)).col) == (3, 5)
    assert (doc.key_loc(("rules", 0, "context", "k")).line, doc.key_loc(("rules", 0, "context", "k")).col) == (5, 7)
    assert (doc.loc(("rules", 0, "context", "k")).line, doc.loc(("rules", 0, "context", "k")).col) == (5, 12)
    assert doc.loc(("rules", 0, "context", "k")).file == "m.yaml"


def test_a_missing_path_falls_back_to_its_nearest_written_ancestor():
    doc = read_yaml("a:\n  b: 1\n")
    assert doc.loc(("a", "zzz", 3)) == doc.loc(("a",))
    assert doc.key_loc(("a", "zzz")) == doc.loc(("a",))
    assert not doc.has(("a", "zzz")) and doc.has(("a", "b"))


@pytest.mark.parametrize(
    ("line", "offset", "expected_col"),
    [
        ("k: data.x || y", 8, 12),  # plain
        ("k: 'data.x || y'", 8, 13),  # single-quoted: after the quote
        ('k: "data.x || y"', 8, 13),  # double-quoted
        ("k: 'it''s || y'", 5, 11),  # '' is one character of the value
        ('k: "a\\"b\\" || y"', 6, 13),  # \" is one character of the value
        ('k: "\\u00e9t\\u00e9 || y"', 4, 19),  # \uXXXX is one character of the value
        ("k: {expr: \"a ||\", default: 1}", 4, 16),  # just past the end: the closing quote
        ("k: café || y", 5, 9),  # columns count characters, not bytes
    ],
    ids=["plain", "single", "double", "single-escape", "double-escape", "unicode-escape", "end", "non-ascii"],
)
def test_text_loc_points_at_a_character_inside_one_line_scalars(line, offset, expected_col):
    doc = read_yaml(line + "\n")
    path = ("k", "expr") if "{expr" in line else ("k",)
    loc = doc.text_loc(path, offset)
    assert (loc.line, loc.col) == (1, expected_col)


def test_text_loc_inside_block_and_folded_scalars():
    text = "a: |\n  first\n    second ||\nb: >-\n  one\n  two\n\n  three\nc: plain\n  continued here\n"
    doc = read_yaml(text)
    lines = text.split("\n")

    def char_at(path, offset):
        loc = doc.text_loc(path, offset)
        return lines[loc.line - 1][loc.col - 1]

    a = doc.data["a"]
    assert a == "first\n  second ||\n"
    assert char_at(("a",), a.index("||")) == "|" and doc.text_loc(("a",), a.index("||")).line == 3
    b = doc.data["b"]
    assert b == "one two\nthree"
    assert (doc.text_loc(("b",), b.index("three")).line, doc.text_loc(("b",), b.index("three")).col) == (8, 3)
    assert (doc.text_loc(("b",), b.index("two")).line, doc.text_loc(("b",), b.index("two")).col) == (6, 3)
    c = doc.data["c"]
    assert c == "plain continued here"
    assert (doc.text_loc(("c",), c.index("here")).line, doc.text_loc(("c",), c.index("here")).col) == (10, 13)


_STYLES = [None, "'", '"', "|", ">"]


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(alphabet="ab xy'\"\\é\t.()=#:-|&`\n", min_size=1, max_size=40),
    style=st.sampled_from(_STYLES),
    width=st.sampled_from([12, 30, 80]),
    unicode=st.booleans(),
)
def test_every_character_of_a_scalar_maps_to_where_it_is_written(value, style, width, unicode):
    text = yaml.dump({"rules": [{"when": value}]}, default_style=style, width=width, allow_unicode=unicode)
    note(text)
    doc = read_yaml(text)
    assert doc.findings == [] and doc.data["rules"][0]["when"] == value
    _, _, start, end, written_style = doc._values[("rules", 0, "when")]
    positions = scalar_positions(doc.source, start, end, written_style, value)
    header = doc.source[start : doc.source.find("\n", start)] if written_style in ("|", ">") else ""
    if positions is None:
        # the only scalars not replayed: blocks with an explicit indentation indicator (|2-)
        assert any(ch.isdigit() for ch in header), (written_style, header)
        return
    assert len(positions) == len(value) + 1
    for i, ch in enumerate(value):
        written = doc.source[positions[i]]
        assert (
            written == ch
            or written == "\\"  # a double-quoted escape starts here
            or (ch in " \n" and written == "\n")  # a folded line break
            or (ch == "'" and doc.source.startswith("''", positions[i]))
        ), (i, ch, written)
        loc = doc.text_loc(("rules", 0, "when"), i)
        assert doc._loc_of_index(positions[i]) == loc


class _AsWritten(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader, keeping timestamps and keys as text as ours does: the fuzz test's reference."""

    def construct_mapping(self, node, deep=False):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key_node.tag = "tag:yaml.org,2002:str"
        return super().construct_mapping(node, deep)


_AsWritten.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))

_YAMLISH = st.text(alphabet="ab1 :-[]{},'\"&*!#|>\n.~?", max_size=60) | st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(_YAMLISH)
def test_reading_any_text_never_raises_and_agrees_with_pyyaml(text):
    doc = read_yaml(text, "fuzz.yaml")
    assert all(f.severity == "error" and f.loc.line >= 1 and f.loc.col >= 1 for f in doc.findings)
    if doc.findings or "nan" in text.lower():
        return
    try:
        expected = yaml.load(text, Loader=_AsWritten)
    except (yaml.YAMLError, ValueError):  # e.g. a timestamp-like text PyYAML cannot build: we keep text
        return
    note(repr(expected))
    assert doc.data == expected


# ---- duplicate keys, tags, merge keys ----------------------------------------------------------


def test_duplicate_keys_are_reported_where_the_second_is_written():
    doc = read_yaml("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\na: 4\n")
    assert codes(doc) == [(5, 3, "duplicate-key"), (6, 1, "duplicate-key")]
    assert "'x'" in doc.findings[0].message and "first at line 3" in doc.findings[0].message
    assert doc.data["a"] == 1 and doc.data["b"]["x"] == 1  # the first one is kept, not the last


@pytest.mark.parametrize(
    ("text", "col", "shown"),
    [
        ("a: !!python/object/apply:os.system ['echo x']\n", 4, "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system\n", 4, "!!python/name:os.system"),
        ("a: !custom value\n", 4, "!custom"),
        ("a: !!binary aGVsbG8=\n", 4, "!!binary"),
        ("a: !!set {x}\n", 4, "!!set"),
    ],
    ids=["python-apply", "python-name", "custom", "binary", "set"],
)
def test_tags_beyond_plain_yaml_are_refused(text, col, shown):
    doc = read_yaml(text)
    assert codes(doc) == [(1, col, "yaml-tag")]
    assert shown in doc.findings[0].message


def test_a_refused_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    result = read_mapping("m.yaml", text=f"ebi_mapping: 1\nclient: !!python/object/apply:os.system ['touch {marker}']\n")
    assert [f.code for f in result.findings] == ["yaml-tag"]
    assert not marker.exists()
    assert result.mapping is None


def test_tags_on_keys_are_refused_and_plain_tags_allowed():
    assert codes(read_yaml("!foo a: 1\n")) == [(1, 1, "yaml-tag")]
    doc = read_yaml("a: !!str 12\nb: !!int '7'\n")
    assert doc.findings == [] and doc.data == {"a": "12", "b": 7}


def test_merge_keys_are_refused():
    doc = read_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")
    assert codes(doc) == [(3, 3, "yaml-merge")]


def test_timestamps_stay_as_written():
    doc = read_yaml("a: 2026-12-01 00:00:00\nb: 2026-12-01\n")
    assert doc.data == {"a": "2026-12-01 00:00:00", "b": "2026-12-01"}


# ---- aliases -----------------------------------------------------------------------------------


def _bomb(levels: int, fan: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * fan)}]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan)}]")
    return "\n".join(lines) + "\n"


def test_small_aliases_are_fine_and_values_are_located_at_their_anchor():
    doc = read_yaml("a: &x {k: 1}\nb: *x\n")
    assert doc.findings == [] and doc.data == {"a": {"k": 1}, "b": {"k": 1}}
    assert doc.key_loc(("b",)).line == 2
    # the composed graph shares the anchored node: its text (and so its location) is at the anchor
    assert (doc.loc(("b",)).line, doc.loc(("b", "k")).line) == (1, 1)


def test_alias_bomb_is_refused_without_expanding_it():
    text = _bomb(levels=20)  # 9**21 values if expanded: only a refusal before building can finish
    started = time.perf_counter()
    doc = read_yaml(text, "bomb.yaml")
    elapsed = time.perf_counter() - started
    assert [f.code for f in doc.findings] == ["too-many-nodes"]
    assert doc.data is None
    # the finding points at the first value whose expansion passes the limit (9**6 > 500,000)
    assert (doc.findings[0].loc.line, doc.findings[0].loc.col) == (6, 5)
    assert f"{MAX_NODES:,}" in doc.findings[0].message
    assert elapsed < 2.0  # generous: building even the limit's worth of values would not be "refused"


def test_a_document_just_under_the_node_limit_is_built():
    doc = read_yaml(_bomb(levels=4))  # 9**5 + ... < 500,000 values
    assert doc.findings == []
    assert len(doc.data["l4"]) == 9


def test_recursive_alias_is_refused():
    doc = read_yaml("a: &a [1, *a]\n")
    assert [f.code for f in doc.findings] == ["recursive-alias"]


def test_nesting_deeper_than_100_is_refused():
    doc = read_yaml("a: " + "[" * 150 + "]" * 150 + "\n")
    assert [f.code for f in doc.findings] == ["too-deep"]


# ---- size, encoding, documents ----------------------------------------------------------------


def test_size_limit_is_checked_before_parsing():
    text = "a: [" + "1, " * 100 + "]\n"
    doc = read_yaml(text, "big.yaml", max_bytes=100)
    assert codes(doc) == [(1, 1, "file-too-large")]
    assert f"{len(text):,} bytes" in doc.findings[0].message and "100 bytes" in doc.findings[0].message
    assert read_yaml(text, max_bytes=len(text)).findings == []


def test_size_limit_counts_utf8_bytes_not_characters():
    text = "a: " + "é" * 60 + "\n"  # 64 characters, 124 bytes
    assert [f.code for f in read_yaml(text, max_bytes=100).findings] == ["file-too-large"]


def test_read_mapping_refuses_a_large_file_by_its_size(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 5000)
    result = read_mapping(path, max_bytes=4096)
    assert [(f.loc.line, f.code) for f in result.findings] == [(1, "file-too-large")]


def test_invalid_utf8_is_reported_with_its_line_and_column():
    data = b"ebi_mapping: 1\nclient: caf" + b"\xe9\n"
    doc = read_yaml(data, "latin1.yaml")
    assert codes(doc) == [(2, 12, "encoding")]
    assert "0xe9" in doc.findings[0].message and "UTF-8" in doc.findings[0].message


def test_a_bom_does_not_shift_columns():
    doc = read_yaml("\ufeffa: x\n".encode())
    assert doc.findings == [] and doc.data == {"a": "x"}
    assert (doc.loc(("a",)).line, doc.loc(("a",)).col) == (1, 4)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"], ids=["empty", "comment", "marker"])
def test_empty_file_is_a_finding(text):
    assert [f.code for f in read_yaml(text).findings] == ["empty"]


def test_two_documents_are_refused():
    doc = read_yaml("a: 1\n---\nb: 2\n")
    assert codes(doc) == [(3, 1, "multiple-documents")]


def test_syntax_error_names_where_the_construct_started():
    doc = read_yaml("a: [1, 2\nb: 3\n")
    assert [f.code for f in doc.findings] == ["yaml-syntax"]
    assert "started at line 1, column 4" in doc.findings[0].message


def test_the_base_mapping_reads_without_findings():
    doc = read_yaml(BASE.read_bytes(), str(BASE))
    assert doc.findings == []
