"""Static facts about an expression, read from its AST (no evaluation).

Every helper takes the expression as source text, as a :class:`.CompiledExpression`, or as the
AST dict (``compiled.ast``). A *path* is a tuple of steps from the current node: a ``str`` is an
object key, an ``int`` a list index, ``'[]'`` every element of a list (projection, filter,
flatten) and ``'*'`` every value of an object (``obj.*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from .function_table import BUILTIN_FUNCTIONS
from .parsing import parse_expression

__all__ = [
    "Path",
    "simple_path",
    "presence",
    "field_paths",
    "equality_tests",
    "function_calls",
    "unknown_functions",
    "literal_value",
]

Path = tuple[str | int, ...]
ELEMENTS = "[]"
VALUES = "*"


def _ast(expr: Any) -> Mapping[str, Any]:
    if isinstance(expr, str):
        return parse_expression(expr)
    ast = getattr(expr, "ast", None)
    if isinstance(ast, Mapping):
        return ast
    if isinstance(expr, Mapping) and "type" in expr:
        return expr
    raise TypeError(f"expected a JMESPath expression (str, CompiledExpression or AST), not {type(expr).__name__}")


def simple_path(expr: Any) -> Path | None:
    """The path when the expression only looks things up (``data.player.id``, ``items[0].id``).

    ``None`` for anything else (projections, functions, literals, operators). ``@`` is ``()``.
    For such expressions, :func:`presence` tells a missing key from an explicit null.
    """
    return _path(_ast(expr))


def _path(node: Mapping[str, Any]) -> Path | None:
    kind = node["type"]
    if kind in ("field", "index"):
        return (node["value"],)
    if kind in ("current", "identity"):
        return ()
    if kind in ("subexpression", "index_expression", "pipe"):
        steps: Path = ()
        for child in node["children"]:
            part = _path(child)
            if part is None:
                return None
            steps += part
        return steps
    return None


def presence(data: Any, path: Path) -> Literal["missing", "null", "value"]:
    """Whether ``path`` (from :func:`simple_path`) is absent, an explicit null, or has a value.

    ``'null'`` only when the last key exists with a null value; a path that stops earlier (a
    missing or null parent, an index out of range) is ``'missing'``. Exactly when the expression
    returns ``None`` the answer is ``'missing'`` or ``'null'``.
    """
    current = data
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return "missing"
            current = current[step]
        else:
            if not isinstance(current, Mapping) or step not in current:
                return "missing"
            current = current[step]
    return "null" if current is None else "value"


def field_paths(expr: Any) -> list[Path]:
    """Every path whose value the expression uses, in source order, without duplicates.

    Paths only walked through on the way to a deeper one are not listed (``a.b`` gives
    ``[('a', 'b')]``). Inside ``&expr`` of ``map``/``sort_by``/``min_by``/``max_by`` paths are
    relative to the array's elements; reads whose origin is a computed value are left out. After
    a pipe the right side is treated as reading the left side's path, so an index after a
    projection (``a[*].b | [0]``) is approximate.
    """
    walker = _PathWalker()
    walker.consume(_ast(expr), ())
    return walker.paths


class _PathWalker:
    """Abstract evaluation: each node returns the path its value comes from (or None)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def consume(self, node: Mapping[str, Any], base: Path | None) -> None:
        path = self.walk(node, base)
        if path is not None and path not in self.paths:
            self.paths.append(path)

    def walk(self, node: Mapping[str, Any], base: Path | None) -> Path | None:
        kind, children = node["type"], node.get("children", [])
        if kind in ("field", "index"):
            return None if base is None else base + (node["value"],)
        if kind in ("current", "identity", "slice"):
            return base
        if kind in ("subexpression", "index_expression", "pipe"):
            for child in children:
                base = self.walk(child, base)
            return base
        if kind in ("flatten", "key_val_pair"):
            return self.walk(children[0], base)
        if kind in ("projection", "value_projection"):
            step = ELEMENTS if kind == "projection" else VALUES
            return self.walk(children[1], _step(self.walk(children[0], base), step))
        if kind == "filter_projection":
            elements = _step(self.walk(children[0], base), ELEMENTS)
            self.consume(children[2], elements)
            return self.walk(children[1], elements)
        if kind == "function_expression":
            return self._function(node, base)
        if kind in ("or_expression", "and_expression", "not_expression", "comparator", "multi_select_list", "multi_select_dict"):
            for child in children:
                self.consume(child, base)
        return None  # literals, bare &expr, computed values

    def _function(self, node: Mapping[str, Any], base: Path | None) -> Path | None:
        name, args = node["value"], node["children"]
        if name in ("sort_by", "min_by", "max_by") and len(args) == 2 and args[1]["type"] == "expref":
            array = self.walk(args[0], base)
            self.consume(args[1]["children"][0], _step(array, ELEMENTS))
            return array if name == "sort_by" else _step(array, ELEMENTS)
        if name == "map" and len(args) == 2 and args[0]["type"] == "expref":
            return self.walk(args[0]["children"][0], _step(self.walk(args[1], base), ELEMENTS))
        for arg in args:
            if arg["type"] != "expref":
                self.consume(arg, base)
        return None


def _step(path: Path | None, step: str) -> Path | None:
    return None if path is None else path + (step,)


def equality_tests(expr: Any) -> list[tuple[Path, Any]]:
    """``(path, literal)`` for each ``path == literal`` (either order) joined by top-level ``&&``.

    The expression can only be truthy when every listed test holds, so the list can dispatch rules
    by a discriminator and shape matching payloads. Other conjuncts are ignored (the list is then
    a necessary, not a sufficient, condition). jmespath's ``==`` never equates ``true``/``false``
    with ``1``/``0``; a dispatcher keyed on number literals must keep booleans apart.
    """
    tests = []
    for node in _conjuncts(_ast(expr)):
        if node["type"] != "comparator" or node["value"] != "eq":
            continue
        left, right = node["children"]
        for side, other in ((left, right), (right, left)):
            path = _path(side)
            if other["type"] == "literal" and path is not None:
                tests.append((path, other["value"]))
                break
    return tests


def _conjuncts(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if node["type"] == "and_expression":
        for child in node["children"]:
            yield from _conjuncts(child)
    else:
        yield node


def function_calls(expr: Any) -> list[tuple[str, int | None]]:
    """``(name, position)`` of every function call, in source order.

    ``position`` is the 0-based offset of the name in the expression (``None`` for an AST that
    did not come from this package's parser).
    """
    calls = [(node["value"], node.get("position")) for node in _nodes(_ast(expr)) if node["type"] == "function_expression"]
    return sorted(calls, key=lambda call: (call[1] is None, call[1] or 0))


def unknown_functions(expr: Any, functions: Iterable[str] | None = None) -> list[tuple[str, int | None]]:
    """The calls to names that are neither jmespath built-ins nor in ``functions`` (extra names)."""
    known = BUILTIN_FUNCTIONS | frozenset(functions or ())
    return [(name, position) for name, position in function_calls(expr) if name not in known]


def _nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in node.get("children", []):
        if isinstance(child, Mapping):  # slice children are ints or None
            yield from _nodes(child)


def literal_value(expr: Any) -> tuple[bool, Any]:
    """``(True, value)`` when the whole expression is a literal (``'completed'``, `` `12` ``), else ``(False, None)``."""
    node = _ast(expr)
    if node["type"] == "literal":
        return True, node["value"]
    return False, None
