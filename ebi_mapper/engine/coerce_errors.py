"""The one exception a value that cannot be normalised raises.

It lives in its own module so :mod:`~ebi_mapper.engine.timestamps` and
:mod:`~ebi_mapper.engine.coerce` can both raise it without importing each other.
"""

from __future__ import annotations

from typing import Any

from ..errors import EbiMapperError

__all__ = ["CoercionError", "describe_value"]

_SHOWN = 60  # characters of a value quoted inside a one-line message


class CoercionError(EbiMapperError, ValueError):
    """A value cannot become the catalog type it is meant for.

    The message is one line and says why; the engine turns the error into a ``Rejection`` that
    names the param, the expression and the value, so the message need not repeat them.
    """

    def __init__(self, message: str, value: Any = None):
        super().__init__(message)
        self.value = value


def describe_value(value: Any) -> str:
    """A short, one-line rendering of a value for an error message (JSON type name plus a quote)."""
    if value is None:
        return "null"
    if value is True:
        return "boolean true"
    if value is False:
        return "boolean false"
    if isinstance(value, str):
        text = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
        return "string " + repr(text)
    if isinstance(value, (int, float)):
        text = repr(value)
        return "number " + (text if len(text) <= _SHOWN else text[:_SHOWN] + "…")
    if isinstance(value, dict):
        return f"object of {len(value)} keys"
    if isinstance(value, (list, tuple)):
        return f"array of {len(value)} items"
    return type(value).__name__
