"""The reference semantics: the ``jmespath`` package itself, with the same extra functions.

Two additions to jmespath's interpreter, each the behaviour the compiled evaluator has too:
ordering comparisons follow the JMESPath spec (null for a pair that is not two numbers or two
strings, where jmespath raises), and a *lazy* extra function (``FunctionDef.lazy``, the special
forms ``if`` and ``coalesce``) receives its arguments as zero-argument callables, so only the
arguments it asks for are evaluated. Every other node is jmespath's own ``TreeInterpreter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jmespath
from jmespath import visitor

from ..extensions import FunctionDef
from .function_table import make_function_table
from .runtime import ordered

__all__ = ["reference_search"]


def reference_search(source: str, data: Any, functions: Mapping[str, Callable | FunctionDef] | None = None) -> Any:
    """Evaluate with ``jmespath.search`` (extras added as a ``jmespath.functions.Functions`` subclass).

    Ordering comparisons follow the JMESPath spec (null for a pair that is not two numbers or two
    strings) where jmespath raises; lazy functions get their arguments unevaluated. Errors are
    jmespath's own, untranslated (``ParseError`` for bad syntax): this is the yardstick the
    compiled evaluator is tested against, not an API for mappings.
    """
    table = make_function_table(functions)
    options = jmespath.Options(custom_functions=table.instance)
    return _SpecInterpreter(options, table.lazy).visit(jmespath.compile(source).parsed, data)


class _SpecInterpreter(visitor.TreeInterpreter):
    """jmespath's interpreter with the spec's ordering comparisons and lazy special forms."""

    def __init__(self, options: jmespath.Options, lazy: frozenset[str] = frozenset()):
        super().__init__(options)
        self._lazy = lazy

    def visit_comparator(self, node: dict, value: Any) -> Any:
        # A pair that is neither two numbers nor two strings is null (jmespath raises TypeError
        # for a string against a number).
        if node["value"] in self._EQUALITY_OPS:
            return super().visit_comparator(node, value)
        left, right = (self.visit(child, value) for child in node["children"])
        return ordered(node["value"], left, right)

    def visit_function_expression(self, node: dict, value: Any) -> Any:
        if node["value"] not in self._lazy:
            return super().visit_function_expression(node, value)
        thunks = [lambda child=child: self.visit(child, value) for child in node["children"]]
        return self._functions.call_function(node["value"], thunks)  # jmespath's arity check, then the call
