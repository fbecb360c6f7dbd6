"""JMESPath for mappings: a compiled evaluator identical to the ``jmespath`` package, and analysis.

``compile_expression`` parses with jmespath's parser and generates Python code for the expression;
``reference_search`` is ``jmespath`` itself with the same extra functions; the analysis helpers
read the AST for lint, the engine and the property-testing kit. See docs/expressions.md.
"""

from __future__ import annotations

from .analysis import (
    equality_tests,
    field_paths,
    function_calls,
    literal_value,
    presence,
    simple_path,
    unknown_functions,
)
from .compiler import CompiledExpression, compile_expression
from .errors import ExpressionSyntaxError
from .function_table import BUILTIN_FUNCTIONS, TYPE_NAMES
from .parsing import parse_expression
from .reference import reference_search
from .value_errors import FunctionValueError, error_message

__all__ = [
    "BUILTIN_FUNCTIONS",
    "TYPE_NAMES",
    "CompiledExpression",
    "ExpressionSyntaxError",
    "FunctionValueError",
    "compile_expression",
    "equality_tests",
    "error_message",
    "field_paths",
    "function_calls",
    "literal_value",
    "parse_expression",
    "presence",
    "reference_search",
    "simple_path",
    "unknown_functions",
]
