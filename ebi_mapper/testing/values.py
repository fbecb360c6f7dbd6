"""What kind of value a source path should hold, and Hypothesis strategies for valid and wrong ones.

A :class:`Kind` is suggested by how a mapping uses a path: the catalog type of the param it
feeds (a monetary number, a timestamp, an id), the function it is passed to (``minor_to_major``
wants an integer, ``parse_time`` a text in its format), or the literal it is compared with.
:func:`valid_values` draws values the mapping must handle cleanly; :func:`wrong_values` draws
values of the wrong type or form, which a correct mapping rejects or drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from ..engine.fields import truthy
from ..engine.timestamps import format_context, format_envelope, load_zone
from ..expressions.runtime import to_string

__all__ = [
    "Kind",
    "TimeSettings",
    "valid_values",
    "wrong_values",
    "combine_kinds",
    "compare_kind",
    "truthy_kind",
    "text_kind",
    "dst_edges",
    "valid_time_forms",
    "KIND_PRIORITY",
    "ID_TEXT",
    "ANY_JSON",
    "TIME_FORMS",
    "DST_EDGE",
    "ZONES",
]

UTC = UTC


@dataclass(frozen=True)
class Kind:
    """A suggested value type: ``name`` plus a detail (allowed values, a format, a table's keys)."""

    # any|string|id|int_id|number|json_number|integer|boolean|time|epoch|formatted_time|currency|zone|choice|lookup|
    # string_list|number_list|object, and the condition kinds a `when` asks for: compare (numbers
    # satisfying ``(integral, ((op, literal), ...))``), affix (text with a given prefix/suffix),
    # contains (a list holding a literal), falsy; and two wrappers whose detail is the inner kind:
    # truthy (a value of the inner kind JMESPath calls true) and text (the inner kind written as text,
    # for functions that take strings only: ``upper(currency)``, ``lower(id)``).
    name: str
    detail: Any = None

    def __str__(self) -> str:
        return self.name if self.detail is None else f"{self.name}({self.detail})"


# When two uses of one path suggest different kinds (and :func:`combine_kinds` has no rule that
# satisfies both), the more specific one wins.
KIND_PRIORITY = {
    "falsy": -1,
    "choice": 0,
    "lookup": 1,
    "affix": 1,
    "contains": 1,
    "zone": 1,
    "formatted_time": 2,
    "epoch": 3,
    "compare": 3,
    "time": 4,
    "currency": 5,
    "boolean": 6,
    "int_id": 7,
    "integer": 7,
    "json_number": 8,
    "odds": 5,  # narrower than any number: what odds_* and allocate() can use
    "decimal_odds": 5,
    "money": 7,
    "number": 8,
    "number_list": 9,
    "string_list": 10,
    "id": 11,
    "string": 12,
    "object": 13,
    "any": 14,
}


_WRAPPERS = ("truthy", "text")  # outermost first
_ID_LIKE = ("id", "int_id", "integer")
_NUMBER_LIKE = ("number", "json_number", "integer", "int_id")


def truthy_kind(inner: Kind) -> Kind:
    """Values of ``inner`` that JMESPath calls true (a bare path in a `when`)."""
    return combine_kinds(Kind("truthy", Kind("any")), inner)


def text_kind(inner: Kind) -> Kind:
    """Values of ``inner`` written as text: what ``upper``/``lower``/``trim``... accept and pass on."""
    if inner.name in ("any", "string", "choice", "currency", "affix", "zone", "lookup", "formatted_time"):
        return inner if inner.name != "any" else Kind("string")
    return combine_kinds(Kind("text", Kind("any")), inner)


def compare_kind(op: str, literal: Any) -> Kind:
    """JSON numbers for which ``value <op> literal`` holds (``op``: gt, gte, lt, lte, ne)."""
    return Kind("compare", (False, ((op, literal),)))


def _unwrap(kind: Kind) -> tuple[frozenset[str], Kind]:
    flags: set[str] = set()
    while kind.name in _WRAPPERS:
        flags.add(kind.name)
        kind = kind.detail
    return frozenset(flags), kind


def _wrap(flags: frozenset[str], kind: Kind) -> Kind:
    if kind.name == "falsy":
        return kind  # a `!path` test decides: the value must be false, whatever else reads it
    for name in reversed(_WRAPPERS):
        if name in flags and not (name == "text" and kind.name in ("string", "choice", "currency", "affix", "zone", "lookup", "formatted_time")):
            kind = Kind(name, kind if kind.name != "any" or name == "truthy" else Kind("string"))
    return kind


def _combine_base(a: Kind, b: Kind) -> Kind:
    names = {a.name, b.name}
    if a.name == b.name == "choice":
        return Kind("choice", tuple(dict.fromkeys(a.detail + b.detail)))
    if a.name == b.name == "compare":
        return Kind("compare", (a.detail[0] or b.detail[0], tuple(dict.fromkeys(a.detail[1] + b.detail[1]))))
    if "compare" in names:
        # A number comparison in `when` only holds for JSON numbers; an id or integer use of the
        # same path asks for whole ones (a customer id compared with `0` is an integer id).
        cmp, other = (a, b) if a.name == "compare" else (b, a)
        if other.name in _NUMBER_LIKE or other.name == "id":
            integral = cmp.detail[0] or other.name in _ID_LIKE
            return Kind("compare", (integral, cmp.detail[1]))
    if "id" in names and names & {"number", "integer", "int_id"}:
        return Kind("int_id")  # digits as text or integers: a valid id and a valid number alike
    if "id" in names and "json_number" in names:
        return Kind("compare", (True, ()))  # JSON integers
    if "choice" in names and "affix" in names:
        choice, affix = (a, b) if a.name == "choice" else (b, a)
        kept = tuple(v for v in choice.detail if isinstance(v, str) and v.startswith(affix.detail[0]) and v.endswith(affix.detail[1]))
        return Kind("choice", kept) if kept else choice
    return a if KIND_PRIORITY.get(a.name, 99) <= KIND_PRIORITY.get(b.name, 99) else b


def combine_kinds(a: Kind, b: Kind) -> Kind:
    """One kind satisfying both uses of a path where one exists, else the more specific one.

    Wrappers (truthy, text) carry over to the combined kind, so ``when: "customer_id > `0`"`` plus
    ``customer: customer_id`` asks for whole JSON numbers above 0, never a float id, and
    ``currency: upper(data.currency)`` still gets currency codes, as text.
    """
    flags_a, base_a = _unwrap(a)
    flags_b, base_b = _unwrap(b)
    return _wrap(flags_a | flags_b, _combine_base(base_a, base_b))


ZONES = ("UTC", "Europe/Malta", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Tokyo", "Europe/London")
_ZONES_WITHOUT_DST = ("UTC", "Asia/Kathmandu", "Asia/Tokyo", "Asia/Kolkata")
_WRONG_ZONES = ("Mars/Olympus", "", "0", "Europe/Malt", "GMT+25")


@dataclass(frozen=True)
class TimeSettings:
    """What valid times look like for one mapping: the zone naive times are written in, and a range."""

    zone: str = "UTC"
    start: datetime = datetime(2001, 1, 1, tzinfo=UTC)  # aware; valid times fall after go_live
    end: datetime = datetime(2099, 12, 1, tzinfo=UTC)  # before the fixed test clock (2100-01-01)
    dst_reject: bool = False  # with `dst: reject`, DST-edge local times are wrong values, not valid ones


# --- text and numbers ------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
ID_TEXT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}", fullmatch=True)
# Ids just above 2^53 are where a JSON reader using doubles silently changes them.
_BIG_INTS = st.sampled_from([2**53, 2**53 + 1, 2**62 + 7, 2**63 - 1]) | st.integers(2**53, 2**63 - 1)
_IDS = st.one_of(ID_TEXT, st.integers(0, 10**9), _BIG_INTS, _BIG_INTS.map(str))
_AMOUNTS = st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False, allow_infinity=False)
_EDGE_NUMBERS = st.sampled_from([0, 1, "0", "0.00", "1"])  # zero divides, empty-looking amounts
_NUMBERS = st.one_of(
    _EDGE_NUMBERS,
    st.integers(0, 10**9),
    _AMOUNTS.map(lambda d: format(d, "f")),  # numeric strings, as most webhooks send money
    _AMOUNTS.map(float),
    st.integers(0, 10**6).map(str),
)
_JSON_NUMBERS = st.sampled_from([0, 1]) | st.integers(0, 10**6) | _AMOUNTS.map(float)
_INTEGERS = st.sampled_from([0, 1, "0"]) | st.integers(0, 10**6) | st.integers(0, 10**6).map(str)
_BOOLEANS = st.booleans() | st.sampled_from(["yes", "no", "true", "false", "Y", "N", "1", "0", 1, 0, "TRUE"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10))
ANY_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


# --- time ------------------------------------------------------------------------------------


def _instants(settings: TimeSettings) -> st.SearchStrategy[datetime]:
    """Aware UTC instants in the valid range, a day inside each end so local readings stay in range."""
    lo = (settings.start + timedelta(days=1)).replace(tzinfo=None)
    hi = (settings.end - timedelta(days=1)).replace(tzinfo=None)
    whole = st.datetimes(lo, hi).map(lambda d: d.replace(microsecond=0))
    return st.one_of(whole, st.datetimes(lo, hi)).map(lambda d: d.replace(tzinfo=UTC))


_OFFSETS = st.integers(-12 * 4, 14 * 4).map(lambda q: timedelta(minutes=15 * q))


def _offset_text(offset: timedelta, colon: bool) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}" if colon else f"{sign}{hh:02d}{mm:02d}"


def _epoch_seconds(dt: datetime) -> Decimal:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(10**6)


def _render(dt: datetime, form: str, offset: timedelta, zone: tzinfo) -> Any:
    """One instant written in one of the forms the engine reads."""
    local = dt.astimezone(zone).replace(tzinfo=None)
    seconds = _epoch_seconds(dt)
    if form == "iso_z":
        return dt.replace(tzinfo=None).isoformat() + "Z"
    if form == "iso_offset":
        return (dt + offset).replace(tzinfo=None).isoformat() + _offset_text(offset, True)
    if form == "iso_offset_compact":
        return (dt + offset).replace(tzinfo=None).isoformat() + _offset_text(offset, False)
    if form == "naive_iso":
        return local.isoformat()
    if form == "naive_space":
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if form == "date":
        return local.strftime("%Y-%m-%d")
    if form == "envelope":
        return format_envelope(dt)
    if form == "context":
        return format_context(dt)
    if form == "epoch_s":
        return int(seconds)
    if form == "epoch_s_float":
        return float(round(seconds, 3))
    if form == "epoch_ms":
        return int(seconds * 1000)
    if form == "epoch_us":
        return int(seconds * 1_000_000)
    if form == "epoch_ms_text":
        return str(int(seconds * 1000))
    raise AssertionError(form)


TIME_FORMS = (
    "iso_z",
    "iso_offset",
    "iso_offset_compact",
    "naive_iso",
    "naive_space",
    "date",
    "envelope",
    "context",
    "epoch_s",
    "epoch_s_float",
    "epoch_ms",
    "epoch_us",
    "epoch_ms_text",
)


@lru_cache(maxsize=512)
def dst_edges(zone_name: str, year: int) -> tuple[str, ...]:
    """Naive local times (``YYYY-MM-DD HH:MM:SS``) inside the zone's DST gaps and overlaps in ``year``."""
    zone = load_zone(zone_name)
    if zone is UTC:
        return ()
    out: list[str] = []
    day = datetime(year, 1, 1)
    previous = day.replace(tzinfo=zone).utcoffset()
    while day.year == year:
        nxt = day + timedelta(days=1)
        offset = nxt.replace(tzinfo=zone).utcoffset()
        if offset != previous:  # a transition between day and nxt: find its quarter hours
            t = day
            while t <= nxt:
                if t.replace(tzinfo=zone, fold=0).utcoffset() != t.replace(tzinfo=zone, fold=1).utcoffset():
                    out.append((t + timedelta(minutes=7, seconds=30)).strftime("%Y-%m-%d %H:%M:%S"))
                t += timedelta(minutes=15)
        previous = offset
        day = nxt
    return tuple(out)


DST_EDGE = "dst_edge"  # a form of its own for ``time_form=``: local times inside a DST gap or overlap


@lru_cache(maxsize=64)
def _dst_years(zone_name: str, first: int, last: int) -> tuple[int, ...]:
    """The years in ``first..last`` in which the zone has DST gaps or overlaps."""
    return tuple(year for year in range(first, last + 1) if dst_edges(zone_name, year))


def _dst_year_range(settings: TimeSettings) -> tuple[int, int]:
    return max(settings.start.year + 1, 1971), min(settings.end.year - 1, 2098)


def valid_time_forms(settings: TimeSettings) -> tuple[str, ...]:
    """Every form a valid time takes under ``settings``: :data:`TIME_FORMS`, plus :data:`DST_EDGE` where the zone has DST edges."""
    if settings.dst_reject or load_zone(settings.zone) is UTC or not _dst_years(settings.zone, *_dst_year_range(settings)):
        return TIME_FORMS
    return TIME_FORMS + (DST_EDGE,)


def _dst_values(settings: TimeSettings) -> st.SearchStrategy[str]:
    """Local times inside the zone's DST gaps and overlaps, from the years that have them."""
    zone = settings.zone
    return st.sampled_from(_dst_years(zone, *_dst_year_range(settings))).flatmap(lambda year: st.sampled_from(dst_edges(zone, year)))


def _times(settings: TimeSettings, forms: tuple[str, ...] = TIME_FORMS, *, with_dst_edges: bool = True) -> st.SearchStrategy[Any]:
    zone = load_zone(settings.zone)

    @st.composite
    def draw_time(draw: Any) -> Any:
        dt = draw(_instants(settings))
        form = draw(st.sampled_from(forms))
        offset = draw(_OFFSETS) if form.startswith("iso_offset") else timedelta(0)
        return _render(dt, form, offset, zone)

    if not with_dst_edges or DST_EDGE not in valid_time_forms(settings):  # a zone without DST has no edges to draw
        return draw_time()
    return st.one_of(draw_time(), _dst_values(settings))


def _times_in(form: str, settings: TimeSettings) -> st.SearchStrategy[Any]:
    """Valid times all written in one form (a name from :func:`valid_time_forms`)."""
    if form not in valid_time_forms(settings):
        raise ValueError(f"time_form must be one of {', '.join(valid_time_forms(settings))}, not {form!r}")
    return _dst_values(settings) if form == DST_EDGE else _times(settings, (form,), with_dst_edges=False)


def _epochs(unit: str, settings: TimeSettings) -> st.SearchStrategy[Any]:
    form = {"s": "epoch_s", "ms": "epoch_ms", "us": "epoch_us"}[unit]
    return _instants(settings).map(lambda dt: _render(dt, form, timedelta(0), UTC))


def _formatted(fmt: str, settings: TimeSettings) -> st.SearchStrategy[str]:
    return _instants(settings).map(lambda dt: dt.astimezone(load_zone(settings.zone)).strftime(fmt))


_WRONG_TIMES = st.sampled_from(
    ["not a time", "2026-13-45T99:00:00Z", "", "1899-12-31T23:00:00Z", "2150-01-01T00:00:00Z", True, -5, 10**20, "31/12/2026", "2026-03-29T10:00:00+01:00 UTC"]
)


# --- by kind ---------------------------------------------------------------------------------


def valid_values(
    kind: Kind, *, times: TimeSettings, site_currency: str = "EUR", tables: dict | None = None, time_form: str | None = None
) -> st.SearchStrategy[Any]:
    """Values of ``kind`` that a correct mapping must turn into an event without complaint.

    ``time_form`` writes every ``time`` value in that one form (see :func:`valid_time_forms`).
    """
    name = kind.name
    if name in _WRAPPERS or name in ("compare", "affix", "contains", "falsy", "zone", "int_id"):
        return _condition_values(kind, times=times, site_currency=site_currency, tables=tables, time_form=time_form)
    if name == "choice":
        return st.sampled_from(kind.detail)
    if name == "lookup":
        keys = list((tables or {}).get(kind.detail) or {})
        return st.sampled_from(keys) if keys else ID_TEXT
    if name == "formatted_time":
        return _formatted(kind.detail, times)
    if name == "epoch":
        return _epochs(kind.detail, times)
    if name == "time":
        return _times(times) if time_form is None else _times_in(time_form, times)
    if name == "currency":
        return st.sampled_from([site_currency, site_currency.lower()])
    if name == "boolean":
        return _BOOLEANS
    if name == "integer":
        return _INTEGERS
    if name == "number":
        return _NUMBERS
    if name == "json_number":
        return _JSON_NUMBERS
    if name == "number_list":
        return st.lists(_JSON_NUMBERS, max_size=3)
    if name == "string_list":
        return st.lists(ID_TEXT, max_size=3)
    if name == "id":
        return _IDS
    if name == "string":
        return _TEXT
    if name == "object":
        return st.dictionaries(ID_TEXT, ID_TEXT, max_size=2)
    if name in _ODDS_AND_MONEY:
        return _ODDS_AND_MONEY[name]
    return _TEXT | st.integers(0, 10**6)


# Issue 15's functions: odds_decimal reads fractional or American odds, odds_american and
# odds_fraction a decimal price above 1, allocate an amount of at most two decimals.
_AMERICAN = st.integers(100, 5000) | st.integers(-5000, -100)
_ODDS_AND_MONEY = {
    "odds": st.one_of(
        st.tuples(st.integers(1, 100), st.integers(1, 100)).map(lambda t: f"{t[0]}/{t[1]}"),  # 0/n is no price
        st.sampled_from(["evens", "EVS"]),
        _AMERICAN,
        _AMERICAN.map(lambda n: f"{n:+d}"),
    ),
    "decimal_odds": st.decimals(min_value="1.01", max_value=1000, places=2).map(lambda d: format(d, "f")) | st.sampled_from([1.91, 2.5, 1.5, 3]),
    "money": st.decimals(min_value=0, max_value=10**7, places=2).map(lambda d: format(d, "f")) | st.integers(0, 10**6),
}


def _condition_values(kind: Kind, **settings: Any) -> st.SearchStrategy[Any]:
    """Valid values of the kinds a `when` condition or a wrapped use asks for."""
    name = kind.name
    if name == "truthy":
        return valid_values(kind.detail, **settings).filter(truthy)
    if name == "text":
        return valid_values(kind.detail, **settings).map(lambda v: v if isinstance(v, str) else to_string(v))
    if name == "compare":
        return _compared_numbers(*kind.detail)
    if name == "affix":
        prefix, suffix = kind.detail
        return ID_TEXT.map(lambda t: f"{prefix}{t}{suffix}")
    if name == "contains":
        return st.lists(ID_TEXT, max_size=2).map(lambda items: [*items, kind.detail])
    if name == "falsy":
        return st.sampled_from([False, None])
    if name == "zone":
        return st.sampled_from(_ZONES_WITHOUT_DST if settings["times"].dst_reject else ZONES)
    return st.one_of(st.integers(1, 10**9), st.integers(1, 10**9).map(str), _BIG_INTS)  # int_id


_BOUNDS = {"gt": (1, True), "gte": (1, False), "lt": (-1, True), "lte": (-1, False)}


def _compared_numbers(integral: bool, tests: tuple[tuple[str, Any], ...]) -> st.SearchStrategy[Any]:
    """JSON numbers passing every ``(op, literal)`` test, near the literals (whole ones if ``integral``)."""
    lo: Decimal | None = None
    hi: Decimal | None = None
    for op, literal in tests:
        if op not in _BOUNDS or isinstance(literal, bool) or not isinstance(literal, (int, float)):
            continue
        value, (direction, _strict) = Decimal(str(literal)), _BOUNDS[op]
        if direction > 0:
            lo = value if lo is None else max(lo, value)
        else:
            hi = value if hi is None else min(hi, value)
    lo = lo if lo is not None else (min(Decimal(0), hi - 10**6) if hi is not None else Decimal(0))
    hi = hi if hi is not None else lo + 10**6
    ints = st.integers(int(lo.to_integral_value(rounding="ROUND_FLOOR")), int(hi.to_integral_value(rounding="ROUND_CEILING")))
    numbers: st.SearchStrategy[Any] = ints if integral else st.one_of(ints, st.decimals(lo, hi, places=2, allow_nan=False, allow_infinity=False).map(float))
    return numbers.filter(lambda v: all(_passes(v, op, literal) for op, literal in tests))


def _passes(value: Any, op: str, literal: Any) -> bool:
    if op == "ne":
        return value != literal
    if isinstance(literal, bool) or not isinstance(literal, (int, float)):
        return True
    return {"gt": value > literal, "gte": value >= literal, "lt": value < literal, "lte": value <= literal}.get(op, True)


def wrong_values(kind: Kind, *, site_currency: str = "EUR") -> st.SearchStrategy[Any]:
    """Values of the wrong type or form for ``kind``: a correct mapping rejects or drops them."""
    containers = st.sampled_from([{}, [], {"unexpected": 1}, ["x"]])
    name = kind.name
    if name in _WRAPPERS:
        return wrong_values(kind.detail, site_currency=site_currency)
    if name == "zone":
        return st.sampled_from(_WRONG_ZONES)
    if name == "compare":
        return st.sampled_from(["abc", "12", True]) | containers  # a comparison calls them null: the rule is not reached
    if name == "falsy":
        return st.sampled_from([True, "yes", 1])
    if name in ("affix", "contains", "int_id"):
        return wrong_values(Kind("id"), site_currency=site_currency)
    if name in ("time", "epoch", "formatted_time"):
        return _WRONG_TIMES | containers
    if name in ("number", "integer", "json_number", "odds", "decimal_odds", "money"):
        extra = [1.5, "1.5"] if name == "integer" else []
        return st.sampled_from(["abc", "12,50", "12.50 EUR", "", True, "NaN", *extra]) | containers
    if name == "boolean":
        return st.sampled_from(["maybe", 2, "", -1]) | containers
    if name == "currency":
        other = "USD" if site_currency.upper() != "USD" else "GBP"
        return st.sampled_from([other, "", 978, "EURO"])
    if name in ("choice", "lookup"):
        return st.sampled_from(["zz-no-such-value", 12345, True]) | containers
    if name in ("string_list", "number_list"):
        return st.sampled_from(["a,b", 7, {"a": 1}, True])
    if name == "object":
        return st.sampled_from(["text", 7, True, ["x"]])
    if name in ("id", "string"):
        return st.sampled_from([True, False, "x" * 300, 1e300]) | containers
    return ANY_JSON
