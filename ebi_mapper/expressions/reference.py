"""The reference semantics: the ``jmespath`` package itself, with the same extra functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jmespath

from ..extensions import FunctionDef
from .function_table import make_function_table

__all__ = ["reference_search"]


def reference_search(source: str, data: Any, functions: Mapping[str, Callable | FunctionDef] | None = None) -> Any:
    """Evaluate with ``jmespath.search`` (extras added as a ``jmespath.functions.Functions`` subclass).

    Errors are jmespath's own, untranslated (``ParseError`` for bad syntax): this is the yardstick
    the compiled evaluator is tested against, not an API for mappings.
    """
    options = jmespath.Options(custom_functions=make_function_table(functions).instance)
    return jmespath.search(source, data, options=options)
