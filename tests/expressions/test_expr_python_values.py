"""Values that are not plain JSON take the slow paths: they must still behave as in jmespath."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import pytest

from expr_support import compiled_outcome, reference_outcome, same_outcome


class StrSub(str):
    pass


class ListSub(list):
    pass


class DictSub(dict):
    pass


class Getter:
    """Not a mapping, but has .get: jmespath's field lookup uses it."""

    def get(self, key):
        return f"got {key}"


class Valued:
    def values(self):
        return [1, None, 2]


DATA = {
    "od": OrderedDict([("x", 1), ("y", None)]),
    "tup": (1, 2),
    "empty_tup": (),
    "dec0": Decimal("0"),
    "dec": Decimal("2.5"),
    "decs": [Decimal("1"), Decimal("3")],
    "s": StrSub("abc"),
    "empty_s": StrSub(""),
    "ls": ListSub([3, 1, 2]),
    "empty_ls": ListSub(),
    "ds": DictSub(x=1),
    "empty_ds": DictSub(),
    "getter": Getter(),
    "valued": Valued(),
    "n": 0,
    "f": 0.0,
    "t": True,
}

EXPRESSIONS = [
    "od.x", "od.y", "od.*", "keys(od)", "length(od)", "merge(od, ds)", "type(od)",
    "tup[0]", "tup[*]", "tup[0:1]", "tup || 'x'", "empty_tup || 'x'", "!empty_tup", "to_array(tup)", "length(tup)",
    "dec0 || 'x'", "!dec0", "dec0 && 'y'", "dec > `1`", "dec < n", "dec == `2.5`", "dec0 == `false`", "abs(dec)",
    "sort(decs)", "max(decs)", "to_string(dec)", "to_number(dec)", "decs[?@ > `2`]",
    "s.x", "s || 'x'", "empty_s || 'x'", "length(s)", "starts_with(s, 'a')", "s == 'abc'", "s < 'b'", "to_string(s)",
    "ls[0]", "ls[-1]", "ls[5]", "ls[::-1]", "ls[*]", "ls[]", "sort(ls)", "empty_ls || 'x'", "ls[?@ > `1`]",
    "ds.x", "empty_ds || 'x'", "ds.*", "keys(ds)",
    "getter.anything", "getter.a.b", "getter[0]", "valued.*", "valued.x",
    "n || 'x'", "!n", "!f", "f || 'x'", "n == `false`", "t == `1`", "`1` == t", "t != `1`",
    "[od, tup][?@]", "{a: tup}.a[0]", "not_null(empty_tup, s)",
]


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_python_values_match_jmespath(source):
    ours = compiled_outcome(source, DATA)
    theirs = reference_outcome(source, DATA)
    assert same_outcome(ours, theirs), f"compiled {ours!r} != jmespath {theirs!r}"


@pytest.mark.parametrize("data", [None, 0, "text", [1, 2], (1,), True, 1.5], ids=repr)
@pytest.mark.parametrize("source", ["a", "a.b", "[0]", "[*]", "*", "[]", "a || @", "{x: @}", "[@]", "@[?@]"])
def test_non_object_roots_match_jmespath(source, data):
    assert same_outcome(compiled_outcome(source, data), reference_outcome(source, data))
