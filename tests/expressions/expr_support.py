"""Shared by the expression tests: run both evaluators and compare what they did."""

from __future__ import annotations

import math
import re
from typing import Any

import jmespath
from jmespath import exceptions as jexc

from ebi_mapper.expressions import ExpressionSyntaxError, compile_expression, reference_search


def same(a: Any, b: Any) -> bool:
    """Equal with jmespath's types kept apart: 1, 1.0 and true differ; key order counts."""
    if type(a).__name__ == "_Expression" or type(b).__name__ == "_Expression":
        # An expression reference that leaks into a value (a function taking `any` given `&x`) is
        # each evaluation's own object, of either evaluator's class: both being one is a match.
        return type(a).__name__ == type(b).__name__ == "_Expression"
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, str) and "_Expression object at" in a:
        # to_string(&x) prints an object address: it differs between any two runs of jmespath too.
        return _EXPREF_REPR.sub("<expref>", a) == _EXPREF_REPR.sub("<expref>", b)
    return a == b


_EXPREF_REPR = re.compile(r"<[\w.]+\._Expression object at 0x[0-9a-fA-F]+>")


def reference_outcome(source: str, data: Any, functions=None) -> tuple[str, Any]:
    """``('ok', value)``, ``('syntax', ParseError class)`` or ``('error', class)`` from jmespath."""
    try:
        jmespath.compile(source)
    except (jexc.ParseError, jexc.EmptyExpressionError) as exc:
        return "syntax", type(exc)
    try:
        return "ok", reference_search(source, data, functions)
    except Exception as exc:  # the class is what is compared
        return "error", type(exc)


def compiled_outcome(source: str, data: Any, functions=None) -> tuple[str, Any]:
    """The same shape as :func:`reference_outcome`, from the compiled evaluator."""
    try:
        compiled = compile_expression(source, functions)
    except ExpressionSyntaxError as exc:
        return "syntax", type(exc.__cause__)
    try:
        return "ok", compiled(data)
    except Exception as exc:
        return "error", type(exc)


def same_outcome(ours: tuple[str, Any], theirs: tuple[str, Any]) -> bool:
    """Same value, or the same exception class at the same stage."""
    if ours[0] != theirs[0]:
        return False
    if ours[0] == "ok":
        return same(ours[1], theirs[1])
    return ours[1] is theirs[1]
