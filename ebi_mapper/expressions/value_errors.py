"""The exception an added function raises for a value it cannot use.

A function given a non-null value of the right JSON type that it still cannot use (the text
``'twenty'`` where an amount is expected, a time nobody can read, a division by zero, an unknown
time zone) must not answer null: the engine reads a null from a computed expression as "produced
nothing" and would silently leave the field out of an event that is still sent. It raises
:class:`FunctionValueError` instead.

The class is both an :class:`~ebi_mapper.errors.EbiMapperError` (the project's one root) and a
jmespath ``JMESPathError``: the engine already turns every ``JMESPathError`` raised while
evaluating an expression into a rejection (code ``expression_error``) naming the field and the
expression, and the compiled evaluator and the reference ``jmespath`` evaluation raise the very
same class, so differential tests can compare them.
"""

from __future__ import annotations

from typing import Any

from jmespath.exceptions import JMESPathError, JMESPathTypeError

from ..errors import EbiMapperError

__all__ = ["FunctionValueError", "error_message", "quote_value"]

_SHOWN = 60  # characters of a value quoted inside a one-line message


class FunctionValueError(EbiMapperError, JMESPathError):
    """A function got a value it cannot use; bad data, which the engine reports as a rejection.

    ``function`` is the function's name, ``value`` the offending argument as received (for a
    result out of range with no single culprit, the list of arguments), ``reason`` the one-line
    explanation, which already quotes the value. ``str()`` is ``"<function>(): <reason>"``.
    """

    def __init__(self, function: str, value: Any, reason: str):
        self.function = function
        self.value = value
        self.reason = reason
        super().__init__(f"{function}(): {reason}")

    def __reduce__(self):  # pickle (e.g. across processes) by the real constructor arguments
        return (type(self), (self.function, self.value, self.reason))


def quote_value(value: Any) -> str:
    """A value as it appears in a one-line message: ``'text'`` (truncated), ``12.5``, ``true``, ``null``."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
        return repr(text)
    if isinstance(value, int) and value.bit_length() > 640:  # repr() of huge ints is slow, then refused
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} items"
    return type(value).__name__


def error_message(exc: BaseException) -> str:
    """The one-line text of an evaluation error, speaking JSON: values as ``null``/``true``, never Python's ``None``/``True``.

    jmespath's type error prints the Python value and a Python list of types (``invalid type for
    value: None, expected one of: ['number']``); every user-facing message about an expression
    (rejections, explain) goes through here instead of ``str(exc)``.
    """
    if isinstance(exc, JMESPathTypeError):
        expected = " or ".join(str(t) for t in (exc.expected_types or ())) or "another type"
        return (
            f"In function {exc.function_name}(), invalid type for value {quote_value(exc.current_value)}: "
            f"expected {expected}, received {exc.actual_type}"
        )
    return str(exc)
