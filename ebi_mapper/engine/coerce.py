"""Coerce a mapped value to the catalog type of the param it is meant for.

One small function per :data:`~ebi_mapper.catalog.model.ParamType`, chosen once per field by
:func:`make_coercer` (the engine compiles one coercer per mapped field); :func:`coerce_value` is
the one-shot form. A value that cannot be coerced raises :class:`CoercionError` with a one-line
message; the engine turns it into a rejection naming the param, the expression and the value.
``None`` passes through untouched: the null policy is the engine's, not the coercer's.

The rules (also in ``docs/functions.md`` § "Coercion by catalog type"):

* ``string``: strings as they are; ints as digits; integral floats without ``.0`` (``12.0`` →
  ``'12'``), other floats by their shortest repr; booleans, arrays and objects rejected (write
  ``to_string(x)`` to send ``'true'``); more than ``max_length`` (255) characters rejected.
* ``number``: ints and finite floats as they are; numeric strings read exactly: integer strings
  become ints of any size, decimal strings become floats only if the float reads back as the
  same decimal, else rejected; NaN, infinities and booleans rejected; ints must fit 64 bits.
  Monetary params are rounded to 4 places, half away from zero (``ROUND_HALF_UP``, what SQL
  ``ROUND`` does, so amounts reconcile with the client's reports).
* ``integer``: ints; integral floats and numeric strings whose value is integral; for a 0/1 flag
  (``Param.flag``, e.g. ``ootb_is_live``) also ``true``/``false``, written 1/0.
* ``boolean`` / ``yes_no``: ``true``/``false``, ``1``/``0`` (numbers or strings), and the strings
  ``true false yes no y n 1 0`` in any case; ``yes_no`` writes ``'Yes'``/``'No'``.
* ``timestamp``: any form :func:`~ebi_mapper.engine.timestamps.parse_timestamp` reads, written as
  ISO 8601 UTC with six fractional digits and ``Z``.
* ``string_or_number``: strings stay strings (an id above 2^53 sent as a string survives
  exactly); finite numbers stay numbers, except ints beyond ±2^53, which become strings because
  a JSON reader using doubles would silently change them.
* ``allowed`` (a closed list): strings match case-insensitively, ignoring surrounding blanks, and
  come out in the catalog's spelling; typed values must equal one of the allowed entries read as
  that type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Any

from ..catalog.model import Param
from .coerce_errors import CoercionError, describe_value
from .timestamps import format_context, make_timestamp_parser

__all__ = [
    "CoercionError",
    "CUSTOMER_MAX_LENGTH",
    "MAX_SAFE_INTEGER",
    "MONEY_PLACES",
    "MONEY_ROUNDING",
    "coerce_value",
    "make_coercer",
    "coerce_customer",
    "money_exact",
    "parse_bool",
    "parse_decimal",
    "parse_number",
]

MAX_SAFE_INTEGER = 2**53  # beyond this a double (JavaScript, many JSON readers) loses integers
MONEY_PLACES = 4
MONEY_ROUNDING = ROUND_HALF_UP
CUSTOMER_MAX_LENGTH = 255

_INT_MIN, _INT_MAX = -(2**63), 2**64  # what 64-bit JSON writers (orjson) and readers accept
_MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)
_WIDE = Context(prec=200)  # exact arithmetic for the sizes _NUMBER admits
_MAX_NUMBER_CHARS = 100
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# Decimal text that float() reads exactly: at most 11 + 4 = 15 significant digits, 1-4 decimals.
_MONEY_TEXT = re.compile(r"[+-]?[0-9]{1,11}\.[0-9]{1,4}", re.ASCII)
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


def _wrong_type(expected: str, value: Any) -> CoercionError:
    return CoercionError(f"expected {expected}, got {describe_value(value)}", value)


def _checked_int(value: int, original: Any) -> int:
    if _INT_MIN <= value < _INT_MAX:
        return value
    raise CoercionError(f"integer out of range (beyond 64 bits): {describe_value(original)}", original)


def _numeric_text(value: str) -> str:
    text = value.strip()
    if len(text) <= _MAX_NUMBER_CHARS and _NUMBER.fullmatch(text):
        return text
    raise CoercionError(f"not a number: {describe_value(value)}", value)


def _plain(value: Any) -> Any:
    """Subclasses of str/int/float (never from JSON, maybe from Python callers) as their base type."""
    if isinstance(value, bool):
        return value
    for base in (str, int, float):
        if isinstance(value, base):
            return base(value)
    return value


def parse_decimal(value: Any) -> Decimal:
    """The exact decimal value of an int, a finite float (its shortest repr) or a numeric string."""
    kind = type(value)
    if kind is str:
        return Decimal(_numeric_text(value))
    if kind is int:
        return Decimal(value)
    if kind is float:
        if math.isfinite(value):
            return Decimal(repr(value))
        raise CoercionError(f"not a finite number: {describe_value(value)}", value)
    plain = _plain(value)
    if type(plain) is type(value):
        raise _wrong_type("a number", value)
    return parse_decimal(plain)


def _decimal_to_float(number: Decimal, original: Any) -> float:
    result = float(number)
    if math.isfinite(result) and Decimal(repr(result)) == number:
        return result
    raise CoercionError(f"cannot be sent as a number without losing precision: {describe_value(original)}", original)


def parse_number(value: Any) -> int | float:
    """A JSON number from an int, a finite float or a numeric string, without losing precision."""
    kind = type(value)
    if kind is int:
        return _checked_int(value, value)
    if kind is float:
        if math.isfinite(value):
            return value
        raise CoercionError(f"not a finite number: {describe_value(value)}", value)
    if kind is str:
        text = _numeric_text(value)
        if _INTEGER.fullmatch(text):
            return _checked_int(int(text), value)
        return _decimal_to_float(Decimal(text), value)
    plain = _plain(value)
    if type(plain) is type(value):
        raise _wrong_type("a number", value)
    return parse_number(plain)


def parse_bool(value: Any) -> bool:
    """A boolean from ``true``/``false``, ``1``/``0``, or ``true false yes no y n 1 0`` in any case."""
    kind = type(value)
    if kind is bool:
        return value
    if kind is str:
        key = value.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    elif kind is int or kind is float:
        if value == 1:
            return True
        if value == 0:
            return False
    else:
        plain = _plain(value)
        if type(plain) is not type(value):
            return parse_bool(plain)
    raise CoercionError(f"expected a boolean (true/false, yes/no, 1/0), got {describe_value(value)}", value)


def _number_text(value: int | float) -> str:
    """Digits for an int or a float: integral floats without '.0', others by shortest repr."""
    if type(value) is float:
        if not math.isfinite(value):
            raise CoercionError(f"not a finite number: {describe_value(value)}", value)
        if value.is_integer():
            return str(int(value))
        return repr(value)
    try:
        return str(value)
    except ValueError:  # Python refuses to print ints of more than 4,300 digits
        raise CoercionError("integer too long to write", value) from None


# --- one coercer per catalog type ----------------------------------------------------------


def _make_string(param: Param) -> Callable[[Any], Any]:
    limit = param.max_length

    def coerce_string(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            text = value
        elif kind is int or kind is float:
            text = _number_text(value)
        elif value is None:
            return None
        else:
            plain = _plain(value)
            if type(plain) is type(value):
                raise _wrong_type("a string", value)
            return coerce_string(plain)
        if len(text) > limit:
            raise CoercionError(f"string longer than {limit} characters ({len(text)})", value)
        return text

    return coerce_string


def _make_number(param: Param) -> Callable[[Any], Any]:
    if not param.monetary:

        def coerce_number(value: Any) -> Any:
            if value is None:
                return None
            return parse_number(value)

        return coerce_number

    def coerce_money(value: Any) -> Any:
        # Fast paths, equal to money_exact (tests/engine/test_fast_path_coerce.py): a float whose
        # shortest repr has at most 4 decimals is already rounded; a plain decimal string of at
        # most 15 significant digits reads back exactly, so float() of it is the rounded amount.
        kind = type(value)
        if kind is float:
            text = repr(value)
            dot = text.find(".")
            if dot >= 0 and len(text) - dot <= MONEY_PLACES + 1 and "e" not in text:
                return value
        elif kind is str and _MONEY_TEXT.fullmatch(value):
            return float(value)
        return money_exact(value)

    return coerce_money


def money_exact(value: Any) -> Any:
    """A monetary amount rounded to 4 places with Decimal arithmetic (the definition of the rule)."""
    if value is None:
        return None
    if type(value) is int:
        return _checked_int(value, value)
    if type(value) is str and _INTEGER.fullmatch(value.strip()):
        return parse_number(value)
    exact = parse_decimal(value)
    try:
        with localcontext(_WIDE):
            rounded = exact.quantize(_MONEY_QUANTUM, rounding=MONEY_ROUNDING)
    except InvalidOperation:
        raise CoercionError(f"amount out of range: {describe_value(value)}", value) from None
    return _decimal_to_float(rounded, value)


def _make_integer(param: Param) -> Callable[[Any], Any]:
    flag = getattr(param, "flag", False)  # a 0/1 flag: true / false are 1 / 0 (choice boolean_into_flags)

    def coerce_integer(value: Any) -> Any:
        kind = type(value)
        if kind is int:
            return _checked_int(value, value)
        if value is None:
            return None
        if kind is bool and flag:
            return int(value)
        if kind is str and len(value) <= _MAX_NUMBER_CHARS and _INTEGER.fullmatch(value.strip()):
            return _checked_int(int(value.strip()), value)
        exact = parse_decimal(value)
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise CoercionError(f"not an integer: {describe_value(value)}", value)
        if not _INT_MIN <= exact < _INT_MAX:
            raise CoercionError(f"integer out of range (beyond 64 bits): {describe_value(value)}", value)
        return int(exact)

    return coerce_integer


def _make_boolean(param: Param) -> Callable[[Any], Any]:
    def coerce_boolean(value: Any) -> Any:
        if value is None:
            return None
        return parse_bool(value)

    return coerce_boolean


def _make_yes_no(param: Param) -> Callable[[Any], Any]:
    def coerce_yes_no(value: Any) -> Any:
        if value is None:
            return None
        return "Yes" if parse_bool(value) else "No"

    return coerce_yes_no


def _make_timestamp(param: Param, tz: Any, dst: str) -> Callable[[Any], Any]:
    parse = make_timestamp_parser(tz=tz, dst=dst)

    def coerce_timestamp(value: Any) -> Any:
        if value is None:
            return None
        return format_context(parse(value))

    return coerce_timestamp


def _make_string_or_number(param: Param) -> Callable[[Any], Any]:
    limit = param.max_length

    def coerce_string_or_number(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            if len(value) > limit:
                raise CoercionError(f"string longer than {limit} characters ({len(value)})", value)
            return value
        if kind is int:
            if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                return value
            # A double-based JSON reader would change this id: send its exact digits instead.
            text = _number_text(value)
            if len(text) > limit:
                raise CoercionError(f"number longer than {limit} digits", value)
            return text
        if kind is float:
            if math.isfinite(value):
                return value
            raise CoercionError(f"not a finite number: {describe_value(value)}", value)
        if value is None:
            return None
        plain = _plain(value)
        if type(plain) is type(value):
            raise _wrong_type("a string or a number", value)
        return coerce_string_or_number(plain)

    return coerce_string_or_number


# --- closed lists of allowed values -----------------------------------------------------------


def _allowed_key(value: Any) -> str:
    return (value if type(value) is str else _number_text(value)).strip().casefold()


def _with_allowed_text(base: Callable[[Any], Any], allowed: tuple[str, ...]) -> Callable[[Any], Any]:
    """For string types: match case-insensitively and answer with the catalog's spelling."""
    spelling = {_allowed_key(a): a for a in allowed}
    shown = ", ".join(allowed)

    def coerce_allowed(value: Any) -> Any:
        result = base(value)
        if result is None:
            return None
        try:
            key = _allowed_key(result)
        except CoercionError:
            key = None
        if key in spelling:
            return spelling[key] if type(result) is str else result
        raise CoercionError(f"not one of the allowed values ({shown}): {describe_value(value)}", value)

    return coerce_allowed


def _with_allowed_typed(base: Callable[[Any], Any], allowed: tuple[str, ...]) -> Callable[[Any], Any]:
    """For typed params: the coerced value must equal an allowed entry read as that type."""
    accepted = []
    for entry in allowed:
        try:
            accepted.append(base(entry))
        except CoercionError:
            continue  # a catalog note such as '0 (inferred)' is not a value
    if not accepted:
        # No entry reads as this type: a catalog slip, which must not reject every event.
        return base
    shown = ", ".join(allowed)

    def coerce_allowed(value: Any) -> Any:
        result = base(value)
        # Within one param type the results share a type (numbers compare across int/float).
        if result is None or result in accepted:
            return result
        raise CoercionError(f"not one of the allowed values ({shown}): {describe_value(value)}", value)

    return coerce_allowed


_FACTORIES: dict[str, Callable[[Param], Callable[[Any], Any]]] = {
    "string": _make_string,
    "number": _make_number,
    "integer": _make_integer,
    "boolean": _make_boolean,
    "yes_no": _make_yes_no,
    "string_or_number": _make_string_or_number,
}
_TEXT_TYPES = frozenset({"string", "string_or_number"})


def make_coercer(param: Param, tz: Any = "UTC", dst: str = "earlier") -> Callable[[Any], Any]:
    """A one-argument coercer for ``param``, built once per field (``tz``/``dst`` matter for timestamps).

    :raises ~ebi_mapper.errors.MappingError: for an unknown param type or dst policy;
        :class:`~ebi_mapper.errors.UnknownNameError` for an unknown zone.
    """
    try:
        return _cached_coercer(param, tz, dst)
    except TypeError:  # an unhashable param (e.g. ``allowed`` given as a list): build it uncached
        return _build_coercer(param, tz, dst)


@lru_cache(maxsize=4096)
def _cached_coercer(param: Param, tz: Any, dst: str) -> Callable[[Any], Any]:
    return _build_coercer(param, tz, dst)


def _build_coercer(param: Param, tz: Any, dst: str) -> Callable[[Any], Any]:
    if param.type == "timestamp":
        return _make_timestamp(param, tz, dst)
    try:
        factory = _FACTORIES[param.type]
    except KeyError:
        from ..errors import MappingError

        raise MappingError(f"param {param.key!r} has an unknown type {param.type!r}") from None
    base = factory(param)
    if not param.allowed:
        return base
    allowed = tuple(param.allowed)
    if param.type in _TEXT_TYPES:
        return _with_allowed_text(base, allowed)
    return _with_allowed_typed(base, allowed)


def coerce_value(value: Any, param: Param, *, tz: Any = "UTC", dst: str = "earlier") -> Any:
    """Coerce one value to ``param``'s catalog type, or raise :class:`CoercionError`."""
    return make_coercer(param, tz, dst)(value)


def coerce_customer(value: Any) -> str:
    """The envelope's customer id: always a non-empty string of at most 255 characters.

    Ints become their digits; integral floats up to 2^53 too (beyond that the float is no longer
    the id that was meant); everything else, ``None`` included, raises :class:`CoercionError`.
    """
    kind = type(value)
    if kind is str:
        text = value
    elif kind is int:
        text = _number_text(value)
    elif kind is float:
        if not (math.isfinite(value) and value.is_integer()):
            raise CoercionError(f"a customer id must be a string or an integer, got {describe_value(value)}", value)
        if abs(value) > MAX_SAFE_INTEGER:
            raise CoercionError(f"customer id too large to be exact as a float: {describe_value(value)}", value)
        text = str(int(value))
    elif value is None:
        raise CoercionError("a customer id is required, got null", value)
    else:
        plain = _plain(value)
        if type(plain) is type(value):
            raise _wrong_type("a customer id (string or integer)", value)
        return coerce_customer(plain)
    if not text.strip():
        raise CoercionError("a customer id must not be empty", value)
    if len(text) > CUSTOMER_MAX_LENGTH:
        raise CoercionError(f"customer id longer than {CUSTOMER_MAX_LENGTH} characters ({len(text)})", value)
    return text
