"""compile_expression: syntax errors, extra functions, error parity with jmespath, limits, API."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import jmespath
import pytest
from jmespath import exceptions as jexc

import ebi_mapper.expressions as expressions
from ebi_mapper.errors import EbiMapperError, PluginError
from ebi_mapper.expressions import ExpressionSyntaxError, compile_expression, reference_search
from ebi_mapper.extensions import FunctionDef

_COMPLIANCE = Path(__file__).resolve().parent / "compliance"


def _syntax_cases():
    for path in sorted(_COMPLIANCE.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            for case in group["cases"]:
                if case.get("error") == "syntax":
                    yield pytest.param(case["expression"], id=f"{path.stem}:{case['expression'][:30]}")


@pytest.mark.filterwarnings("ignore:deprecated string literal syntax:PendingDeprecationWarning")
@pytest.mark.parametrize("source", list(_syntax_cases()))
def test_syntax_error_carries_jmespaths_position(source):
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(source)
    error = info.value
    cause = error.__cause__
    assert isinstance(cause, (jexc.ParseError, jexc.EmptyExpressionError))
    expected = getattr(cause, "lex_position", 0)
    assert error.position == (expected if isinstance(expected, int) else len(source))
    assert 0 <= error.position <= len(source)
    assert error.source == source
    assert error.message and "\n" not in error.message
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("source", "position", "token", "message"),
    [
        ("a.[", 3, "", "incomplete expression"),
        ("foo]", 3, "]", "Unexpected token: ]"),
        ("a = b", 2, "=", "Unknown token '='"),
        ("", 0, "", "empty expression"),
        ("a.'b'", 2, "b", "Expecting: ['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: literal at 'b'"),
    ],
)
def test_syntax_error_fields(source, position, token, message):
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(source)
    assert (info.value.position, info.value.token, info.value.message) == (position, token, message)


def test_syntax_error_is_an_ebi_mapper_value_error():
    assert issubclass(ExpressionSyntaxError, EbiMapperError)
    assert issubclass(ExpressionSyntaxError, ValueError)


def test_compiled_expression_api():
    compiled = compile_expression("a.b")
    assert compiled.source == "a.b"
    assert compiled({"a": {"b": 1}}) == compiled.search({"a": {"b": 1}}) == 1
    assert "def " in compiled.python_source
    # The AST is jmespath's, with position keys added.
    assert compiled.ast["type"] == jmespath.compile("a.b").parsed["type"] == "subexpression"
    assert [child["position"] for child in compiled.ast["children"]] == [0, 2]


def _double(n):
    return n * 2


EXTRAS = {
    "double": FunctionDef("double", _double, (("number",),)),
    "join_all": FunctionDef("join_all", lambda *parts: "-".join(parts), (("string",),), variadic=True),
    "nums": FunctionDef("nums", sum, (("array-number",),)),
    "apply": FunctionDef("apply", lambda ref, value: ref(value), (("expref",), ("any",))),
    "visit": FunctionDef("visit", lambda ref, value: ref.visit(ref.expression, value), (("expref",), ("any",))),
    "plain": lambda a, b=None: [a, b],
    "star": lambda *args: list(args),
}


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("double(a)", {"a": 4}, 8),
        ("join_all('a', 'b', c)", {"c": "d"}, "a-b-d"),
        ("nums(xs)", {"xs": [1, 2.5]}, 3.5),
        ("apply(&b, a)", {"a": {"b": 7}}, 7),
        ("visit(&b, a)", {"a": {"b": 7}}, 7),
        ("plain(a)", {"a": 1}, [1, None]),
        ("star(a, a)", {"a": 1}, [1, 1]),
        ("items[*].double(@)", {"items": [1, 2]}, [2, 4]),
    ],
)
def test_extra_functions(source, data, expected):
    assert compile_expression(source, EXTRAS)(data) == expected
    assert reference_search(source, data, EXTRAS) == expected


@pytest.mark.parametrize(
    ("source", "data", "error"),
    [
        ("double(a)", {"a": "x"}, jexc.JMESPathTypeError),
        ("double(a)", {"a": True}, jexc.JMESPathTypeError),
        ("double()", {}, jexc.ArityError),
        ("double(`1`, `2`)", {}, jexc.ArityError),
        ("join_all()", {}, jexc.VariadictArityError),
        ("join_all(`1`)", {}, jexc.JMESPathTypeError),
        ("nums(xs)", {"xs": [1, "2"]}, jexc.JMESPathTypeError),
        ("apply(a, a)", {"a": 1}, jexc.JMESPathTypeError),
        ("abs('x')", {}, jexc.JMESPathTypeError),
        ("sort(xs)", {"xs": [1, "a"]}, jexc.JMESPathTypeError),
        ("sort_by(xs, &a)", {"xs": [{"a": 1}, {"a": "b"}]}, jexc.JMESPathTypeError),
        ("length()", {}, jexc.ArityError),
        ("not_null()", {}, jexc.VariadictArityError),
        ("nope(a)", {"a": 1}, jexc.UnknownFunctionError),
        ("nope(abs('x'))", {}, jexc.JMESPathTypeError),  # arguments are evaluated first
        ("a[::0]", {"a": [1]}, ValueError),
        ("merge(`{}`, `1`)", {}, TypeError),  # jmespath checks only the first variadic argument
    ],
)
def test_runtime_errors_match_jmespath_class_and_message(source, data, error):
    with pytest.raises(error) as ours:
        compile_expression(source, EXTRAS)(data)
    with pytest.raises(error) as theirs:
        reference_search(source, data, EXTRAS)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_unknown_function_is_not_an_error_until_called():
    compiled = compile_expression("items[*].nope(@)")
    assert compiled({"items": []}) == []
    with pytest.raises(jexc.UnknownFunctionError):
        compiled({"items": [1]})


@pytest.mark.parametrize(
    ("functions", "match"),
    [
        ({"length": len}, "shadow"),
        ({"bad-name": len}, "not a valid"),
        ({"f": FunctionDef("f", len, (("strnig",),))}, "unknown type"),
        ({"f": FunctionDef("f", len, ("string",))}, "tuple of type names"),
        ({"f": FunctionDef("f", len, (), variadic=True)}, "variadic"),
        ({"f": 42}, "callable"),
    ],
    ids=["shadows-builtin", "bad-name", "bad-type", "bare-string", "empty-variadic", "not-callable"],
)
def test_bad_function_definitions_are_plugin_errors(functions, match):
    with pytest.raises(PluginError, match=match):
        compile_expression("a", functions)


@pytest.mark.parametrize(
    "source",
    [
        "(" * 60 + "a" + ")" * 60,
        " || ".join(f"(a{i}" for i in range(80)) + ")" * 80,
        "[" * 40 + "a" + "]" * 40,
        "a" + "[*].a" * 30,
        "a" + "[?b].a" * 25,
        "{x: " * 40 + "a" + "}" * 40,
        "&&".join(["a"] * 200),
    ],
    ids=["parens", "nested-or", "nested-lists", "projections", "filters", "nested-dicts", "long-and"],
)
def test_deeply_nested_expressions_compile_and_match(source):
    data = {"a": [{"a": [{"a": 1, "b": True}], "b": True}], "b": True}
    assert compile_expression(source)(data) == jmespath.search(source, data)


def test_shared_expression_is_thread_safe():
    compiled = compile_expression("items[?kind == 'x'].n | sum(@)")
    errors = []

    def worker(offset):
        for i in range(2000):
            data = {"items": [{"kind": "x", "n": i + offset}, {"kind": "y", "n": 1}]}
            if compiled(data) != i + offset:
                errors.append((offset, i))

    threads = [threading.Thread(target=worker, args=(k * 10_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_all_is_complete():
    public = {name for name in dir(expressions) if not name.startswith(("_", "@"))}  # @: pytest rewriting
    modules = {"analysis", "compiler", "errors", "function_table", "parsing", "reference", "runtime", "value_errors", "annotations"}
    assert set(expressions.__all__) == public - modules
    for name in expressions.__all__:
        obj = getattr(expressions, name)
        if callable(obj):
            assert obj.__doc__, name
