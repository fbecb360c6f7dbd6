"""The four built-in guards as generated code (see :mod:`.codegen`).

Each check function in :mod:`ebi_mapper.default_plugins.guards` carries ``fused = (kind,
settings)``; the emitter for that kind writes the same decision inline, with the same messages,
fields and order of outcomes, so no closure, generator or ``GuardContext`` is built per event.
An exception inside an inlined check becomes a ``guard_failed`` rejection, as the reference does
for any guard. tests/engine/test_fast_path_differential.py compares the outcomes.
"""

from __future__ import annotations

from typing import Any

from ..rejection_codes import Source, message_source
from .coerce import CUSTOMER_MAX_LENGTH
from .codegen_parts import string_bound

__all__ = ["emit_guards"]


class _Nested:
    """A writer one level deeper than ``outer`` (for a block opened by the caller)."""

    def __init__(self, outer: Any):
        self.outer = outer

    def emit(self, line: str) -> None:
        self.outer.emit("    " + line)

    def indent(self) -> Any:
        return self.outer.indent()


def emit_guards(gen: Any, w: Any) -> None:
    """Write the enabled guards' checks for ``gen``'s rule, in guard order, then filter or reject."""
    if not gen.fused:
        return
    bodies = []
    for kind, settings in gen.fused:
        body = type(w)()
        body.depth = w.depth + 1
        _EMITTERS[kind](gen, body, settings)
        if body.lines:  # else nothing this guard could say for this rule
            bodies.append((kind, body))
    filters = any(_FILTERED in line for _, body in bodies for line in body.lines)
    if filters:
        w.emit("_filtered = False")
    for kind, body in bodies:
        # As the reference does for every guard: an exception becomes a guard_failed rejection
        # naming the guard (each body records its outcomes only on its last line, so a failure
        # leaves none behind).
        w.emit("try:")
        w.lines.extend(body.lines)
        w.emit("except Exception as _e:")
        with w.indent():
            w.emit(f"_rej.append({gen.rejection('guard_failed', '', '', name=kind, error_type=Source('type(_e).__name__'), error=Source('_e'))})")
    if filters:
        w.emit("if _filtered:")
        with w.indent():
            w.emit(gen.exit)
    w.emit("if _rej:")
    with w.indent():
        w.emit("result.rejections.extend(_rej)")
        w.emit(gen.exit)


_FILTERED = "_filtered = True"  # how a body records a Filtered outcome (go_live's)


def _reject(w: Any, rejection: str) -> None:
    w.emit(f"_rej.append({rejection})")


def _go_live(gen: Any, w: Any, settings: dict) -> None:
    go_live = settings["go_live"]
    if go_live is None:
        return
    until = gen.const(go_live)
    detail = message_source("pre_go_live", timestamp=Source("_ts"), go_live=go_live.isoformat())
    w.emit(f"if _when < {until}:")
    with w.indent():
        w.emit(f"result.filtered.append(_Filtered('pre_go_live', {gen.rule.name!r}, {gen.event.key!r}, {detail})); {_FILTERED}")

def _currency(gen: Any, w: Any, settings: dict) -> None:
    site = settings["site"]
    monetary = [cf.field.name for cf in gen.crule.context if cf.param is not None and cf.param.monetary]
    if not monetary:
        return  # no monetary param can be in the context: the guard has nothing to say
    rule, event = gen.rule, gen.event
    names = gen.const(tuple(monetary))
    if rule.currency is not None:
        # The site currency itself, exactly: the checks below would all pass, so skip them.
        w.emit(f"if type(_cur) is not str or _cur != {site!r}:")
        w = _Nested(w)
    w.emit(f"_money = [_k for _k in {names} if context.get(_k) is not None]")
    w.emit("if _money:")
    with w.indent():
        if rule.currency is None:
            text = message_source("currency_missing", params=Source("', '.join(_money)"), site=site)
            _reject(w, f"_Rejection('currency_missing', {text}, {rule.name!r}, {event.key!r}, '$.context.' + _money[0], '', None, source)")
            return
        expr = rule.currency.source
        w.emit("if not isinstance(_cur, str) or not _cur.strip():")
        with w.indent():
            _reject(w, gen.rejection("currency_missing", "currency", expr, "_cur", "empty", currency=Source("_cur"), site=site))
        w.emit(f"elif _cur.strip().upper() != {site!r}:")
        with w.indent():
            text = message_source("currency_mismatch", currency=Source("_cur.strip().upper()"), site=site)
            _reject(w, f"_Rejection('currency_mismatch', {text}, {rule.name!r}, {event.key!r}, '$.context.' + _money[0], {expr!r}, _cur, source)")

def _string_length(gen: Any, w: Any, settings: dict) -> None:
    limit = settings["limit"]
    bound = max([CUSTOMER_MAX_LENGTH] + [string_bound(cf.param) for cf in gen.crule.context])
    if limit >= bound:
        return  # the coercers already hold every string to at most `limit` characters
    rule, event = gen.rule, gen.event
    w.emit("_out = []")
    w.emit(f"if len(customer) > {limit}:")
    with w.indent():
        w.emit(f"_out.append({gen.rejection('string_too_long', '$.customer', '', 'customer', name='customer id', length=Source('len(customer)'), limit=limit)})")
    w.emit("for _k, _x in context.items():")
    with w.indent():
        w.emit(f"if type(_x) is str and len(_x) > {limit}:")
        with w.indent():
            text = message_source("string_too_long", name=Source("_k"), length=Source("len(_x)"), limit=limit)
            w.emit(f"_out.append(_Rejection('string_too_long', {text}, {rule.name!r}, {event.key!r}, '$.context.' + _k, '', _x, source))")
    w.emit("_rej.extend(_out)")

def _future_skew(gen: Any, w: Any, settings: dict) -> None:
    seconds, skew = settings["seconds"], settings["skew"]
    w.emit(f"if _when - now > {gen.const(skew)}:")
    with w.indent():
        _reject(w, gen.rejection("future_timestamp", "$.timestamp", gen.crule.timestamp.expr.source, "_ts", timestamp=Source("_ts"),
                                 ahead=Source("(_when - now).total_seconds()"), seconds=seconds))


_EMITTERS = {"go_live": _go_live, "currency": _currency, "string_length": _string_length, "future_skew": _future_skew}
