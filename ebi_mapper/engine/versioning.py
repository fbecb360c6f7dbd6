"""Source versions: what a rule's ``version:`` expression gives, as a key that orders versions of one PK.

A source carries its own order of the versions of a record (a sequence number, a version, an
update time); delivery uses the key to let the highest version of a PK win whatever the arrival
order (docs/mapping-format.md, "version"). The key is plain JSON (lists, numbers, strings), so it
is stored as-is in the state and compares the same after a restart:

* a JSON number (not a boolean) → ``["n", number]``: numeric order;
* a string that is an ISO 8601 date-time (``2026-12-01T10:00:00Z``, ``2026-12-01 10:00:00+02:00``;
  without an offset it is read in the mapping's ``source_timezone``) → ``["t", microseconds since
  the epoch, UTC]``: compared as instants, so ``10:00+02:00`` equals ``08:00Z``;
* any other string → ``["s", parts]``: natural order, runs of digits compared as numbers and
  the rest as text, so ``"1.10" > "1.9"`` and ``"v10" > "v9"``.

Keys of different kinds (a number against a time) do not compare: :func:`compare_versions`
returns ``None`` and delivery refuses the later one with a reason. Anything else (a boolean, an
object, an array) is not a version and the event is rejected (``bad_version``); a missing or
null version is rejected too (``missing_version``): without it the event could not be ordered.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from .coerce_errors import CoercionError
from .timestamps import parse_timestamp

__all__ = ["version_key", "compare_versions", "describe_version", "VERSION_KINDS"]

VERSION_KINDS = {"n": "a number", "t": "a time", "s": "a string"}
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_RUNS = re.compile(r"(\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_key(value: Any, *, tz: Any = "UTC", dst: str = "earlier") -> list:
    """The order key of one version value.

    :raises CoercionError: ``value`` is not a number, an ISO time or a string.
    """
    if isinstance(value, bool) or value is None:
        raise CoercionError(f"a version must be a number, an ISO time or a string, not {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise CoercionError(f"a version must be a finite number, not {value!r}")
        return ["n", value]
    if isinstance(value, str):
        if _ISO.match(value):
            when = parse_timestamp(value, tz=tz, dst=dst)  # raises CoercionError for a bad time
            delta = when - _EPOCH
            return ["t", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds]
        return ["s", [[0, int(run)] if i % 2 else [1, run] for i, run in enumerate(_RUNS.split(value)) if run]]
    raise CoercionError(f"a version must be a number, an ISO time or a string, not a {type(value).__name__}")


def compare_versions(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 as version key ``a`` is lower than, equal to or higher than ``b``; ``None`` if their kinds differ."""
    if a[0] != b[0]:
        return None
    x, y = a[1], b[1]
    return (x > y) - (x < y)


def describe_version(key: Any) -> str:
    """A version key as a person reads it (for messages)."""
    kind, value = key[0], key[1]
    if kind == "t":
        from datetime import timedelta

        return (_EPOCH + timedelta(microseconds=value)).isoformat().replace("+00:00", "Z")
    if kind == "s":
        return "".join(str(part[1]) for part in value)
    return repr(value)


def make_version_reader(field: Any, *, rule: str, event: str, tz: Any, dst: str):
    """``read(data, rejections, source, trace=None) -> key | None`` for a rule's compiled ``version:`` field.

    One definition for both engine paths (the interpreter and the generated runners call it at
    the same point, after the envelope), so their results are identical by construction. A
    problem is appended to ``rejections`` as a :class:`~ebi_mapper.outcomes.Rejection`.
    """
    from jmespath.exceptions import JMESPathError

    from ..rejection_codes import rejection
    from .fields import VALUE

    src = field.expr.source

    def read(data: Any, rejections: list, source: str, trace: Any = None) -> list | None:
        try:
            state, value = field.evaluate(data)
        except JMESPathError as exc:
            rejections.append(rejection("expression_error", label="version", reason=str(exc), rule=rule, event=event, field="version", expression=src,
                                        value=getattr(exc, "value", None), source=source))
            return None
        if trace is not None:
            trace.field(rule, "version", src, state, value)
        if state != VALUE:
            what = "null" if state == "null" else "nothing"
            rejections.append(rejection("missing_version", what=what, rule=rule, event=event, field="version", expression=src, source=source))
            return None
        try:
            key = version_key(value, tz=tz, dst=dst)
        except CoercionError as exc:
            rejections.append(rejection("bad_version", reason=str(exc), rule=rule, event=event, field="version", expression=src, value=value, source=source))
            return None
        if trace is not None:
            trace.coerced(rule, "version", describe_version(key))
        return key

    return read
