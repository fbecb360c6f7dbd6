"""The built-in functions as a plugin: registration, documentation, no clock, only value errors on values."""

from __future__ import annotations

import ast
import math
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from jmespath.functions import Functions

import ebi_mapper.default_plugins.functions as functions_module
import ebi_mapper.engine.coerce as coerce_module
import ebi_mapper.engine.coerce_errors as coerce_errors_module
import ebi_mapper.engine.timestamps as timestamps_module
from ebi_mapper.default_plugins.functions import BUILTIN_FUNCTIONS
from ebi_mapper.expressions import FunctionValueError
from ebi_mapper.extensions import FunctionDef
from ebi_mapper.mapping.model import Mapping
from ebi_mapper.plugins import make_registry

ROOT = Path(__file__).resolve().parents[2]
NAMES = {d.name for d in BUILTIN_FUNCTIONS}
EXPECTED_NAMES = {
    "to_utc", "from_epoch_seconds", "from_epoch_millis", "from_epoch_micros", "to_epoch_millis", "parse_time",
    "lower", "upper", "trim", "concat", "replace", "split",
    "round", "add", "subtract", "multiply", "divide", "minor_to_major",
    "coalesce", "yes_no", "lookup",
    # issue 15: lazy forms, odds, money allocation, flags
    "if", "odds_decimal", "odds_american", "odds_fraction", "allocate", "to_flag",
    "fail",  # issue #11 item 12b: a mapping's own rejection
}  # fmt: skip


def test_the_issue_lists_exactly_these_functions():
    assert NAMES == EXPECTED_NAMES


def test_registered_through_the_public_hook_like_a_third_party_plugin():
    registry = make_registry(entry_points=False)
    for name in EXPECTED_NAMES:
        assert isinstance(registry.functions[name], FunctionDef)
        assert registry.provided_by[("functions", name)] == "ebi_mapper.default_plugins.functions"


def test_registering_the_module_alone_gives_the_same_functions():
    registry = make_registry(plugins=[functions_module], entry_points=False, defaults=False)
    assert set(registry.functions) == EXPECTED_NAMES


def test_no_name_shadows_a_jmespath_builtin():
    assert not NAMES & set(Functions.FUNCTION_TABLE)


@pytest.mark.parametrize("definition", BUILTIN_FUNCTIONS, ids=lambda d: d.name)
def test_every_function_has_a_doc_line_and_a_valid_signature(definition):
    assert definition.doc.startswith(f"{definition.name}(")
    known = {"string", "number", "boolean", "null", "array", "object", "any"}
    assert definition.signature and all(set(types) <= known for types in definition.signature)


def test_docs_describe_every_function_with_an_example():
    text = (ROOT / "docs" / "functions.md").read_text(encoding="utf-8")
    for name in EXPECTED_NAMES:
        section = re.search(rf"^### `{name}\(.*?(?=^### |\Z)", text, re.M | re.S)
        assert section, f"docs/functions.md has no '### `{name}(...)`' section"
        assert f"{name}(" in section.group(0).split("\n", 1)[1], f"the {name} section shows no example"


# --- no function reads the clock -------------------------------------------------------------

SAMPLE_CALLS: dict[str, list[tuple]] = {
    "to_utc": [("2026-03-29 02:30",), ("2026-03-29 02:30", "Europe/Malta"), (1700000000,), ("garbage",),
               ("2026-03-29 02:30", "Nowhere/Land")],
    "from_epoch_seconds": [(1700000000,), ("x",)],
    "from_epoch_millis": [(1700000000123,), (-1,)],
    "from_epoch_micros": [(1700000000123456,)],
    "to_epoch_millis": [("2026-03-29T02:30:00Z",), ("2026-03-29",), ("nope",)],
    "parse_time": [("03/04/2026", "%d/%m/%Y"), ("03/04/2026 10:00", "%d/%m/%Y %H:%M", "Europe/Malta"), ("x", "%Y"),
                   ("03/04/2026", "%d/%m/%Y", "Nowhere/Land")],
    "lower": [("A",)],
    "upper": [("a",)],
    "trim": [(" a ",)],
    "concat": [("a", 1, None, True)],
    "replace": [("a-b", "-", "+")],
    "split": [("a,b", ",")],
    "round": [(2.675, 2), ("x", 2)],
    "add": [(1, "2")],
    "subtract": [(1, 2)],
    "multiply": [(1.5, 2)],
    "divide": [(1, 0), (1, 4)],
    "minor_to_major": [(1234, 2), ("twenty", 2)],
    "coalesce": [(lambda: None, lambda: 1)],  # lazy: arguments are callables
    "if": [(lambda: True, lambda: 1, lambda: 2)],
    "odds_decimal": [("5/2",), ("+150",), ("x",)],
    "odds_american": [(2.5,), (1,)],
    "odds_fraction": [(1.91,)],
    "allocate": [(70, 3, 0), (70, 3, 3)],
    "to_flag": [("yes",), ("maybe",)],
    "yes_no": [(True,), ("no",), ("maybe",)],
    "lookup": [("t", 1)],
    "fail": [("the mapping's reason",)],
}


class _ClocklessDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        raise AssertionError("datetime.now() called")

    @classmethod
    def utcnow(cls):
        raise AssertionError("datetime.utcnow() called")

    @classmethod
    def today(cls):
        raise AssertionError("datetime.today() called")


def _no_clock(*args, **kwargs):
    raise AssertionError("the clock was read")


def _outcome(fn, args):
    """The result, or the FunctionValueError's message: unusable values are exercised too."""
    try:
        return fn(*args)
    except FunctionValueError as exc:
        return exc


def test_no_function_reads_the_clock(monkeypatch):
    assert set(SAMPLE_CALLS) == NAMES, "add sample calls for every function"
    mapping = Mapping(path="m.yaml", client="c", vertical="casino", tenant=1, site_currency="EUR", rules=(),
                      source_timezone="Europe/Malta", tables={"t": {"1": "one"}})
    with monkeypatch.context() as patch:
        for name in ("time", "time_ns"):
            patch.setattr(time, name, _no_clock)
        for module in (functions_module, timestamps_module, coerce_module):
            if hasattr(module, "datetime"):
                patch.setattr(module, "datetime", _ClocklessDatetime)
        results = {}
        for definition in BUILTIN_FUNCTIONS:
            fn = definition.bind(mapping) if definition.bind else definition.fn
            results[definition.name] = [_outcome(fn, args) for args in SAMPLE_CALLS[definition.name]]
    assert results["to_utc"][0] == "2026-03-29T01:30:00.000000Z"  # the calls really ran
    assert isinstance(results["to_utc"][3], FunctionValueError)  # and so did the unusable ones
    assert isinstance(results["divide"][0], FunctionValueError)
    assert results["lookup"] == ["one"]


CLOCK_READS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter", "localtime", "gmtime"}


@pytest.mark.parametrize("module", [functions_module, timestamps_module, coerce_module, coerce_errors_module],
                         ids=lambda m: m.__name__)
def test_no_clock_call_in_the_source(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_READS
    ]
    imports = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not calls and "time" not in imports


# --- values of the declared types raise nothing but FunctionValueError -------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=5)
interesting_text = (
    st.text(max_size=40)
    | st.from_regex(r"\A[+-]?[0-9]{0,22}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,6})?\Z")
    | st.sampled_from(["2026-10-25 02:30", "2026-03-29T02:30:00Z", "%d/%m/%Y", "%Y%m%d", "%z", "Europe/Malta", "yes", ""])
)
BY_TYPE = {
    "string": interesting_text,
    "number": st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "null": st.none(),
    "array": st.lists(json_leaf, max_size=3),
    "object": st.dictionaries(st.text(max_size=4), json_leaf, max_size=3),
    "any": json_any,
}


def _args_for(definition: FunctionDef) -> st.SearchStrategy:
    return st.tuples(*[st.one_of(*[BY_TYPE[t] for t in types]) for types in definition.signature])


def _is_json(value) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return isinstance(value, dict) and all(isinstance(k, str) and _is_json(v) for k, v in value.items())


MALTA = Mapping(path="m.yaml", client="c", vertical="casino", tenant=1, site_currency="EUR", rules=(),
                source_timezone="Europe/Malta", dst="reject", tables={"t": {"1": "one"}})
# Lazy forms (if, coalesce) take callables, not values: tests/functions/test_lazy_odds_money.py.
VALUE_FUNCTIONS = [d for d in BUILTIN_FUNCTIONS if d.name != "lookup" and not d.lazy]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_values_of_the_declared_types_raise_nothing_but_function_value_error(data):
    definition = data.draw(st.sampled_from(VALUE_FUNCTIONS), label="function")
    args = data.draw(_args_for(definition), label="args")
    if definition.name in ("to_utc", "parse_time"):
        args += tuple(data.draw(st.lists(interesting_text, max_size=1), label="tz"))
    fn = definition.bind(MALTA) if definition.bind else definition.fn
    try:
        result = fn(*args)
    except FunctionValueError as exc:
        note(f"{exc} (value {exc.value!r})")
        message = str(exc)
        assert exc.function == definition.name and message.startswith(f"{definition.name}(): ")
        assert "\n" not in message and len(message) < 400  # one line, values shortened
        assert any(exc.value is arg or exc.value == arg for arg in args) or exc.value == list(args)
        assert exc.value is not None  # null in, null out: a null is never the culprit
        return
    assert _is_json(result)


_USABLE_REST = {  # a usable value for each argument after the first
    "parse_time": ("%d/%m/%Y",), "replace": ("a", "b"), "split": (",",), "round": (2,),
    "minor_to_major": (2,), "add": (1,), "subtract": (1,), "multiply": (1,), "divide": (0,),
    "allocate": (3, 0),
}
NULL_CALLS = [
    (d, args)
    for d in VALUE_FUNCTIONS
    if d.name not in ("coalesce", "concat", "fail")  # their null handling is their point (fail always raises), tested by example
    for args in [(None, *_USABLE_REST.get(d.name, ()))]
    + ([(1, None)] if d.name in ("add", "subtract", "multiply", "divide") else [])
    + ([(None, "Europe/Malta"), (None, None)] if d.name == "to_utc" else [])
    + ([(None, "%Y", "UTC")] if d.name == "parse_time" else [])
    + ([(70, None, 0), (70, 3, None)] if d.name == "allocate" else [])
]


@pytest.mark.parametrize(("definition", "args"), NULL_CALLS, ids=[f"{d.name}{a!r}" for d, a in NULL_CALLS])
def test_a_null_value_argument_gives_null_when_the_others_are_usable(definition, args):
    """Null in, null out: the null policy is the engine's, so a missing field stays missing."""
    fn = definition.bind(MALTA) if definition.bind else definition.fn
    assert fn(*args) is None


@settings(max_examples=100, deadline=None)
@given(key=json_leaf)
def test_lookup_never_raises_for_a_declared_table(key):
    lookup = next(d for d in BUILTIN_FUNCTIONS if d.name == "lookup").bind(MALTA)
    assert lookup("t", key) in (None, "one")
