"""Differential test: random documents x random expressions, compiled evaluator == jmespath."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from ebi_mapper.default_plugins.functions import BUILTIN_FUNCTIONS as _BUILTINS
from ebi_mapper.expressions.function_table import BUILTIN_FUNCTIONS, make_function_table
from ebi_mapper.extensions import FunctionDef
from expr_support import compiled_outcome, reference_outcome, same_outcome

KEYS = ["a", "b", "c", "foo", "bar"]
STRINGS = ["", "a", "b", "foo", "A", "0"]


def _apply(ref, value):
    return ref(value)


EXTRAS = {
    "add_one": FunctionDef("add_one", lambda n: n + 1, (("number",),)),
    "concat": FunctionDef("concat", lambda *parts: "".join(parts), (("string",), ("string",)), variadic=True),
    "first_or": FunctionDef("first_or", lambda arr, default: arr[0] if arr else default, (("array",), ("any",))),
    "apply": FunctionDef("apply", _apply, (("expref",), ("any",))),
    "total": FunctionDef("total", lambda nums: sum(nums), (("array-number",),)),
    "pick": FunctionDef("pick", lambda obj, key: obj.get(key), (("object", "null"), ("string",))),
    "upper": lambda s: s.upper(),  # a plain callable: one argument of any type
    # lazy special forms (issue 15): arguments reach them unevaluated, on both evaluators
    **{d.name: d for d in _BUILTINS if d.lazy},
}
FUNCTION_NAMES = sorted(BUILTIN_FUNCTIONS) + sorted(EXTRAS) + ["no_such_fn"]
_TABLE = make_function_table(EXTRAS).table
ARITY = {name: len(_TABLE[name]["signature"]) if name in _TABLE else 1 for name in FUNCTION_NAMES}

# -- documents ---------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 2, 10, 0.0, 1.0, -0.0, 1.5, 2.5, -3.25]),
    st.integers(-1000, 1000),
    st.sampled_from(STRINGS),
)
json_docs = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    ),
    max_leaves=20,
)
# Python values that are not plain JSON: the slow paths must still match jmespath.
python_docs = st.recursive(
    st.one_of(scalars, st.sampled_from([Decimal("0"), Decimal("1.5"), ()])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3).map(OrderedDict),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    ),
    max_leaves=12,
)

# -- expressions -------------------------------------------------------------------------------

identifiers = st.sampled_from(KEYS + ['"foo"', '"with space"'])
literals = st.sampled_from(
    ["'a'", "'foo'", "''", "`1`", "`0`", "`1.0`", "`0.0`", "`2.5`", "`-1`", "`true`", "`false`", "`null`",
     '`"b"`', "`[1, 2]`", "`[]`", '`{"a": 1}`', "`{}`", '`["a", "b"]`', "`[0, 1.5, 3]`", "`NaN`", "`-Infinity`", '`"\\u00e9"`']
)
indexes = st.integers(-3, 3).map(lambda n: f"[{n}]")
slices = st.tuples(
    st.sampled_from(["", "0", "1", "-1", "2"]),
    st.sampled_from(["", "0", "1", "-1", "3"]),
    st.sampled_from([None, "", "1", "2", "-1", "0"]),
).map(lambda p: f"[{p[0]}:{p[1]}]" if p[2] is None else f"[{p[0]}:{p[1]}:{p[2]}]")


def _segments(conditions):
    return st.one_of(
        identifiers.map(lambda k: f".{k}"),
        indexes,
        slices,
        st.just("[*]"),
        st.just("[]"),
        st.just(".*"),
        conditions.map(lambda c: f"[?{c}]"),
    )


def _path(conditions):
    """A base followed by segments, unparenthesised, so projections carry on as jmespath parses them."""
    return st.tuples(st.one_of(identifiers, st.just("@")), st.lists(_segments(conditions), max_size=4)).map(
        lambda t: t[0] + "".join(t[1])
    )


def _extend(inner):
    comparators = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    conditions = st.one_of(
        st.tuples(inner, comparators, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner,
    )
    arg = st.one_of(inner, inner.map(lambda e: f"&{e}"))
    # Mostly the right number of arguments, so function bodies run and not only arity checks.
    calls = st.sampled_from(FUNCTION_NAMES).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.one_of(st.lists(arg, min_size=ARITY[name], max_size=ARITY[name]), st.lists(arg, max_size=3)),
        )
    )
    return st.one_of(
        _path(conditions),
        st.tuples(inner, st.lists(_segments(conditions), min_size=1, max_size=3)).map(lambda t: f"({t[0]}){''.join(t[1])}"),
        st.tuples(inner, comparators, inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(inner, st.sampled_from(["||", "&&", "|"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        inner.map(lambda e: f"!({e})"),
        st.lists(inner, min_size=1, max_size=3).map(lambda es: "[" + ", ".join(es) + "]"),
        st.lists(st.tuples(st.sampled_from(KEYS), inner), min_size=1, max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {e}" for k, e in kv) + "}"
        ),
        calls.map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(identifiers, st.sampled_from(["[*]", "[]", ".*"]), st.sampled_from(FUNCTION_NAMES), inner).map(
            lambda t: f"{t[0]}{t[1]}.{t[2]}(@, {t[3]})"
        ),
    )


expressions = st.recursive(st.one_of(identifiers, literals, st.just("@"), _path(st.just("a"))), _extend, max_leaves=12)


def _check(source, data):
    note(f"expression: {source}")
    note(f"data: {data!r}")
    theirs = reference_outcome(source, data, EXTRAS)
    ours = compiled_outcome(source, data, EXTRAS)
    event(f"outcome: {theirs[0]}")
    assert same_outcome(ours, theirs), f"compiled {ours!r} != jmespath {theirs!r}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=expressions, data=json_docs)
def test_random_expressions_on_json_match_jmespath(source, data):
    _check(source, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=expressions, data=python_docs)
def test_random_expressions_on_python_values_match_jmespath(source, data):
    _check(source, data)


@settings(max_examples=200, deadline=None)
@given(path=_path(st.sampled_from(["a", "a == 'foo'", "b > `1`", "!c"])), data=json_docs)
def test_random_paths_match_jmespath(path, data):
    _check(path, data)


def test_generator_reaches_every_outcome():
    """The grammar is only useful if it produces values, runtime errors and (a few) syntax errors."""
    seen = set()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(source=expressions, data=json_docs)
    def collect(source, data):
        kind, value = reference_outcome(source, data, EXTRAS)
        seen.add(kind if kind == "error" or value is None else "value")

    collect()
    assert seen >= {"value", "error"}


def test_an_expression_reference_in_a_result_compares_as_one():
    """Hypothesis found `apply(&{a: {a: @}}, &!(!(a)))`: both evaluators return a reference object."""
    source = "apply(&{a: {a: @}}, &!(!(a)))"
    ours, theirs = compiled_outcome(source, {"a": 1}, EXTRAS), reference_outcome(source, {"a": 1}, EXTRAS)
    assert ours[0] == "ok" and same_outcome(ours, theirs)
