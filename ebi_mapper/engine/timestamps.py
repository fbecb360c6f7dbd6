"""Read any supported time form as an aware UTC instant, and write Optimove's two forms.

Accepted forms (see ``docs/functions.md`` § "Time forms" for the full table):

* ISO 8601 with an offset or ``Z`` (``+01:00``, ``+0100``, ``+01``; fractional seconds of any
  length, truncated to microseconds), converted to UTC;
* naive ISO 8601, ``YYYY-MM-DD HH:MM:SS[.f]`` and date-only ``YYYY-MM-DD`` (midnight), read as
  local time in the configured zone (``source_timezone``), with DST overlaps and gaps settled by
  the ``dst`` policy;
* Optimove's envelope form ``YYYY-MM-DD HH:MM:SS.ffffff UTC``;
* epoch numbers (int, float or numeric string), the unit told apart by magnitude: seconds if the
  result falls in range, else milliseconds, else microseconds;
* extra ``strptime`` formats, tried first when given.

Every result must fall in ``[1970-01-01T00:00:00Z, 2100-01-01T00:00:00Z)``; anything outside,
any boolean and anything unreadable raises :class:`CoercionError`. Nothing here reads the clock.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import MappingError, UnknownNameError
from .coerce_errors import CoercionError, describe_value

__all__ = [
    "UTC",
    "MIN_TIME",
    "MAX_TIME",
    "DST_POLICIES",
    "EPOCH_UNITS",
    "load_zone",
    "localise",
    "DST_LOG",
    "parse_timestamp",
    "parse_epoch",
    "parse_formatted",
    "make_timestamp_parser",
    "format_envelope",
    "context_from_envelope",
    "format_context",
    "to_epoch_millis",
]

UTC = UTC
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # inclusive
MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
DST_POLICIES = ("earlier", "later", "reject")
EPOCH_UNITS: dict[str, int] = {"s": 1_000_000, "ms": 1_000, "us": 1}  # microseconds per unit

_EPOCH = MIN_TIME
_NAIVE_EPOCH = datetime(1970, 1, 1)
_MAX_MICROS = (MAX_TIME - MIN_TIME) // timedelta(microseconds=1)  # 4_102_444_800_000_000
# Upper bounds (exclusive) of an epoch number read in each unit, in the order they are tried.
_UNIT_LIMITS = (("s", _MAX_MICROS // 1_000_000), ("ms", _MAX_MICROS // 1_000), ("us", _MAX_MICROS))
_MAX_CHARS = 64  # no time form is longer; refusing early keeps garbage cheap
_RANGE_TEXT = "between 1970-01-01 and 2100-01-01 UTC"
# A JSON-style number, ASCII digits only (Python's int()/float() also take '1_000' and Arabic digits).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_LONG_FRACTION = re.compile(r"(\.[0-9]{6})[0-9]+")
_fromiso = datetime.fromisoformat
_EXACT = Context(prec=200)
_ENVELOPE = "%04d-%02d-%02d %02d:%02d:%02d.%06d UTC"  # the two output forms (format_* write them faster)
_CONTEXT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


@lru_cache(maxsize=256)
def load_zone(name: str) -> tzinfo:
    """The tzinfo for an IANA zone name, cached; ``UTC`` is :data:`datetime.timezone.utc` (fast path)."""
    if name in ("UTC", "Etc/UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise UnknownNameError(f"unknown time zone {name!r}") from exc


def _zone(tz: str | tzinfo) -> tzinfo:
    if tz is UTC:
        return UTC
    if isinstance(tz, str):
        return load_zone(tz)
    if isinstance(tz, ZoneInfo) and tz.key in ("UTC", "Etc/UTC"):
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    raise UnknownNameError(f"a time zone must be a name or a tzinfo, not {type(tz).__name__}")


def _check_dst(dst: str) -> None:
    if dst not in DST_POLICIES:
        raise MappingError(f"dst policy must be one of {', '.join(DST_POLICIES)}, not {dst!r}")


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class DstLog:
    """The DST decisions :func:`localise` took (a gap or overlap settled by ``earlier``/``later``).

    A policy applied silently is a hidden guess about the data, so it is counted: ``map`` adds the
    counts to its summary after each batch (:meth:`take`), and ``explain`` shows each decision
    (:attr:`recent`). One per process (``map --workers`` takes each worker's counts with its batch).
    """

    def __init__(self) -> None:
        self.counts = {"gap": 0, "overlap": 0}
        self.recent: deque[str] = deque(maxlen=20)

    def note(self, naive: datetime, zone: tzinfo, off0: Any, off1: Any, offset: Any, dst: str) -> None:
        kind = "overlap" if off0 > off1 else "gap"
        self.counts[kind] += 1
        how = "occurs twice" if kind == "overlap" else "does not exist (the clocks skip it)"
        self.recent.append(f"{kind}: local time {naive.isoformat(' ')} in {_zone_name(zone)} {how}; read as {_offset_text(offset)} (dst: {dst})")

    def take(self) -> dict[str, int]:
        """The counts since the last take, and start again from zero."""
        counts, self.counts = self.counts, {"gap": 0, "overlap": 0}
        return counts


DST_LOG = DstLog()


def localise(naive: datetime, zone: tzinfo, dst: str = "earlier") -> datetime:
    """Read a naive local time in ``zone`` and return the aware UTC instant.

    In a fall-back overlap (the local time occurs twice) and in a spring-forward gap (it never
    occurs), ``earlier`` uses the UTC offset in force *before* the transition and ``later`` the
    offset in force *after* it (PEP 495's ``fold=0`` / ``fold=1``); ``reject`` raises
    :class:`CoercionError`. So in an overlap ``earlier`` is the first occurrence; in a gap
    ``earlier`` lands after the gap (02:30 in a 02:00→03:00 gap becomes 03:30 summer time, as
    if the clock had not been moved yet) and ``later`` lands before it (01:30 winter time).
    """
    # datetime.replace() with keywords is slow (~0.7 µs each), so build the fold variants with the
    # constructor and ask the zone directly; the result is made by arithmetic on an aware epoch.
    if zone is UTC:
        return _EPOCH + (naive - _NAIVE_EPOCH)
    fields = (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second, naive.microsecond)
    off0 = zone.utcoffset(datetime(*fields) if naive.fold else naive)
    off1 = zone.utcoffset(datetime(*fields, fold=1))
    if off0 is None or off1 is None:  # a zone always has an offset; only a broken tzinfo has none
        raise CoercionError(f"time zone {_zone_name(zone)} gives no UTC offset for {naive.isoformat(' ')}")
    if off0 == off1:
        offset = off0
    elif dst == "earlier" or dst == "later":
        offset = off0 if dst == "earlier" else off1
        DST_LOG.note(naive, zone, off0, off1, offset, dst)
    elif off0 > off1:
        raise CoercionError(
            f"ambiguous local time {naive.isoformat(' ')} in {_zone_name(zone)}: it occurs twice "
            f"({_offset_text(off0)}, then {_offset_text(off1)}) and the dst policy is 'reject'"
        )
    else:
        raise CoercionError(
            f"local time {naive.isoformat(' ')} does not exist in {_zone_name(zone)}: the clocks skip "
            f"it ({_offset_text(off0)} to {_offset_text(off1)}) and the dst policy is 'reject'"
        )
    return _EPOCH + (naive - _NAIVE_EPOCH - offset)


def _out_of_range(value: Any) -> CoercionError:
    return CoercionError(f"time out of range (must fall {_RANGE_TEXT}): {describe_value(value)}", value)


def _in_range(dt: datetime, value: Any) -> datetime:
    # dt is aware UTC here, so the year alone decides [1970-01-01, 2100-01-01).
    if 1970 <= dt.year <= 2099:
        return dt
    raise _out_of_range(value)


def _aware_to_utc(dt: datetime, value: Any) -> datetime:
    if dt.tzinfo is not UTC:
        try:
            dt = dt.astimezone(UTC)
        except (OverflowError, ValueError):
            raise _out_of_range(value) from None
    return _in_range(dt, value)


def _naive_to_utc(dt: datetime, zone: tzinfo, dst: str, value: Any) -> datetime:
    if not 1969 <= dt.year <= 2100:  # before localising: year 1 or 9999 would overflow
        raise _out_of_range(value)
    return _in_range(localise(dt, zone, dst), value)


def _micros_to_datetime(micros: int, value: Any) -> datetime:
    if 0 <= micros < _MAX_MICROS:
        return _EPOCH + timedelta(0, 0, micros)
    raise _out_of_range(value)


def _epoch_number(value: Any) -> int | Decimal:
    """An epoch value as an exact int or Decimal; CoercionError if it is not a finite number."""
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise CoercionError(f"not a finite number: {describe_value(value)}", value)
        # repr() is the shortest text that reads back as this float: what the sender meant.
        return Decimal(repr(value))
    if kind is str:
        text = value.strip()
        if len(text) <= _MAX_CHARS and _NUMBER.fullmatch(text):
            return int(text) if text.isdigit() else Decimal(text)
        raise CoercionError(f"not an epoch number: {describe_value(value)}", value)
    if isinstance(value, bool):
        raise CoercionError(f"a boolean is not a timestamp: {describe_value(value)}", value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _epoch_number(float(value))
    raise CoercionError(f"not an epoch number: {describe_value(value)}", value)


def _scale(number: int | Decimal, unit: str) -> int:
    factor = EPOCH_UNITS[unit]
    if type(number) is int:
        return number * factor
    # Exact (wide precision so long fractions cannot round up), then truncate below a microsecond.
    with localcontext(_EXACT):
        return int((cast(Decimal, number) * factor).to_integral_value(rounding=ROUND_FLOOR))


def _from_epoch(number: int | Decimal, value: Any) -> datetime:
    if number < 0:
        raise _out_of_range(value)
    for unit, limit in _UNIT_LIMITS:
        if number < limit:
            return _micros_to_datetime(_scale(number, unit), value)
    raise _out_of_range(value)


def parse_epoch(value: Any, unit: str | None = None) -> datetime:
    """Read an epoch number (int, float or numeric string) as aware UTC.

    ``unit`` is ``s``, ``ms`` or ``us``; with ``None`` it is told apart by magnitude: seconds
    below 4,102,444,800, milliseconds below 4,102,444,800,000, microseconds below
    4,102,444,800,000,000 (each limit is 2100-01-01 in that unit); anything larger, or negative,
    is out of range.
    """
    number = _epoch_number(value)
    if unit is None:
        return _from_epoch(number, value)
    if unit not in EPOCH_UNITS:
        raise MappingError(f"epoch unit must be one of {', '.join(EPOCH_UNITS)}, not {unit!r}")
    if number < 0 or number >= _MAX_MICROS:  # cheap pre-check so huge values never multiply
        raise _out_of_range(value)
    return _micros_to_datetime(_scale(number, unit), value)


def _try_formats(value: str, formats: tuple[str, ...], zone: tzinfo, dst: str) -> datetime | None:
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt)
        except (ValueError, TypeError):
            continue
        if parsed.tzinfo is None:
            return _naive_to_utc(parsed, zone, dst, value)
        return _aware_to_utc(parsed, value)
    return None


def _parse_text(value: str, zone: tzinfo, dst: str, formats: tuple[str, ...]) -> datetime:
    if formats and len(value) <= _MAX_CHARS * 4:
        parsed = _try_formats(value, formats, zone, dst)
        if parsed is not None:
            return parsed
    # Fast path: the common ISO forms ('...Z', '+01:00', naive) and Optimove's '... UTC'.
    if len(value) >= 10 and value[4] == "-":
        envelope = value.endswith(" UTC")
        try:
            parsed = _fromiso(value[:-4] if envelope else value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                if envelope:
                    return _in_range(_EPOCH + (parsed - _NAIVE_EPOCH), value)
                return _naive_to_utc(parsed, zone, dst, value)
            if not envelope:
                return _aware_to_utc(parsed, value)
            raise CoercionError(f"a time ending in ' UTC' must not also carry an offset: {describe_value(value)}", value)
    return _parse_text_slowly(value, zone, dst)


def _parse_text_slowly(value: str, zone: tzinfo, dst: str) -> datetime:
    text = value.strip()
    if not text:
        raise CoercionError("an empty string is not a timestamp", value)
    if len(text) > _MAX_CHARS:
        raise CoercionError(f"not a recognised time form (too long): {describe_value(value)}", value)
    if _NUMBER.fullmatch(text):
        # All-digit strings are epoch numbers, never ISO basic dates such as 20260329:
        # use parse_time(x, '%Y%m%d') for those.
        return _from_epoch(int(text) if text.isdigit() else Decimal(text), value)
    # Lower-case 't'/'z', surrounding blanks, and fractions beyond what fromisoformat takes.
    text = _LONG_FRACTION.sub(r"\1", text.upper())
    envelope = text.endswith("UTC")
    if envelope:
        text = text[:-3].rstrip()
    try:
        parsed = _fromiso(text)
    except ValueError:
        raise CoercionError(f"not a recognised time form: {describe_value(value)}", value) from None
    if parsed.tzinfo is not None:
        if envelope:
            raise CoercionError(f"a time ending in 'UTC' must not also carry an offset: {describe_value(value)}", value)
        return _aware_to_utc(parsed, value)
    if envelope:
        return _in_range(_EPOCH + (parsed - _NAIVE_EPOCH), value)
    return _naive_to_utc(parsed, zone, dst, value)


_S_LIMIT, _MS_LIMIT = _UNIT_LIMITS[0][1], _UNIT_LIMITS[1][1]
# timedelta * int is exact integer arithmetic in C, and twice as fast as timedelta(seconds=...).
_SECOND, _MILLISECOND = timedelta(seconds=1), timedelta(milliseconds=1)


def _parse(value: Any, zone: tzinfo, dst: str, formats: tuple[str, ...]) -> datetime:
    kind = type(value)
    if kind is str:
        return _parse_text(value, zone, dst, formats)
    if kind is int and 0 <= value < _MS_LIMIT:
        # Fast path for epoch seconds and milliseconds as ints: what _from_epoch computes.
        return _EPOCH + (_SECOND * value if value < _S_LIMIT else _MILLISECOND * value)
    if kind is int or kind is float:
        return _from_epoch(_epoch_number(value), value)
    if isinstance(value, bool):
        raise CoercionError(f"a boolean is not a timestamp: {describe_value(value)}", value)
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return _naive_to_utc(value, zone, dst, value)
        return _aware_to_utc(value, value)
    if isinstance(value, str):
        return _parse_text(str(value), zone, dst, formats)
    if isinstance(value, (int, float)):
        return _from_epoch(_epoch_number(value), value)
    raise CoercionError(f"not a timestamp: {describe_value(value)}", value)


def parse_timestamp(
    value: Any,
    *,
    tz: str | tzinfo = "UTC",
    dst: str = "earlier",
    formats: tuple[str, ...] = (),
) -> datetime:
    """Read any supported time form as an aware UTC datetime, or raise :class:`CoercionError`.

    :param tz: the zone naive times are read in (the mapping's ``source_timezone``).
    :param dst: ``earlier`` | ``later`` | ``reject``, for naive times in a DST overlap or gap
        (see :func:`localise`).
    :param formats: extra ``strptime`` formats, tried before the built-in forms.
    :raises UnknownNameError: for an unknown zone; :class:`~ebi_mapper.errors.MappingError`
        for an unknown dst policy (both are the caller's mistakes, not bad data).
    """
    _check_dst(dst)
    return _parse(value, _zone(tz), dst, formats)


def parse_formatted(
    value: str, formats: tuple[str, ...], *, tz: str | tzinfo = "UTC", dst: str = "earlier"
) -> datetime:
    """Read ``value`` with the given ``strptime`` formats only (no built-in forms), as aware UTC.

    Strict on purpose: ``parse_time('20260329', '%d%m%Y')`` must fail rather than fall back to
    reading the digits as epoch seconds.
    """
    _check_dst(dst)
    zone = _zone(tz)
    if type(value) is str and len(value) <= _MAX_CHARS * 4:
        parsed = _try_formats(value, tuple(formats), zone, dst)
        if parsed is not None:
            return parsed
    raise CoercionError(f"does not match the format {' or '.join(map(repr, formats))}: {describe_value(value)}", value)


def make_timestamp_parser(
    *, tz: str | tzinfo = "UTC", dst: str = "earlier", formats: tuple[str, ...] = ()
) -> Callable[[Any], datetime]:
    """A one-argument :func:`parse_timestamp` with the zone and policy resolved once (per field)."""
    _check_dst(dst)
    zone = _zone(tz)
    formats = tuple(formats)

    def parse(value: Any) -> datetime:
        return _parse(value, zone, dst, formats)

    return parse


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is UTC:
        return dt
    if dt.utcoffset() is None:
        raise CoercionError(f"a naive datetime cannot be written as UTC: {dt.isoformat()}", dt)
    return dt.astimezone(UTC)


# isoformat() of an aware UTC datetime ends in '+00:00' and pads the year to 4 digits, exactly as
# _ENVELOPE / _CONTEXT would write it; it is the faster way (one C call instead of 7 attributes).


def format_envelope(dt: datetime) -> str:
    """Optimove's envelope form, always six fractional digits: ``2026-03-29 01:30:00.000000 UTC``."""
    return _utc(dt).isoformat(" ", "microseconds")[:-6] + " UTC"


def format_context(dt: datetime) -> str:
    """ISO 8601 UTC for context params, always six fractional digits: ``2026-03-29T01:30:00.000000Z``."""
    return _utc(dt).isoformat("T", "microseconds")[:-6] + "Z"


def context_from_envelope(text: str) -> str:
    """:func:`format_envelope`'s text in :func:`format_context`'s form, without formatting again.

    ``'2026-03-29 01:30:00.000000 UTC'`` -> ``'2026-03-29T01:30:00.000000Z'``: the generated code
    formats an event time once and derives the other form (a slice and a replace cost a tenth of
    ``isoformat``); a property test checks it equals ``format_context`` of the same time.
    """
    return text[:-4].replace(" ", "T") + "Z"


def to_epoch_millis(dt: datetime) -> int:
    """Milliseconds since 1970-01-01T00:00:00Z, truncating sub-millisecond digits."""
    return (_utc(dt) - _EPOCH) // timedelta(milliseconds=1)
