"""The `each` fan-out as generated code (see :mod:`.codegen`): the loop, and what is done once before it.

An `each` rule produces one event per array element. What only reads ``root`` (the envelope's
customer and time, most often, and plain ``root.…`` context fields) is the same for every
element, so it is evaluated, coerced and parsed once before the loop; each element still gets
its own rejections, in the same order, from those shared results.
"""

from __future__ import annotations

from typing import Any

from ...rejection_codes import Source, message_source
from ..items import tag_item
from ..scopes import LetError, each_error, each_problem, item_scope, let_rejection, with_values

__all__ = ["CONTEXT_FROM_ENVELOPE", "RUNTIME", "emit_each_loop", "emit_lets"]

# What the code written here calls: the one definition both engine paths use (scopes.py).
RUNTIME = {
    "_item_scope": item_scope,
    "_each_problem": each_problem,
    "_each_error": each_error,
    "_with_values": with_values,
    "_LetError": LetError,
    "_let_rejection": let_rejection,
}

# timestamps.context_from_envelope, inline (one call fewer per event); tested equal to format_context.
CONTEXT_FROM_ENVELOPE = "%s[:-4].replace(' ', 'T') + 'Z'"


def emit_each_loop(gen: Any, w: Any) -> None:
    """Write the `each` rule's body: evaluate the array, refuse a non-array, filter an empty one, then loop."""
    rule, event = gen.rule, gen.event
    src = rule.each.source
    gen.rule_expression(w, "_items", gen.crule.each, "each", src, "payload", "return True")
    w.emit("if not isinstance(_items, list):")
    with w.indent():
        w.emit("_what = 'nothing (missing or null)' if _items is None else f'a {type(_items).__name__}'")
        w.emit(f"result.rejections.append({gen.rejection('each_not_array', 'each', src, '_items', label='each', what=Source('_what'))})")
        w.emit("return True")
    w.emit("if not _items:")
    with w.indent():
        detail = message_source("empty_each", label="each", expression=src)
        w.emit(f"result.filtered.append(_Filtered('empty_each', {rule.name!r}, {event.key!r}, {detail}))")
        w.emit("return True")
    _emit_hoist(gen, w)
    if gen.crule.each_inner is not None:
        _emit_nested_loop(gen, w)
        w.emit("return True")
        return
    w.emit("for _index, _item in enumerate(_items):")
    with w.indent():
        w.emit("data = {'item': _item, 'root': payload, 'index': _index}")
        _emit_element(gen, w)
    w.emit("return True")


def _emit_nested_loop(gen: Any, w: Any) -> None:
    """A two-level `each`: per outer element, its inner array (checked as scopes.each_problem says), then one scope per inner element."""
    rule, event = gen.rule, gen.event
    src = rule.each_inner.source
    inner = gen.const(gen.crule.each_inner.search)
    w.emit("for _oindex, _outer in enumerate(_items):")
    with w.indent():
        w.try_except(f"_inner = {inner}(_item_scope(_outer, payload, _oindex))", "_JMESPathError",
                     f"result.rejections.append(_each_error(_e, {src!r}, {rule.name!r}, {event.key!r}, source, _oindex)); continue")
        w.emit("if type(_inner) is not list or not _inner:")
        with w.indent():
            w.emit(f"_eachp = _each_problem(_inner, {src!r}, {rule.name!r}, {event.key!r}, source, _oindex)")
            w.emit("(result.filtered if type(_eachp) is _Filtered else result.rejections).append(_eachp)")
            w.emit("continue")
        w.emit("for _index, _item in enumerate(_inner):")
        with w.indent():
            w.emit("data = {'item': _item, 'outer': _outer, 'index': _index, 'outer_index': _oindex, 'root': payload}")
            _emit_element(gen, w)


def _emit_element(gen: Any, w: Any) -> None:
    """One element's named values and event; its rejections name it (items.tag_item, as the reference path does).

    ``finally``, because a rejected element leaves the body by ``continue``.
    """
    w.emit("_n0 = len(result.rejections)")
    w.emit("try:")
    with w.indent():
        emit_lets(gen, w, fresh=True)
        gen.produce(w)
    w.emit("finally:")
    with w.indent():
        w.emit(f"if len(result.rejections) > _n0: {gen.const(tag_item)}(result.rejections, _n0, {gen.const(gen.crule)}, data)")


def emit_lets(gen: Any, w: Any, *, fresh: bool) -> None:
    """The rule's `let:` values into ``data['vars']`` (scopes.with_values); an error rejects this scope."""
    if not gen.crule.lets:
        return
    w.try_except(f"data = _with_values(data, {gen.const(gen.crule.lets)}, {fresh})", "_LetError",
                 f"result.rejections.append(_let_rejection(_e, {gen.rule.name!r}, {gen.event.key!r}, source)); {gen.exit}")


def _emit_hoist(gen: Any, w: Any) -> None:
    """Before an `each` loop: what only reads ``root`` is the same for every element.

    Plain ``root.…`` paths are evaluated once, and the envelope's customer and time (nearly
    always ``root.…``) are coerced and parsed once; each element still gets its own
    rejections, in the same order, from these shared results.
    """
    hoisted = [slot for slot in gen.slots.values() if slot.inline and slot.base == "payload"]
    if not hoisted:
        return
    w.emit("_scope0 = {'root': payload}")
    inits = gen.open_inits(w)
    for slot in hoisted:
        gen.evaluate(w, slot, scope="_scope0")
    gen.close_inits(inits)
    customer, ts = gen.crule.customer, gen.crule.timestamp
    cslot, tslot = gen.slots[customer.expr.source], gen.slots[ts.expr.source]
    for i, cf in enumerate(gen.crule.context):
        f = cf.field
        slot = gen.slots[f.expr.source]
        if slot not in hoisted or f.has_default:
            continue
        if cf.param.type == "timestamp" and f.expr.source == ts.expr.source and not ts.has_default:
            continue  # shares the envelope's parse instead
        var = f"_h{i}"
        gen.hoisted_fields[f.name] = var
        _emit_once(w, slot.k, var, f"{var}e", f"{gen.const(cf.coerce)}(r{slot.k})")
    if cslot in hoisted and not customer.has_default:
        gen.hoisted_customer = True
        k = cslot.k
        _emit_once(w, k, "_cust0", "_cx0", f"_coerce_customer(r{k})")
    if tslot in hoisted and not ts.has_default:
        gen.hoisted_time = True
        k = tslot.k
        _emit_once(w, k, "_when0", "_tx0", f"_parse_time(r{k})", also=("_ts0", "_tc0"), orelse=f"_ts0 = _fmt_env(_when0); _tc0 = {CONTEXT_FROM_ENVELOPE % '_ts0'}")


def _emit_once(w: Any, k: int, var: str, err: str, call: str, *, also: tuple[str, ...] = (), orelse: str | None = None) -> None:
    """Before the loop: ``var = call`` when ``r<k>`` has a value, its CoercionError (detached) in ``err``."""
    w.emit("; ".join(f"{name} = None" for name in (var, err, *also)))
    w.emit(f"if r{k} is not None:")
    with w.indent():
        w.try_except(f"{var} = {call}", "_CoercionError", f"{err} = _detach(_e)", orelse=orelse)
