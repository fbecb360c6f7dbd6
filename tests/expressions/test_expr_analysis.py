"""The analysis helpers: paths, presence, equality tests, function calls, literals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.expressions import (
    compile_expression,
    equality_tests,
    field_paths,
    function_calls,
    literal_value,
    presence,
    simple_path,
    unknown_functions,
)


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("data.player.id", ("data", "player", "id")),
        ("a", ("a",)),
        ('"quoted key".x', ("quoted key", "x")),
        ("items[0].id", ("items", 0, "id")),
        ("items[-1]", ("items", -1)),
        ("[2][0]", (2, 0)),
        ("@", ()),
        ("@.a", ("a",)),
        ("a | b.c", ("a", "b", "c")),
        ("a[*].b", None),
        ("a[]", None),
        ("a[0:1]", None),
        ("a || b", None),
        ("'a'", None),
        ("length(a)", None),
        ("{a: a}", None),
        ("a.*", None),
    ],
    ids=lambda v: repr(v),
)
def test_simple_path(source, path):
    assert simple_path(source) == path


def test_simple_path_accepts_compiled_expression_and_ast():
    compiled = compile_expression("data.player.id")
    assert simple_path(compiled) == simple_path(compiled.ast) == ("data", "player", "id")


def test_analysis_rejects_non_expressions():
    with pytest.raises(TypeError):
        simple_path(42)


@pytest.mark.parametrize(
    ("data", "path", "state"),
    [
        ({"a": {"b": 1}}, ("a", "b"), "value"),
        ({"a": {"b": None}}, ("a", "b"), "null"),
        ({"a": {}}, ("a", "b"), "missing"),
        ({"a": None}, ("a", "b"), "missing"),
        ({}, ("a", "b"), "missing"),
        ({"a": "text"}, ("a", "b"), "missing"),
        ({"a": [1, None]}, ("a", 1), "null"),
        ({"a": [1, None]}, ("a", -2), "value"),
        ({"a": [1, None]}, ("a", 2), "missing"),
        ({"a": {"0": 1}}, ("a", 0), "missing"),
        ({"a": False}, ("a",), "value"),
        (None, (), "null"),
        ([], (), "value"),
    ],
    ids=lambda v: repr(v),
)
def test_presence(data, path, state):
    assert presence(data, path) == state


KEYS = ["a", "b", "0"]
documents = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from(["", "x"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=15,
)
steps = st.one_of(st.sampled_from(['.a', '.b', '."0"']), st.integers(-3, 3).map(lambda n: f"[{n}]"))
paths = st.tuples(st.sampled_from(["a", "b", "@", "[0]"]), st.lists(steps, max_size=3)).map(lambda t: t[0] + "".join(t[1]))


@settings(max_examples=200, deadline=None)
@given(source=paths, data=documents)
def test_presence_agrees_with_evaluation(source, data):
    path = simple_path(source)
    assert path is not None
    state = presence(data, path)
    result = compile_expression(source)(data)
    assert (state == "value") == (result is not None)


@pytest.mark.parametrize(
    ("source", "paths"),
    [
        ("data.player.id", [("data", "player", "id")]),
        ("a || 'x'", [("a",)]),
        ("to_string(root.id)", [("root", "id")]),
        ("items[?kind == 'x'].amount", [("items", "[]", "kind"), ("items", "[]", "amount")]),
        ("items[*].id", [("items", "[]", "id")]),
        ("items[]", [("items", "[]")]),
        ("obj.*.name", [("obj", "*", "name")]),
        ("a.b[0].c", [("a", "b", 0, "c")]),
        ("a == 'x' && b.c > `1`", [("a",), ("b", "c")]),
        ("{id: a.id, n: length(b)}", [("a", "id"), ("b",)]),
        ("[a, a]", [("a",)]),
        ("!flag", [("flag",)]),
        ("sort_by(items, &price)[*].name", [("items", "[]", "price"), ("items", "[]", "name")]),
        ("max_by(items, &price).name", [("items", "[]", "price"), ("items", "[]", "name")]),
        ("map(&id, items)", [("items", "[]", "id")]),
        ("data | player.id", [("data", "player", "id")]),
        ("'literal'", []),
        ("@", [()]),
        ("lookup('t', &x)", []),
        ("length(keys(a)).b", [("a",)]),
    ],
    ids=lambda v: repr(v),
)
def test_field_paths(source, paths):
    assert field_paths(source) == paths


@pytest.mark.parametrize(
    ("source", "tests"),
    [
        ("type == 'deposit'", [(("type",), "deposit")]),
        ("'deposit' == type", [(("type",), "deposit")]),
        ("a.b == 'x' && c == `1` && d == `true`", [(("a", "b"), "x"), (("c",), 1), (("d",), True)]),
        ("kind == 'x' && amount > `0`", [(("kind",), "x")]),
        ("kind == 'x' || kind == 'y'", []),
        ("kind != 'x'", []),
        ("items[0].kind == 'x'", [(("items", 0, "kind"), "x")]),
        ("length(a) == `1`", []),
        ("a == b", []),
        ("'x' == 'x'", []),
    ],
    ids=lambda v: repr(v),
)
def test_equality_tests(source, tests):
    assert equality_tests(source) == tests


def test_equality_tests_are_necessary_conditions():
    """Whenever the expression is truthy, each listed test holds on the payload."""
    source = "type == 'deposit' && status == 'ok' && amount > `0`"
    compiled = compile_expression(source)
    payload = {"type": "deposit", "status": "ok", "amount": 5}
    assert compiled(payload) is True
    for path, literal in equality_tests(source):
        assert compile_expression(".".join(path))(payload) == literal


@pytest.mark.parametrize(
    ("source", "calls"),
    [
        ("a(b) || foo(x, bar(y))", [("a", 0), ("foo", 8), ("bar", 15)]),
        ("  to_string( x )", [("to_string", 2)]),
        ("items[*].length(@)", [("length", 9)]),
        ("(foo)(x)", [("foo", 1)]),
        ("sort_by(a, &to_number(b))", [("sort_by", 0), ("to_number", 12)]),
        ("a.b", []),
    ],
    ids=lambda v: repr(v),
)
def test_function_calls(source, calls):
    assert function_calls(source) == calls
    for name, position in calls:
        assert source[position : position + len(name)] == name


def test_function_calls_from_a_compiled_expression():
    assert function_calls(compile_expression("lookup('t', a)").ast) == [("lookup", 0)]


def test_unknown_functions():
    source = "lookup('t', a) || to_strin(b) || length(c)"
    assert unknown_functions(source) == [("lookup", 0), ("to_strin", 18)]
    assert unknown_functions(source, {"lookup"}) == [("to_strin", 18)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'completed'", (True, "completed")),
        ("`12`", (True, 12)),
        ("`1.5`", (True, 1.5)),
        ("`null`", (True, None)),
        ('`{"a": [1]}`', (True, {"a": [1]})),
        ("('x')", (True, "x")),
        ("completed", (False, None)),
        ("'a' || 'b'", (False, None)),
    ],
    ids=lambda v: repr(v),
)
def test_literal_value(source, expected):
    assert literal_value(source) == expected
