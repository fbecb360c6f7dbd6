"""What a rule's fields are evaluated against: the payload, each `each` item, and named values.

One definition for both engine paths (the reference interpreter in :mod:`.mapper` and the
generated runners of :mod:`.fast.codegen`/:mod:`.fast.each`):

* ``each`` makes one scope per array element, ``{item, root, index}``. A two-level ``each``
  (``{outer: ..., inner: ...}``) reads the inner array from each outer element's scope
  ``{item: <outer element>, root, index: <outer index>}`` and makes one scope per inner element,
  ``{item, outer, index, outer_index, root}``; a problem with one outer element's inner array
  (not an array, empty, an expression error) names that outer index and the other elements go on;
* a rule's ``let:`` values are computed once per scope, in definition order, each seeing the
  earlier ones, and put under the scope's ``vars`` key (in a rule with ``let:`` a payload's own
  top-level ``vars`` key is hidden). A value that produced nothing is left out of ``vars`` (so a
  field reading it is *missing*); an explicit null stays null, as for any field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jmespath.exceptions import JMESPathError

from ..expressions import error_message
from ..outcomes import Filtered, Rejection
from ..rejection_codes import filtered, message, rejection
from .fields import NULL, VALUE, CompiledField

__all__ = ["LetError", "each_error", "each_problem", "let_rejection", "item_scope", "nested_scope", "with_values"]


class LetError(Exception):
    """A named value's expression raised: the value's compiled ``field`` and the JMESPathError as ``error``.

    The message names the `each` element it was computed for (both indexes for two levels).
    """

    def __init__(self, field: CompiledField, error: JMESPathError, scope: Any = None):
        self.field = field
        self.error = error
        self.reason = error_message(error)
        self.where = _where(scope)
        super().__init__(message("expression_error", label=f"let.{field.name}", reason=self.reason, where=self.where))


def _where(scope: Any) -> str:
    if type(scope) is not dict or "index" not in scope or "root" not in scope:
        return ""  # the payload itself, not an `each` scope
    if "outer_index" in scope:
        return f" (outer index {scope['outer_index']}, index {scope['index']})"
    return f" (index {scope['index']})"


def item_scope(item: Any, payload: Any, index: int) -> dict:
    """The scope of one element of a one-level `each` (and what an inner `each` is read from)."""
    return {"item": item, "root": payload, "index": index}


def nested_scope(item: Any, outer: Any, index: int, outer_index: int, payload: Any) -> dict:
    """The scope of one inner element of a two-level `each`."""
    return {"item": item, "outer": outer, "index": index, "outer_index": outer_index, "root": payload}


def with_values(data: Any, lets: Sequence[CompiledField], fresh: bool) -> dict:
    """``data`` with the rule's named values under ``vars``; raises :class:`LetError`.

    ``fresh``: ``data`` is a scope built for this element (an `each` scope), which may take the
    key itself; else it is the payload, copied so the record itself is never changed.
    """
    values: dict[str, Any] = {}
    scope = data if fresh else (dict(data) if type(data) is dict else {})
    scope["vars"] = values
    for f in lets:
        try:
            state, value = f.evaluate(scope)
        except JMESPathError as exc:
            raise LetError(f, exc, scope if fresh else None) from None
        if state == VALUE:
            values[f.name] = value
        elif state == NULL:
            values[f.name] = None
    return scope


def let_rejection(exc: LetError, rule: str, event: str, source: str) -> Rejection:
    """The record's rejection for a named value that could not be computed (its fields cannot be either)."""
    f = exc.field
    return rejection("expression_error", label=f"let.{f.name}", reason=exc.reason, where=exc.where, rule=rule, event=event, field=f"let.{f.name}",
                     expression=f.expr.source, value=getattr(exc.error, "value", None), source=source)


def _label(outer_index: int | None) -> tuple[str, str]:
    return ("each", "") if outer_index is None else ("each.inner", f" at outer index {outer_index}")


def each_problem(items: Any, src: str, rule: str, event: str, source: str, outer_index: int | None = None) -> Rejection | Filtered | None:
    """An `each` array that is not one (a rejection) or is empty (a filter); None when it has elements."""
    label, where = _label(outer_index)
    if not isinstance(items, list):
        what = "nothing (missing or null)" if items is None else f"a {type(items).__name__}"
        return rejection("each_not_array", label=label, what=what, where=where, rule=rule, event=event, field=label, expression=src, value=items, source=source)
    if not items:
        return filtered("empty_each", label=label, expression=src, where=where, rule=rule, event=event)
    return None


def each_error(exc: JMESPathError, src: str, rule: str, event: str, source: str, outer_index: int | None = None) -> Rejection:
    """An `each` expression that raised."""
    label, where = _label(outer_index)
    return rejection("expression_error", label=label, reason=error_message(exc), where=where, rule=rule, event=event, field=label, expression=src, source=source)
