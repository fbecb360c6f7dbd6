"""Built-in functions, registered through the public hooks like any third-party plugin.

The extra JMESPath functions a mapping may call (``docs/functions.md`` documents each with
examples). Conventions shared by all of them:

* **Types are checked by the evaluator** from each :class:`FunctionDef`'s signature, so a wrong
  type (``lower(`1`)``) raises jmespath's ``JMESPathTypeError``. Optional and variadic extra
  arguments, which jmespath does not check, are checked here and raise the same errors.
* **Null in, null out**: a ``null`` value argument (a missing or null field) gives ``null``, so
  the engine's null policy decides what happens, and reports the expression.
* **Unusable values raise** :class:`~ebi_mapper.expressions.FunctionValueError`, never give
  null: an unparsable time, a non-numeric string, a division by zero, an unknown time zone.
  A null from a computed expression means "produced nothing" to the engine, so answering null
  would silently drop the field from an event that is still sent; the error is a
  ``JMESPathError``, which the engine turns into a rejection naming the field, the expression
  and (in the message) the value. Any non-null argument is checked, even when another is null.
  Absence is not unusable: ``lookup`` of a key the table lacks is null. A mapping mistake
  raises its own error: an unknown ``lookup`` table.
* **No clock**: nothing here reads the current time; event time always comes from the payload.
  Naive times are read in the mapping's ``source_timezone`` with its ``dst`` policy (UTC and
  ``earlier`` outside a mapping), which is why the time functions use ``FunctionDef.bind``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any, cast

from jmespath import exceptions as jmes_errors
from jmespath.functions import TYPES_MAP

from ..errors import UnknownNameError
from ..extensions import FunctionDef
from ..hookspecs import hookimpl
from ..plugin_kit import (
    CoercionError,
    FunctionValueError,
    describe_value,
    format_context,
    load_zone,
    make_timestamp_parser,
    parse_bool,
    parse_decimal,
    parse_epoch,
    parse_formatted,
    quote_value,
    to_epoch_millis,
    truthy,
)
from .odds import ODDS_FUNCTIONS

__all__ = ["BUILTIN_FUNCTIONS", "register_functions"]

_MATH = Context(prec=34)  # decimal128: plenty for amounts, bounded for hostile inputs
_WIDE = Context(prec=200)  # for exact rounding and scaling of anything parse_decimal admits
_INT_MIN, _INT_MAX = -(2**63), 2**64
_MAX_PLACES = 15  # round() places and minor_to_major() exponents beyond this are not money

STRING, NUMBER, BOOLEAN, NULL, ANY = "string", "number", "boolean", "null", "any"


# --- argument checks jmespath leaves to the function (optional/variadic extras) -------------


class _AtMostArityError(jmes_errors.ArityError):
    """Too many arguments for a function with optional ones."""

    def __str__(self) -> str:
        return (
            f"Expected at most {self.expected_arity} arguments for function "
            f"{self.function_name}(), received {self.actual_arity}"
        )


def _jmes_type(value: Any) -> str:
    return TYPES_MAP.get(type(value).__name__, "unknown")


def _check_extra(name: str, args: tuple, first: int, types: tuple[str, ...], most: int | None) -> None:
    """Type-check arguments from index ``first`` on, and the total count against ``most``."""
    if most is not None and len(args) > most:
        raise _AtMostArityError(most, len(args), name)
    for arg in args[first:]:
        if _jmes_type(arg) not in types:
            raise jmes_errors.JMESPathTypeError(name, arg, _jmes_type(arg), list(types))


# --- numbers --------------------------------------------------------------------------------


def _number(name: str, value: Any) -> Decimal | None:
    """The exact decimal of a number or numeric string; None for null; else FunctionValueError."""
    if value is None:
        return None
    try:
        return parse_decimal(value)
    except CoercionError as exc:
        raise FunctionValueError(name, value, f"{quote_value(value)} is not a number") from exc


def _number_out(name: str, number: Decimal, culprit: Any) -> int | float:
    """A JSON number for a decimal result: integral values as ints (64-bit), others as floats.

    A result no double can hold is unusable, not null: ``culprit`` (the argument, or the list of
    arguments) is what the error carries.
    """
    if number.is_finite():
        if number == number.to_integral_value() and _INT_MIN <= number < _INT_MAX:
            return int(number)
        result = float(number)
        if result not in (float("inf"), float("-inf")):
            return result
    raise _out_of_range(name, culprit)


def _out_of_range(name: str, culprit: Any) -> FunctionValueError:
    shown = " and ".join(map(quote_value, culprit)) if type(culprit) is list else quote_value(culprit)
    return FunctionValueError(name, culprit, f"the result for {shown} is beyond the range of a JSON number")


def _places(name: str, value: Any, low: int, what: str) -> int:
    """An integer argument from ``low`` to ``_MAX_PLACES`` (integral floats allowed)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is int and low <= value <= _MAX_PLACES:
        return value
    reason = f"{what} must be an integer from {low} to {_MAX_PLACES}, not {quote_value(value)}"
    raise FunctionValueError(name, value, reason)


# Fast paths, each equal to the Decimal definition below it (tests/functions/test_fast_arithmetic.py):
# ints are exact in Python, and a float with at most 4 decimals under 1e11 is exactly
# round(v * 10**4) / 10**4, so money is added and subtracted as exact integers of 1/10000.
_SAFE = 2**53  # every int up to here is a double too, so int / 10**e (e <= 15) is correctly rounded
_MONEY_SCALE = 10_000
_MONEY_LIMIT = 1e11


def _scaled_money(value: Any) -> int | None:
    """``value * 10**4`` as an exact int when ``value`` is an int or a float with at most 4 decimals, else None."""
    kind = type(value)
    if kind is int:
        return value * _MONEY_SCALE if -_SAFE <= value <= _SAFE else None
    if kind is float and -_MONEY_LIMIT < value < _MONEY_LIMIT and round(value, 4) == value:
        return round(value * _MONEY_SCALE)
    return None


def _from_scaled(total: int) -> int | float:
    """The JSON number for ``total / 10**4``: an int when whole (as _number_out), else the nearest float."""
    whole, part = divmod(total, _MONEY_SCALE)
    return whole if part == 0 else total / _MONEY_SCALE


def _with_money_fast_path(exact: Callable[[Any, Any], Any], sign: int) -> Callable[[Any, Any], Any]:
    """``exact`` (add for ``sign`` 1, subtract for -1) with ints and short money amounts done as exact integers."""

    def apply(a: Any, b: Any) -> Any:
        x, y = _scaled_money(a), _scaled_money(b)
        if x is not None and y is not None and abs(total := x + sign * y) <= _SAFE:
            return _from_scaled(total)
        return exact(a, b)

    apply.__doc__ = exact.__doc__
    apply.exact = exact  # type: ignore[attr-defined]  # the definition, for the tests (a function attribute)
    return apply


def _arith(name: str, op: Callable[[Decimal, Decimal], Decimal]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        x, y = _number(name, a), _number(name, b)  # both checked: a bad one raises even beside a null
        if x is None or y is None:
            return None
        if name == "divide" and y == 0:
            raise FunctionValueError(name, b, f"division by zero ({quote_value(a)} / {quote_value(b)})")
        try:
            with localcontext(_MATH):
                result = op(x, y)
        except ArithmeticError as exc:  # overflow beyond decimal128's exponent range
            raise _out_of_range(name, [a, b]) from exc
        return _number_out(name, result, [a, b])

    apply.__doc__ = f"{name}(a, b) on the exact decimal values; FunctionValueError for unusable ones."
    return apply


def fn_round(n: Any, places: Any) -> Any:
    """Round to ``places`` decimals, half away from zero, on the exact decimal value."""
    digits = _places("round", places, -_MAX_PLACES, "places")
    number = _number("round", n)
    if number is None:
        return None
    if cast(int, number.as_tuple().exponent) >= -digits:  # parse_decimal gives finite decimals: an int exponent
        return _number_out("round", number, n)  # nothing to round (also keeps huge values exact)
    # Fewer digits than the operand has, plus one for a carry (9.99 -> 10.0): quantize never overflows.
    precision = max(len(number.as_tuple().digits) + 2, _WIDE.prec)
    with localcontext(Context(prec=precision)):
        rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return _number_out("round", rounded, n)


def fn_minor_to_major(x: Any, exponent: Any) -> Any:
    """Minor currency units to major ones: ``x / 10**exponent``, exactly (1234, 2 → 12.34).

    ``x`` must be a whole number of minor units: a fraction (``'10.50'``) raises, naming it.
    """
    if type(x) is int and type(exponent) is int and 0 <= exponent <= _MAX_PLACES and -_SAFE <= x <= _SAFE:
        # Both are doubles, so the quotient is correctly rounded: float() of the exact decimal.
        scale = 10**exponent
        whole, part = divmod(x, scale)
        return whole if part == 0 else x / scale
    return minor_to_major_exact(x, exponent)


def minor_to_major_exact(x: Any, exponent: Any) -> Any:
    """:func:`fn_minor_to_major` by Decimal arithmetic: the definition its int fast path is tested against."""
    digits = _places("minor_to_major", exponent, 0, "the exponent")
    number = _number("minor_to_major", x)
    if number is None:
        return None
    if number != number.to_integral_value():
        # '10.50' cents is not 0.105: a producer that sends fractions of a minor unit has a unit bug.
        raise FunctionValueError("minor_to_major", x, f"{quote_value(x)} has a fraction of a minor unit: minor amounts are whole numbers (is it already in major units?)")
    try:
        with localcontext(_WIDE):
            scaled = number.scaleb(-digits)
    except ArithmeticError as exc:  # beyond the decimal exponent range: no JSON number either
        raise _out_of_range("minor_to_major", x) from exc
    return _number_out("minor_to_major", scaled, x)


def fn_fail(reason: str) -> Any:
    """Reject the record with ``reason``: the mapping's own check (``data.amount < `0` && fail('negative amount')``).

    Raised as :class:`FunctionValueError`, so the engine's one rule for unusable values applies on
    both paths: the record is rejected (``expression_error``) naming the field and this reason.
    A reason is one line like every other (it may come from the payload, and a line break in it
    would forge lines in logs and reports): whitespace runs fold to one space, and it is cut at
    ``_FAIL_REASON_MAX`` characters.
    """
    text = " ".join(reason.split())
    if len(text) > _FAIL_REASON_MAX:
        text = text[:_FAIL_REASON_MAX] + "…"
    raise FunctionValueError("fail", reason, text or "(no reason given)")


_FAIL_REASON_MAX = 300


# --- text -----------------------------------------------------------------------------------


def _text_of(value: Any) -> str:
    """How concat() writes a non-string: like JMESPath's to_string()."""
    return value if type(value) is str else json.dumps(value, separators=(",", ":"))


def fn_concat(*args: Any) -> Any:
    """Join the arguments as text, skipping nulls; null only if every argument is null."""
    _check_extra("concat", args, 1, (STRING, NUMBER, BOOLEAN, NULL), None)
    parts = [_text_of(a) for a in args if a is not None]
    return "".join(parts) if parts else None


def _nullable(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(value: Any, *rest: Any) -> Any:
        return None if value is None else fn(value, *rest)

    call.__doc__ = fn.__doc__
    return call


def _replace(s: str, old: str, new: str) -> str:
    return s if old == "" else s.replace(old, new)


def _split(s: str, sep: str) -> list[str]:
    return list(s) if sep == "" else s.split(sep)


# --- misc -----------------------------------------------------------------------------------


def fn_coalesce(*args: Callable[[], Any]) -> Any:
    """The first argument that is not null, or null; lazy: the arguments after it are never evaluated."""
    for arg in args:
        value = arg()
        if value is not None:
            return value
    return None


def fn_if(cond: Callable[[], Any], then: Callable[[], Any], otherwise: Callable[[], Any]) -> Any:
    """``then`` when ``cond`` is true in JMESPath's sense, else ``otherwise``; only that branch is evaluated.

    A null condition is false (the else branch): the one documented exception to null in, null out.
    """
    return then() if truthy(cond()) else otherwise()


def fn_to_flag(x: Any) -> Any:
    """1 or 0 from a boolean, 1/0, or true/false/yes/no/y/n/1/0 text; null for null."""
    flag = _boolean("to_flag", x)
    return None if flag is None else int(flag)


def fn_allocate(amount: Any, n: Any, index: Any, *places: Any) -> Any:
    """Part ``index`` of ``amount`` split into ``n`` parts at ``places`` decimals (default 2), by largest remainder.

    Every part is ``amount / n`` rounded down to the unit (10^-places), and the units left over go
    one each to the first parts (the remainders are all equal, so ties go in index order): the ``n``
    parts differ by at most one unit and sum exactly to ``amount``. A negative amount is split as
    its absolute value, with the sign.
    """
    _check_extra("allocate", (amount, n, index, *places), 3, (NUMBER,), 4)
    digits = _places("allocate", places[0], 0, "places") if places else 2
    count = _count("allocate", n, 1, "n")
    position = _count("allocate", index, 0, "index")
    total = _number("allocate", amount)
    if total is None or count is None or position is None:
        return None
    if position >= count:
        raise FunctionValueError("allocate", index, f"index {quote_value(index)} is not below n ({quote_value(n)})")
    units = total.scaleb(digits)
    if units != units.to_integral_value():
        raise FunctionValueError("allocate", amount, f"{quote_value(amount)} has more than {digits} decimals")
    whole = int(units)
    share, left = divmod(abs(whole), count)
    part = share + (1 if position < left else 0)
    return _number_out("allocate", Decimal(-part if whole < 0 else part).scaleb(-digits), amount)


def _count(name: str, value: Any, low: int, what: str) -> int | None:
    """A whole number from ``low`` up (integral floats allowed), or None for null."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is int and low <= value <= _INT_MAX:
        return value
    raise FunctionValueError(name, value, f"{what} must be a whole number from {low}, not {quote_value(value)}")


def _boolean(name: str, x: Any) -> bool | None:
    """The truth value of a boolean, 1/0, or true/false/yes/no/y/n/1/0 text; None for null; else FunctionValueError."""
    if x is None:
        return None
    try:
        return parse_bool(x)
    except CoercionError as exc:
        raise FunctionValueError(name, x, f"{quote_value(x)} is not a yes/no value (true/false, yes/no, y/n, 1/0)") from exc


def fn_yes_no(x: Any) -> Any:
    """'Yes' or 'No' from a boolean, 1/0, or true/false/yes/no/y/n/1/0 text; null for null."""
    flag = _boolean("yes_no", x)
    return None if flag is None else ("Yes" if flag else "No")


def _key_text(key: Any) -> str:
    """Lookup keys are compared as text: 1, 1.0 and '1' find the same row; true finds 'true'."""
    if type(key) is str:
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    if key is None:
        return "null"
    return str(key)


def _bind_lookup(mapping: Any) -> Callable[[Any, Any], Any]:
    tables = {
        str(name): {_key_text(k): v for k, v in (rows or {}).items()}
        for name, rows in (getattr(mapping, "tables", None) or {}).items()
    }

    def lookup(table: str, key: Any) -> Any:
        """The value for ``key`` in the mapping's table ``table``; null if the key is absent."""
        try:
            rows = tables[table]
        except KeyError:
            known = ", ".join(sorted(tables)) or "none"
            raise UnknownNameError(f"lookup(): unknown table {table!r} (declared: {known})") from None
        if key is None:
            return None
        return rows.get(_key_text(key))

    return lookup


# --- time -----------------------------------------------------------------------------------


def _zone_of(mapping: Any) -> tuple[Any, str]:
    return getattr(mapping, "source_timezone", None) or "UTC", getattr(mapping, "dst", None) or "earlier"


def _unknown_zone(name: str, zone: Any) -> FunctionValueError:
    return FunctionValueError(name, zone, f"unknown time zone {quote_value(zone)}")


def _unreadable(name: str, value: Any, exc: CoercionError) -> FunctionValueError:
    """``to_utc(): 'garbage': not a recognised time form``: the value first, then the reason."""
    reason, quoted = str(exc), f": {describe_value(value)}"
    if reason.endswith(quoted):  # the timestamp reader ends most reasons with the value: say it once
        reason = reason[: -len(quoted)]
    return FunctionValueError(name, value, f"{quote_value(value)}: {reason}")


def _bind_time(mapping: Any) -> tuple[Callable[[Any], Any], Callable[[str, Any], Callable[[Any], Any]]]:
    """The mapping's default parser, and a parser-for-zone lookup raising for an unknown zone."""
    tz, dst = _zone_of(mapping)
    default = make_timestamp_parser(tz=tz, dst=dst)  # an unknown source_timezone fails here, at bind
    parsers: dict[str, Callable[[Any], Any] | None] = {}

    def parser_for(name: str, zone: Any) -> Callable[[Any], Any]:
        if zone is None:
            return default
        if zone not in parsers:
            if len(parsers) > 64:  # zones may come from payloads: keep the cache bounded
                parsers.clear()
            try:
                parsers[zone] = make_timestamp_parser(tz=zone, dst=dst)
            except UnknownNameError:
                parsers[zone] = None  # remembered, so a payload full of bad zones stays cheap
        parser = parsers[zone]
        if parser is None:
            raise _unknown_zone(name, zone)
        return parser

    return default, parser_for


def _bind_to_utc(mapping: Any) -> Callable[..., Any]:
    _, parser_for = _bind_time(mapping)

    def to_utc(x: Any, *tz: Any) -> Any:
        """Any supported time form as ISO 8601 UTC ('...Z'); naive times read in ``tz``."""
        _check_extra("to_utc", (x, *tz), 1, (STRING, NULL), 2)
        parse = parser_for("to_utc", tz[0] if tz else None)  # an unknown zone raises even for a null x
        if x is None:
            return None
        try:
            return format_context(parse(x))
        except CoercionError as exc:
            raise _unreadable("to_utc", x, exc) from exc

    return to_utc


def _bind_to_epoch_millis(mapping: Any) -> Callable[[Any], Any]:
    default, _ = _bind_time(mapping)

    def to_epoch_millis_fn(x: Any) -> Any:
        """Any supported time form as integer milliseconds since 1970-01-01T00:00:00Z."""
        if x is None:
            return None
        try:
            return to_epoch_millis(default(x))
        except CoercionError as exc:
            raise _unreadable("to_epoch_millis", x, exc) from exc

    return to_epoch_millis_fn


def _bind_parse_time(mapping: Any) -> Callable[..., Any]:
    tz_default, dst = _zone_of(mapping)
    _bind_time(mapping)  # fail at bind time for an unknown source_timezone, like the others

    def parse_time(x: Any, fmt: str, *tz: Any) -> Any:
        """Read ``x`` with a strptime ``format`` only, as ISO 8601 UTC; naive results read in ``tz``."""
        _check_extra("parse_time", (x, fmt, *tz), 2, (STRING,), 3)
        zone = tz_default
        if tz:
            try:
                zone = load_zone(tz[0])  # cached; an unknown zone raises even for a null x
            except UnknownNameError as exc:
                raise _unknown_zone("parse_time", tz[0]) from exc
        if x is None:
            return None
        try:
            return format_context(parse_formatted(x, (fmt,), tz=zone, dst=dst))
        except CoercionError as exc:
            raise _unreadable("parse_time", x, exc) from exc

    return parse_time


def _from_epoch(name: str, unit: str) -> Callable[[Any], Any]:
    def from_epoch(n: Any) -> Any:
        if n is None:
            return None
        try:
            return format_context(parse_epoch(n, unit))
        except CoercionError as exc:
            raise _unreadable(name, n, exc) from exc

    from_epoch.__doc__ = f"An epoch number in {unit} (number or numeric string) as ISO 8601 UTC."
    return from_epoch


# --- registration ---------------------------------------------------------------------------


def _unbound(bind: Callable[[Any], Callable[..., Any]]) -> Callable[..., Any]:
    """``fn`` for a bound function: its behaviour outside any mapping (UTC, no tables)."""
    return bind(None)


def _def(name: str, fn: Callable[..., Any], signature: tuple[tuple[str, ...], ...], doc: str, *,
         variadic: bool = False, bind: Callable[[Any], Callable[..., Any]] | None = None, lazy: bool = False) -> FunctionDef:
    return FunctionDef(name=name, fn=fn, signature=signature, variadic=variadic, doc=doc, bind=bind, lazy=lazy)


_TIME_IN = (STRING, NUMBER, NULL)
_NUM_IN = (NUMBER, STRING, NULL)
_TEXT_IN = (STRING, NULL)

BUILTIN_FUNCTIONS: tuple[FunctionDef, ...] = (
    # time
    # Optional trailing arguments: the signature lists the required ones as variadic (jmespath
    # checks only those) and the function checks the optional one itself.
    _def("to_utc", _unbound(_bind_to_utc), (_TIME_IN,),
         "to_utc(x[, tz]): any supported time form as ISO 8601 UTC 'YYYY-MM-DDTHH:MM:SS.ffffffZ'",
         variadic=True, bind=_bind_to_utc),
    _def("from_epoch_seconds", _from_epoch("from_epoch_seconds", "s"), (_NUM_IN,),
         "from_epoch_seconds(n): epoch seconds as ISO 8601 UTC"),
    _def("from_epoch_millis", _from_epoch("from_epoch_millis", "ms"), (_NUM_IN,),
         "from_epoch_millis(n): epoch milliseconds as ISO 8601 UTC"),
    _def("from_epoch_micros", _from_epoch("from_epoch_micros", "us"), (_NUM_IN,),
         "from_epoch_micros(n): epoch microseconds as ISO 8601 UTC"),
    _def("to_epoch_millis", _unbound(_bind_to_epoch_millis), (_TIME_IN,),
         "to_epoch_millis(x): any supported time form as integer epoch milliseconds", bind=_bind_to_epoch_millis),
    _def("parse_time", _unbound(_bind_parse_time), (_TEXT_IN, (STRING,)),
         "parse_time(x, format[, tz]): read x with a strptime format only, as ISO 8601 UTC",
         variadic=True, bind=_bind_parse_time),
    # text
    _def("lower", _nullable(str.lower), (_TEXT_IN,), "lower(s): lower case"),
    _def("upper", _nullable(str.upper), (_TEXT_IN,), "upper(s): upper case"),
    _def("trim", _nullable(str.strip), (_TEXT_IN,), "trim(s): without leading and trailing white space"),
    _def("concat", fn_concat, ((STRING, NUMBER, BOOLEAN, NULL),),
         "concat(a, ...): the arguments joined as text, nulls skipped; null if all are null", variadic=True),
    _def("replace", _nullable(_replace), (_TEXT_IN, (STRING,), (STRING,)),
         "replace(s, old, new): every occurrence of old replaced by new"),
    _def("split", _nullable(_split), (_TEXT_IN, (STRING,)), "split(s, sep): the parts of s between separators"),
    # numbers
    _def("round", fn_round, (_NUM_IN, (NUMBER,)), "round(n, places): decimal rounding, half away from zero"),
    _def("add", _with_money_fast_path(_arith("add", lambda a, b: a + b), 1), (_NUM_IN, _NUM_IN),
         "add(a, b): a + b, exact on decimals"),
    _def("subtract", _with_money_fast_path(_arith("subtract", lambda a, b: a - b), -1), (_NUM_IN, _NUM_IN),
         "subtract(a, b): a - b, exact on decimals"),
    _def("multiply", _arith("multiply", lambda a, b: a * b), (_NUM_IN, _NUM_IN),
         "multiply(a, b): a * b, exact on decimals"),
    _def("divide", _arith("divide", lambda a, b: a / b), (_NUM_IN, _NUM_IN),
         "divide(a, b): a / b; an error when b is 0"),
    _def("minor_to_major", fn_minor_to_major, (_NUM_IN, (NUMBER,)),
         "minor_to_major(x, exponent): x / 10^exponent exactly, e.g. cents to units; x must be whole"),
    # misc
    _def("allocate", fn_allocate, (_NUM_IN, (NUMBER, NULL), (NUMBER, NULL)),
         "allocate(amount, n, index[, places]): part index of amount split into n parts that sum exactly to it",
         variadic=True),
    # odds
    *(_def(name, fn, (_NUM_IN,), doc) for name, fn, doc in ODDS_FUNCTIONS),
    # misc; if and coalesce are lazy (special forms): only the arguments they need are evaluated
    _def("if", fn_if, ((ANY,), (ANY,), (ANY,)), "if(cond, then, else): then when cond is true, else else; only one is evaluated",
         lazy=True),
    _def("coalesce", fn_coalesce, ((ANY,),), "coalesce(a, ...): the first argument that is not null (the rest are not evaluated)",
         variadic=True, lazy=True),
    _def("to_flag", fn_to_flag, ((STRING, NUMBER, BOOLEAN, NULL),), "to_flag(x): 1 or 0 from a boolean-like value"),
    _def("fail", fn_fail, ((STRING,),), "fail(reason): reject the record with this reason; guard it: cond && fail('why')"),
    _def("yes_no", fn_yes_no, ((STRING, NUMBER, BOOLEAN, NULL),), "yes_no(x): 'Yes' or 'No' from a boolean-like value"),
    _def("lookup", _unbound(_bind_lookup), ((STRING,), (STRING, NUMBER, BOOLEAN, NULL)),
         "lookup(table, key): the value for key in a table the mapping declares under tables:", bind=_bind_lookup),
)


@hookimpl
def register_functions(register: Callable[[FunctionDef], None]) -> None:
    """Register the built-in functions, exactly as a third-party plugin would."""
    for definition in BUILTIN_FUNCTIONS:
        register(definition)
