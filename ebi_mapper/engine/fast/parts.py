"""Pieces of the engine's generated code: run-time helpers, facts about coercers, the writer.

:mod:`.codegen` writes one function per rule; the functions it writes call :func:`odd` and
:func:`generic` (plain-path lookups that met something unusual), and the tests it writes in place
of coercer calls come from :func:`inline_coercion`. Each shortcut is checked against the code it
stands for in tests/engine/test_fast_path_coerce.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from jmespath.exceptions import JMESPathError

from ...expressions import literal_value, presence, simple_path

__all__ = ["SLOW", "STRING_TYPES", "Slot", "Writer", "detach", "generic", "inline_coercion", "odd", "string_bound"]

SLOW = object()  # "a non-JSON type was met": evaluate the generic way


_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
STRING_TYPES = frozenset({"string", "string_or_number"})
_TIMESTAMP_CHARS = 27  # len('2026-03-29T01:30:00.000000Z')
_INT_MIN, _INT_MAX = -(2**63), 2**64  # coerce.py's 64-bit range for integers
_SAFE = 2**53  # coerce.py's MAX_SAFE_INTEGER: string_or_number keeps ints up to it as numbers


def odd(value: Any) -> Any:
    """A path step met something that is not a dict (or a list, for an index step)."""
    if type(value) in _JSON_TYPES:
        return None  # jmespath: a field of a non-object is null, so the path is missing
    return SLOW  # a non-JSON type (or SLOW itself): only the generic evaluation knows


def generic(search: Callable[[Any], Any], scope: Any, path: tuple) -> tuple[Any, bool, Any]:
    """A plain path evaluated the generic way: ``(value or None, explicit null?, error or None)``."""
    try:
        value = search(scope)
    except JMESPathError as exc:
        return None, False, detach(exc)  # the caller keeps it
    return value, value is None and presence(scope, path) == "null", None


def detach(exc: BaseException) -> BaseException:
    """``exc`` without its traceback and chained exceptions, to be kept in a local past its ``except``.

    Kept as it is, it would hold its traceback, whose frames hold (through ``f_back`` and their
    locals) the very frame keeping it: a reference cycle that only the cyclic collector frees,
    and ``map_many`` pauses that collector for a batch. Only the message is ever used.
    """
    exc.__traceback__ = None
    exc.__context__ = None
    exc.__cause__ = None
    return exc


def string_bound(param: Any) -> float:
    """The longest string the coercer for ``param`` can return (``inf`` when not known)."""
    kind = param.type
    if kind in STRING_TYPES:
        # With a closed list the answer is the catalog's spelling of a value that passed max_length.
        return max([param.max_length] + [len(a) for a in (param.allowed or ())])
    if kind == "timestamp":
        return _TIMESTAMP_CHARS
    if kind == "yes_no":
        return 3
    if kind in ("number", "integer", "boolean"):
        return 0
    return math.inf


def inline_coercion(param: Any, v: str, *, non_empty: bool = False) -> str | None:
    """A test under which the param's coercer returns ``v`` unchanged, to skip the call; or None.

    Each mirrors the first branch of the coercer in coerce.py: a string within max_length, a
    bool, an int within 64 bits (money included: whole amounts are kept as they are), a finite
    float for plain numbers (``v - v == 0.0`` is false only for inf and nan); for
    ``string_or_number`` also an int a double holds exactly. With ``non_empty`` a string must
    also not be empty: the test is narrower, so an empty one takes the checked way (see
    :mod:`.conformance`), where the schema's ``minLength`` refuses it.
    """
    if param.allowed:
        return None
    kind = param.type
    if kind in STRING_TYPES:
        text = f"type({v}) is str and {'0 < ' if non_empty else ''}len({v}) <= {int(param.max_length)}"
        if kind == "string_or_number":
            return f"({text}) or (type({v}) is int and -{_SAFE} <= {v} <= {_SAFE})"
        return text
    if kind == "boolean":
        return f"type({v}) is bool"
    if kind == "number" and param.monetary:
        # A float already at 4 places or fewer (|v| < 1e15, so repr has no exponent): money_fast.
        return f"(type({v}) is float and -1e15 < {v} < 1e15 and round({v}, 4) == {v}) or (type({v}) is int and {_INT_MIN} <= {v} < {_INT_MAX})"
    if kind == "integer":
        return f"type({v}) is int and {_INT_MIN} <= {v} < {_INT_MAX}"
    if kind == "number":
        return f"(type({v}) is float and {v} - {v} == 0.0) or (type({v}) is int and {_INT_MIN} <= {v} < {_INT_MAX})"
    return None


class Slot:
    """One distinct expression of a rule, evaluated once per scope into ``r<k>``."""

    def __init__(self, k: int, field: Any, in_each: bool):
        self.k = k
        self.field = field  # the first CompiledField using this expression
        self.source = field.expr.source
        self.search = getattr(field.search, "search", field.search)  # the generated function itself
        ast = getattr(field.search, "ast", None)
        self.literal = literal_value(ast) if ast is not None else (False, None)
        path = simple_path(ast) if ast is not None else None
        self.path = path
        self.inline = path is not None and len(path) > 0 and all(type(s) is str or type(s) is int for s in path)
        self.base, self.steps = "data", path
        if self.inline and path is not None and in_each and len(path) >= 2 and path[0] in ("root", "item"):
            # In an `each` scope {item, root, index}, root.x is payload.x and item.x is the element.
            self.base, self.steps = ("payload" if path[0] == "root" else "_item"), path[1:]
        self.evaluated = False
        self.parent: tuple[str, bool, str] | None = None  # (variable, is a key, step) of the last step, once written

    @property
    def can_fail(self) -> bool:
        return not self.literal[0]

    @property
    def can_be_null(self) -> bool:
        return self.path is not None


class Writer:
    """Lines of generated code at the current indentation."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self) -> _Indent:
        """A context manager: lines emitted inside it are one level deeper."""
        return _Indent(self)

    def try_except(self, body: str, error: str, handler: str, *, orelse: str | None = None) -> None:
        """Emit ``try: body / except error as _e: handler [/ else: orelse]`` (one line each)."""
        self.emit("try:")
        with self.indent():
            self.emit(body)
        self.emit(f"except {error} as _e:")
        with self.indent():
            self.emit(handler)
        if orelse is not None:
            self.emit("else:")
            with self.indent():
                self.emit(orelse)


class _Indent:
    def __init__(self, writer: Writer):
        self.writer = writer

    def __enter__(self) -> None:
        self.writer.depth += 1

    def __exit__(self, *exc: Any) -> None:
        self.writer.depth -= 1
