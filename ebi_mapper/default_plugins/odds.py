"""Betting odds in their three notations: decimal (3.5), fractional ('5/2') and American (+250).

Every conversion is exact rational arithmetic on :class:`~fractions.Fraction` (a float argument is
read as the decimal it prints as, like every numeric function), and a result is returned as the
JSON number nearest to the exact value (an integer when whole). The functions are registered by
:mod:`.functions` with the other built-ins; ``docs/functions.md`` documents each with examples.

Fractional odds from decimal ones need an approximation (1.91 is 91/100 exactly, but bookmakers
write 10/11): :func:`odds_fraction` first looks the price up in :data:`COMMON_FRACTIONS`, the
fractions bookmakers quote, matching a decimal price of at most two places to the fraction whose
decimal price rounds (half up) to it; else it returns the exact fraction when its denominator is
at most :data:`MAX_DENOMINATOR`, else ``Fraction.limit_denominator(MAX_DENOMINATOR)``, the closest
fraction with such a denominator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from ..plugin_kit import CoercionError, FunctionValueError, parse_decimal, quote_value

__all__ = ["COMMON_FRACTIONS", "MAX_DENOMINATOR", "decimal_from_fraction_or_american", "fn_odds_american", "fn_odds_decimal", "fn_odds_fraction"]

MAX_DENOMINATOR = 100

# The fractional prices bookmakers quote below evens and around them (whole-number prices such as
# 7/1 are exact anyway). Kept in lowest terms: 4/6 is written 2/3. Each rounds to a two-place
# price of its own: 2/15 is left out, as it is quoted at 1.13 like the commoner 1/8.
COMMON_FRACTIONS: tuple[Fraction, ...] = tuple(
    Fraction(text)
    for text in (
        "1/10 1/9 1/8 1/7 2/13 1/6 2/11 1/5 2/9 1/4 2/7 3/10 1/3 4/11 2/5 4/9 1/2 8/15 4/7 8/13 "
        "2/3 8/11 4/5 5/6 10/11 1/1 11/10 6/5 5/4 11/8 7/5 3/2 8/5 13/8 7/4 15/8 2/1 9/4 5/2 11/4 3/1 "
        "10/3 7/2 4/1 9/2 5/1 11/2 6/1 13/2 7/1 15/2 8/1 17/2 9/1"
    ).split()
)
# The decimal price (two places, half up) each common fraction is quoted at -> the fraction.
_BY_PRICE: dict[Fraction, Fraction] = {
    Fraction((Decimal(f.numerator) / Decimal(f.denominator) + 1).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)): f
    for f in COMMON_FRACTIONS
}
_MAX_EXPONENT = 400  # |value| beyond 1e400 (or below 1e-400) is no price: refused before any big-integer work

_FRACTIONAL = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*\Z")
_EVENS = frozenset({"evens", "evs", "even", "ev"})
_AMERICAN_TEXT = re.compile(r"\s*[+-]?\d[\d.]*\s*\Z")


def _exact(name: str, value: Any) -> Fraction:
    """The exact rational of a number or numeric string, else FunctionValueError."""
    try:
        number = parse_decimal(value)
    except CoercionError as exc:
        raise FunctionValueError(name, value, f"{quote_value(value)} is not a number") from exc
    if number and not -_MAX_EXPONENT < number.adjusted() < _MAX_EXPONENT:
        raise FunctionValueError(name, value, f"{quote_value(value)} is out of range for odds")
    return Fraction(number)


def _out(name: str, value: Fraction, culprit: Any) -> int | float:
    """The JSON number nearest to ``value``: an int when whole, else the nearest float."""
    if value.denominator == 1:
        return int(value)
    try:
        return float(value)
    except OverflowError as exc:
        raise FunctionValueError(name, culprit, f"the result for {quote_value(culprit)} is beyond the range of a JSON number") from exc


def decimal_from_fraction_or_american(value: Any) -> Fraction:
    """The exact decimal price of fractional text ('5/2', 'evens') or an American price (+150, '-200')."""
    if type(value) is str:
        text = value.strip().lower()
        if text in _EVENS:
            return Fraction(2)
        match = _FRACTIONAL.match(value)
        if match:
            numerator, denominator = int(match.group(1)), int(match.group(2))
            if denominator == 0:
                raise FunctionValueError("odds_decimal", value, f"{quote_value(value)} has a zero denominator")
            return 1 + Fraction(numerator, denominator)
        if not _AMERICAN_TEXT.match(value):
            raise FunctionValueError(
                "odds_decimal", value, f"{quote_value(value)} is neither fractional odds ('5/2', 'evens') nor American odds ('+150', '-200')"
            )
    american = _exact("odds_decimal", value)
    if american >= 100:
        return 1 + american / 100
    if american <= -100:
        return 1 + 100 / -american
    raise FunctionValueError("odds_decimal", value, f"{quote_value(value)} is not American odds (at least +100 or at most -100)")


def fn_odds_decimal(x: Any) -> Any:
    """Decimal odds from fractional text ('5/2' -> 3.5) or an American price (+150 -> 2.5, -200 -> 1.5)."""
    if x is None:
        return None
    return _out("odds_decimal", decimal_from_fraction_or_american(x), x)


def _decimal_price(name: str, value: Any) -> Fraction:
    price = _exact(name, value)
    if price <= 1:
        raise FunctionValueError(name, value, f"{quote_value(value)} is not a decimal price (it must be above 1)")
    return price


def fn_odds_american(decimal: Any) -> Any:
    """American odds from a decimal price: +(d - 1) * 100 from 2 up, -100 / (d - 1) below 2."""
    if decimal is None:
        return None
    price = _decimal_price("odds_american", decimal)
    win = price - 1
    return _out("odds_american", win * 100 if win >= 1 else -100 / win, decimal)


def fraction_of(price: Fraction) -> Fraction:
    """The fractional odds for a decimal ``price`` above 1 (see the module docstring for the rule)."""
    if (price * 100).denominator == 1 and price in _BY_PRICE:  # a price of at most two places
        return _BY_PRICE[price]
    win = price - 1
    return win if win.denominator <= MAX_DENOMINATOR else win.limit_denominator(MAX_DENOMINATOR)


def fn_odds_fraction(decimal: Any) -> Any:
    """Fractional odds as text ('5/2') from a decimal price; common prices as bookmakers quote them (1.91 -> '10/11')."""
    if decimal is None:
        return None
    win = fraction_of(_decimal_price("odds_fraction", decimal))
    return f"{win.numerator}/{win.denominator}"


ODDS_FUNCTIONS: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    ("odds_decimal", fn_odds_decimal, "odds_decimal(x): decimal odds from fractional text ('5/2') or an American price (+150, '-200')"),
    ("odds_american", fn_odds_american, "odds_american(decimal): American odds from a decimal price"),
    ("odds_fraction", fn_odds_fraction, "odds_fraction(decimal): fractional odds text from a decimal price (common prices as quoted)"),
)
