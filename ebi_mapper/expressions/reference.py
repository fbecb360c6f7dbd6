"""The reference semantics: the ``jmespath`` package itself, with the same extra functions."""

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
    strings) where jmespath raises. Errors are jmespath's own, untranslated (``ParseError`` for bad syntax): this is the yardstick
    the compiled evaluator is tested against, not an API for mappings.
    """
    options = jmespath.Options(custom_functions=make_function_table(functions).instance)
    return _SpecInterpreter(options).visit(jmespath.compile(source).parsed, data)


class _SpecInterpreter(visitor.TreeInterpreter):
    """jmespath's interpreter with the spec's ordering comparisons: a pair that is neither two
    numbers nor two strings is null (jmespath raises ``TypeError`` for a string against a number)."""

    def visit_comparator(self, node: dict, value: Any) -> Any:
        if node["value"] in self._EQUALITY_OPS:
            return super().visit_comparator(node, value)
        left, right = (self.visit(child, value) for child in node["children"])
        return ordered(node["value"], left, right)
