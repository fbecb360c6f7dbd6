"""Evaluate expressions with the built-in functions: through jmespath itself, and compiled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ebi_mapper.default_plugins.functions import BUILTIN_FUNCTIONS
from ebi_mapper.expressions import compile_expression, reference_search


def functions_for(mapping: Any = None) -> dict:
    """The built-ins as the engine sees them for ``mapping``: bound ones bound to it."""
    return {d.name: replace(d, fn=d.bind(mapping), bind=None) if d.bind else d for d in BUILTIN_FUNCTIONS}


@pytest.fixture
def search() -> Callable[..., Any]:
    """``search(expression, data=None, mapping=None)`` through ``jmespath.search``."""

    def run(expression: str, data: Any = None, mapping: Any = None) -> Any:
        return reference_search(expression, {} if data is None else data, functions_for(mapping))

    return run


@pytest.fixture
def compiled_search() -> Callable[..., Any]:
    """The same through the compiled evaluator the engine uses."""

    def run(expression: str, data: Any = None, mapping: Any = None) -> Any:
        return compile_expression(expression, functions_for(mapping))({} if data is None else data)

    return run
