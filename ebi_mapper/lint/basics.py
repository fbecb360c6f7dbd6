"""What every lint check module shares: making findings, suggesting a near name, and parsing an
expression once.

Kept apart from :mod:`.checks` so that the check modules (:mod:`.checks`, :mod:`.named_values`)
import it and not each other: ``tests/test_structure.py::test_no_import_cycle`` fails on a cycle.
The parse cache is measured by ``bench/lint_bench.py``; ``tests/lint/test_lint_properties.py``
proves the fast path for plain dotted paths agrees with the parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from ..catalog.names import nearest_names
from ..mapping.model import Loc
from .findings import Finding

__all__ = ["Facts", "JSON_TYPE_NAMES", "NO_FACTS", "SIMPLE_PATH", "analyse", "call_arguments", "err", "lookup_tables", "suggest", "warn"]


def err(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "error", code, message)


def warn(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "warning", code, message)


def suggest(name: str, candidates, hint_if_none: str = "", cutoff: float = 0.6) -> str:
    near = nearest_names(name, candidates, 1, cutoff=cutoff)
    return f"; did you mean {near[0]!r}?" if near else hint_if_none

class Facts(NamedTuple):
    """What lint needs to know about one expression text."""

    error: Any  # ExpressionSyntaxError or None
    calls: tuple[tuple[str, int | None], ...]  # (function name, offset of the name)
    literal: tuple[bool, Any]  # (is the whole expression a literal, its value)
    tables: tuple[tuple[str, int], ...]  # lookup('<table>', ...) calls: (table, offset of the literal)
    # (name, offset, argument count, JSON type of each literal argument or None), per call
    arguments: tuple[tuple[str, int | None, int, tuple[str | None, ...]], ...] = ()


NO_FACTS = Facts(None, (), (False, None), ())
# A dotted path of unquoted identifiers parses to fields only: no call, no literal, no error.
# Most expressions in a mapping are such paths; recognising them skips jmespath's parser.
SIMPLE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


@lru_cache(maxsize=16384)
def analyse(source: str) -> Facts:
    """Parse once per distinct expression text (parsing is all lint needs: names and literals are in the AST)."""
    from ..expressions import (
        ExpressionSyntaxError,
        function_calls,
        literal_value,
        parse_expression,
    )

    if SIMPLE_PATH.fullmatch(source):
        return NO_FACTS
    try:
        ast = parse_expression(source)
    except ExpressionSyntaxError as exc:
        return Facts(exc, (), (False, None), ())
    return Facts(None, tuple(function_calls(ast)), literal_value(ast), tuple(lookup_tables(ast, source)), tuple(call_arguments(ast)))

def call_arguments(node: dict) -> Iterator[tuple[str, int | None, int, tuple[str | None, ...]]]:
    """Every call with its argument count and the JSON type of each literal argument."""
    if node.get("type") == "function_expression":
        args = node.get("children") or []
        types = tuple(JSON_TYPE_NAMES.get(type(a["value"])) if a.get("type") == "literal" else None for a in args)
        yield node["value"], node.get("position"), len(args), types
    for child in node.get("children") or ():
        if isinstance(child, dict):
            yield from call_arguments(child)


JSON_TYPE_NAMES = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null", list: "array", dict: "object"}

def lookup_tables(node: dict, source: str) -> Iterator[tuple[str, int]]:
    """Tables named by a literal first argument of ``lookup(...)``, with the literal's offset."""
    if node.get("type") == "function_expression" and node.get("value") == "lookup":
        args = node.get("children") or []
        if args and args[0].get("type") == "literal" and isinstance(args[0].get("value"), str):
            offset = source.find("(", node.get("position") or 0) + 1
            while offset < len(source) and source[offset].isspace():
                offset += 1
            yield args[0]["value"], offset
    for child in node.get("children") or ():
        if isinstance(child, dict):
            yield from lookup_tables(child, source)

