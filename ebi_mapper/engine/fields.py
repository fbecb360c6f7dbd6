"""Compiled fields: an expression that tells *missing* from *null* from a value.

jmespath returns ``None`` both for a key that is absent and for a key whose value is null. The
difference matters for ootb_user_details_update, where a null overwrites the profile: so for
expressions that are plain paths (``data.phone``) we look the path up to say which it was; any
other expression that yields ``None`` "produced nothing" and counts as missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..expressions import compile_expression, presence, simple_path
from ..mapping.model import Expr, FieldSpec

__all__ = ["MISSING", "NULL", "VALUE", "CompiledField", "compile_field", "truthy"]

MISSING = "missing"
NULL = "null"
VALUE = "value"


@dataclass(frozen=True)
class CompiledField:
    """A field ready to evaluate: ``evaluate(data) -> (state, value)``."""

    name: str
    expr: Expr
    search: Callable[[Any], Any]
    path: tuple | None
    nulls: str | None
    default: Any
    has_default: bool

    def evaluate(self, data: Any) -> tuple[str, Any]:
        """Return ``(VALUE, v)``, ``(NULL, None)`` or ``(MISSING, None)``; jmespath errors propagate."""
        value = self.search(data)
        if value is not None:
            return VALUE, value
        if self.has_default:
            return VALUE, self.default
        if self.path is not None and presence(data, self.path) == "null":
            return NULL, None
        return MISSING, None


def compile_field(name: str, spec: FieldSpec, functions: dict) -> CompiledField:
    """Compile one field spec once, for evaluation per record."""
    compiled = compile_expression(spec.expr.source, functions)
    return CompiledField(
        name=name,
        expr=spec.expr,
        search=compiled,
        path=simple_path(compiled.ast),
        nulls=spec.nulls,
        default=spec.default,
        has_default=spec.has_default,
    )


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, and empty strings, arrays and objects are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True
