"""What generated evaluators call at run time: jmespath's semantics for the uncommon types.

Generated code handles the JSON types (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``) inline; anything else falls through to these helpers, which repeat jmespath's
``TreeInterpreter`` logic word for word so results stay identical for every Python value.
"""

from __future__ import annotations

import json
import math
import operator
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from jmespath.visitor import _equals, _is_actual_number

__all__ = [  # _Expression is used too; its name must stay private-looking, see its docstring
    "NO_VALUES",
    "NOT_FALSY_TYPES",
    "NUMBER_TYPES",
    "KNOWN_TYPES",
    "equals",
    "field",
    "index",
    "slice_of",
    "values",
    "is_false",
    "not_value",
    "ordered",
    "to_string",
]

NoneType = type(None)

# Types for which jmespath's falsiness (== '' / [] / {} / None / False) is Python's `not`.
NOT_FALSY_TYPES = frozenset({str, list, dict, bool, NoneType})
# int and float are always truthy in jmespath, 0 included.
NUMBER_TYPES = frozenset({int, float})
# Types whose lookup of ``.get`` is known to fail, so a field of them is null without a try.
_NO_GET = frozenset({list, str, int, float, bool, tuple, NoneType})

NO_VALUES = object()  # value projection over something without .values()

equals = _equals  # jmespath's ==, with its 0/1 versus false/true special case


class _Expression:
    """An expression reference (``&expr``) as functions receive it.

    Named ``_Expression`` on purpose: jmespath type-checks ``expref`` arguments by class name. It
    speaks jmespath's protocol (``ref.visit(ref.expression, value)``, used by ``sort_by`` and
    friends) and is also callable: ``ref(value)``.
    """

    __slots__ = ("expression",)

    def __init__(self, expression: Callable[[Any], Any]):
        self.expression = expression

    def visit(self, expression: Callable[[Any], Any], value: Any) -> Any:
        """Evaluate ``expression`` (this reference's ``.expression``) against ``value``."""
        return expression(value)

    def __call__(self, value: Any) -> Any:
        return self.expression(value)


KNOWN_TYPES = (bool, list, dict, NoneType, str, float, int, OrderedDict, _Expression)


def field(value: Any, key: str) -> Any:
    """jmespath's field lookup: ``value.get(key)``, null when there is no ``.get``."""
    if type(value) in _NO_GET:
        return None
    try:
        return value.get(key)
    except AttributeError:
        return None


def index(value: Any, position: int) -> Any:
    """jmespath's ``[n]``: lists only, null when out of range."""
    if not isinstance(value, list):
        return None
    try:
        return value[position]
    except IndexError:
        return None


def slice_of(value: Any, part: slice) -> Any:
    """jmespath's ``[a:b:c]``: lists only (a zero step raises ValueError, as in jmespath)."""
    if not isinstance(value, list):
        return None
    return value[part]


def values(value: Any) -> Any:
    """The base of ``*``: ``value.values()``, or :data:`NO_VALUES` when it has none."""
    try:
        return value.values()
    except AttributeError:
        return NO_VALUES


def is_false(value: Any) -> bool:
    """jmespath's falsiness, written as jmespath writes it."""
    return value == "" or value == [] or value == {} or value is None or value is False


def not_value(value: Any) -> bool:
    """jmespath's ``!``: ``!0`` is false, otherwise Python's ``not``."""
    if _is_actual_number(value) and value == 0:
        return False
    return not value


_ORDER_OPS = {"lt": operator.lt, "gt": operator.gt, "lte": operator.le, "gte": operator.ge}


def ordered(op: str, left: Any, right: Any) -> Any:
    """``<``, ``<=``, ``>``, ``>=`` as the JMESPath spec says: two numbers (or, as jmespath-python
    allows, two strings) are ordered; any other pair is null.

    jmespath itself raises ``TypeError`` for a string against a number (``"42" > `0```): one odd
    record must not abort a run, and the spec's answer is null, so both evaluators give null.
    """
    if (_is_actual_number(left) and _is_actual_number(right)) or (type(left) is str and type(right) is str):
        return _ORDER_OPS[op](left, right)
    return None


# json.dumps(x, separators=(',', ':'), default=str) builds this encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def to_string(value: Any) -> str:
    """jmespath's ``to_string`` for a non-``str`` value, without building an encoder per call."""
    kind = type(value)
    if kind is int:
        return int.__repr__(value)  # what the json encoder writes for an int
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return _ENCODER.encode(value)
