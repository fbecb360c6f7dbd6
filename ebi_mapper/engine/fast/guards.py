"""The guards in generated code (see :mod:`.codegen`), in the order the registry gives them.

:func:`plan_guards` decides how each enabled guard of a rule runs, from its declared fast form
(:class:`~ebi_mapper.extensions.FastGuard`):

* ``inline``: a built-in whose fast form names an inline form this module writes (``go_live``,
  ``currency``, ``string_length``, ``future_skew``): the same decision as its check, with the
  same messages (the one table, ebi_mapper/rejection_codes.py), fields and order of outcomes,
  and no call, closure or ``GuardContext`` per event;
* ``fast``: the per-rule check its fast form returns, called with the event's parts;
* ``check``: a guard without a fast form: its reference check, with the ``OotbEvent`` and
  ``GuardContext`` it expects (built once per event, only then).

A guard whose fast form has nothing to check for the rule is left out. An exception in any of
them becomes a ``guard_failed`` rejection naming the guard, and outcomes are taken as the
interpreter takes them (engine/finish.py). tests/engine/test_fast_path_differential.py and
tests/engine/test_fast_guard_plugin.py compare the outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...extensions import GuardContext
from ...outcomes import Rejection
from ...rejection_codes import Source, message_source
from ..coerce import CUSTOMER_MAX_LENGTH
from .parts import string_bound

__all__ = ["GuardStep", "emit_guards", "plan_guards"]


@dataclass(frozen=True)
class GuardStep:
    """How one enabled guard runs in a rule's generated code."""

    name: str  # its registered name (guard_failed and traces name it)
    how: str  # inline | fast | check
    what: Any  # inline: (kind, settings); fast: check(customer, timestamp, event_time, context, now, currency); check: check(event, ctx)


def plan_guards(crule: Any) -> list[GuardStep]:
    """Each enabled guard of ``crule``, as it will run (see the module's docstring)."""
    steps = []
    for i, check in enumerate(crule.guards):
        name = crule.guard_names[i] if i < len(crule.guard_names) else getattr(check, "__name__", str(check))
        fast = crule.guard_fast[i] if i < len(crule.guard_fast) else None
        if fast is None:
            steps.append(GuardStep(name, "check", check))
        elif fast.inline is not None and fast.inline[0] in _EMITTERS:
            steps.append(GuardStep(name, "inline", fast.inline))
        else:
            try:
                per_rule = fast.for_rule(crule.rule, crule.event)
            except Exception:  # noqa: BLE001 - a plugin's fast form that cannot bind: its reference check still runs
                steps.append(GuardStep(name, "check", check))
                continue
            if per_rule is not None:
                steps.append(GuardStep(name, "fast", per_rule))
    return steps


def _sourced(item: Rejection, source: str) -> Rejection:
    """A guard's rejection naming the record (as the interpreter's tail does)."""
    return item if item.source else replace(item, source=source)


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
    if not gen.guards:
        return
    bodies = []
    for step in gen.guards:
        body = type(w)()
        body.depth = w.depth + 1
        if step.how == "inline":
            kind, settings = step.what
            _EMITTERS[kind](gen, body, settings)
        else:
            _call(gen, body, step)
        if body.lines:  # else nothing this guard could say for this rule
            bodies.append((step, body))
    filters = any(_FILTERED in line for _, body in bodies for line in body.lines)
    if filters:
        w.emit("_filtered = False")
    if any(step.how == "check" for step, _ in bodies):
        # What a reference check expects, built once per event (engine/finish.py builds the same).
        w.emit(f"_gev = _OotbEvent({gen.const(gen.tenant)}, {gen.event.key!r}, customer, _ts, context, {gen.rule.name!r})")
        w.emit(f"_gctx = {gen.const(GuardContext)}({gen.const(gen.mapping)}, {gen.const(gen.rule)}, {gen.const(gen.catalog)}, now, _when, _cur, payload)")
    for step, body in bodies:
        # As the reference does for every guard: an exception becomes a guard_failed rejection
        # naming the guard (each body records its outcomes only on its last line, so a failure
        # leaves none behind).
        w.emit("try:")
        w.lines.extend(body.lines)
        w.emit("except Exception as _e:")
        with w.indent():
            failed = gen.rejection("guard_failed", "", "", name=step.name, error_type=Source("type(_e).__name__"), error=Source("_e"))
            w.emit(f"_rej.append({failed})" if step.how == "inline" else f"_gout = ({failed},)")
        if step.how != "inline":
            _take(gen, w)
    if filters:
        w.emit("if _filtered:")
        with w.indent():
            w.emit(gen.exit)
    w.emit("if _rej:")
    with w.indent():
        w.emit("result.rejections.extend(_rej)")
        w.emit(gen.exit)


_FILTERED = "_filtered = True"  # how a body records a Filtered outcome (go_live's)


def _call(gen: Any, w: Any, step: GuardStep) -> None:
    """A guard that is not inline: call it, keeping its outcomes (the reference takes them whole, with list())."""
    fn = gen.const(step.what)
    if step.how == "fast":
        w.emit(f"_gout = list({fn}(customer, _ts, _when, context, now, _cur) or ())")
    else:
        w.emit(f"_gout = list({fn}(_gev, _gctx) or ())")


def _take(gen: Any, w: Any) -> None:
    """Outcomes of a called guard, as engine/finish.py takes them: a filter is kept, a rejection named after the record."""
    w.emit("for _x in _gout:")
    with w.indent():
        w.emit(f"if isinstance(_x, _Filtered): result.filtered.append(_x); {_FILTERED}")
        w.emit(f"else: _rej.append({gen.const(_sourced)}(_x, source))")


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
