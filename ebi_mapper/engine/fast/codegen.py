"""The engine's fast path: one generated Python function per rule.

:func:`make_rule_runner` writes the source of a function ``run(payload, result, source, now) ->
matched`` that does for one rule exactly what the reference interpreter in :mod:`.mapper` does
(``when``, ``each``, envelope, context fields, null policy, coercion, built-in guards, schema
validation, the event), with the per-field decisions taken at compile time instead of per record:

* plain paths (``data.player_id``, ``root.data.currency``, ``item.odds.decimal``) are looked up
  inline, telling a missing key from an explicit null without a second walk; anything unusual on
  the way (a non-JSON Python type) falls back to the compiled expression and :func:`presence`;
* each distinct expression is evaluated once per scope, and the envelope timestamp is parsed once
  when a context timestamp field reads the same expression;
* in an ``each`` fan-out, what only reads ``root`` (the envelope's customer and time, most
  often) is evaluated, coerced and parsed once before the loop, not once per element;
* literals (``{value: completed}``) are coerced once, at compile time;
* the missing / null / value logic and the null policy become straight-line code per field,
  and the coercer is called only when an inline test (:func:`.parts.inline_coercion`)
  cannot tell that it would return the value unchanged;
* the guards run in the generated code (:mod:`.guards`): the built-ins inline, from the
  ``inline`` part of their declared fast form (:class:`~ebi_mapper.extensions.FastGuard`); a
  plugin's guard through its fast form's per-rule check, or, without one, its reference check
  with the ``OotbEvent`` and ``GuardContext`` it expects. Only a rule with enrichers (which
  change the event) hands its finished fields to the public tail,
  :func:`~ebi_mapper.engine.finish.finish_rule`, so every plugin runs exactly as before;
* the event is checked against its schema only if a value could make it invalid: each branch
  that writes a value carries a guarantee proven against the param's schema fragment at compile
  time (:mod:`.conformance`, :mod:`.proof`); a branch without one flags the event, and
  a flagged event goes through the compiled validator (and ``jsonschema`` for the reasons);
* the `each` loop and what is done once before it are written by :mod:`.each`.

The reference interpreter stays the definition of the behaviour: ``compile_mapping(..., fast=False)``
uses it, ``trace=`` always uses it, and tests/engine/test_fast_path_differential.py proves the two
give equal ``RecordResult`` objects on the example mappings and generated payloads.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from jmespath.exceptions import JMESPathError

from ...expressions import error_message, presence
from ...outcomes import Filtered, OotbEvent, Rejection
from ...rejection_codes import Source, message_source
from ..coerce import CUSTOMER_MAX_LENGTH, CoercionError, coerce_customer
from ..compiled import RuleRunner
from ..fields import truthy
from ..timestamps import format_envelope, make_timestamp_parser
from .conformance import Either, OneOf, Text, TimeText, coercer_guarantee, inline_guarantee
from .each import CONTEXT_FROM_ENVELOPE, emit_each_loop, emit_lets
from .each import RUNTIME as EACH_RUNTIME
from .guards import GuardStep, emit_guards
from .parts import SLOW, Slot, Writer, detach, generic, inline_coercion, odd
from .proof import make_proof

__all__ = ["make_rule_runner"]


_BIG_INT = "10**200"  # ints below this in size print as fewer than 202 characters
# An exception kept in a local past its `except` block is detached first (parts.detach).

class _RuleCodegen:
    """Writes the source of one rule's runner; constants go into the function's namespace."""

    def __init__(self, crule: Any, *, tenant: Any, tz: Any, dst: str, validator: Any, guards: list[GuardStep], finish: Callable,
                 mapping: Any, catalog: Any):
        self.crule = crule
        self.rule = crule.rule
        self.event = crule.event
        self.tenant = tenant
        self.guards = guards
        self.enriched = bool(crule.enrichers)
        self.mapping, self.catalog = mapping, catalog
        self._ids = itertools.count(1)
        self.ns: dict[str, Any] = {
            "__builtins__": builtins,
            "_SLOW": SLOW,
            "_odd": odd,
            "_generic": generic,
            "_detach": detach,
            "_truthy": truthy,
            "_presence": presence,
            "_msg": error_message,
            **EACH_RUNTIME,
            "_JMESPathError": JMESPathError,
            "_CoercionError": CoercionError,
            "_Rejection": Rejection,
            "_Filtered": Filtered,
            "_OotbEvent": OotbEvent,
            "_coerce_customer": coerce_customer,
            "_parse_time": make_timestamp_parser(tz=tz, dst=dst),
            "_fmt_env": format_envelope,
            "_finish": finish,
            "_crule": crule,
            "_version": crule.version,  # the same reader the interpreter calls (versioning.py)
            "_check_event": validator.check,
            "_valid": validator.compiled_check(self.event.key),
        }
        in_each = crule.each is not None
        self.slots: dict[str, Slot] = {}
        fields = [crule.customer, crule.timestamp, *(cf.field for cf in crule.context)]
        if crule.currency is not None:  # a slot too, so `root.currency` is read once per record
            fields.append(SimpleNamespace(expr=crule.rule.currency, search=crule.currency))
        for f in fields:
            if f.expr.source not in self.slots:
                self.slots[f.expr.source] = Slot(len(self.slots) + 1, f, in_each)
        self.in_each = in_each
        self.prefixes: dict[tuple, str] = {}  # path prefix already walked -> its variable
        self.hoisted_customer = False  # customer coerced once before the `each` loop
        self.hoisted_time = False  # event time parsed (and formatted) once before the loop
        self.init_vars: list[str] = []  # x<k>/n<k> of plain paths, set to None up front in one line
        self.hoisted_fields: dict[str, str] = {}  # context param -> variable coerced before the loop
        self.exit = "continue" if in_each else "return True"
        # Validation by construction (see .proof): only when every guard is a built-in written
        # inline (a plugin's guard may adjust the context; enrichers go to the tail, which
        # validates) and there is a compiled validator for the event.
        inline_only = not self.enriched and all(step.how == "inline" for step in guards)
        self.proof = make_proof(validator, self.event.key, enabled=inline_only and self.ns["_valid"] is not None)

    # -- helpers ------------------------------------------------------------------------------
    def const(self, value: Any) -> str:
        """A name for ``value`` in the generated function's namespace."""
        name = f"_c{next(self._ids)}"
        self.ns[name] = value
        return name

    def open_inits(self, w: Writer) -> tuple:
        """Reserve the line that will set the block's ``x<k>``/``n<k>`` variables to None."""
        token = (w, len(w.lines), w.depth, self.init_vars)
        w.emit("pass")
        self.init_vars = []
        return token

    def close_inits(self, token: tuple) -> None:
        w, index, depth, outer = token
        if self.init_vars:
            w.lines[index] = "    " * depth + " = ".join(self.init_vars) + " = None"
        self.init_vars = outer

    def rule_expression(self, w: Writer, var: str, compiled: Any, label: str, text: str, scope: str, exit: str) -> None:
        """Emit ``var = <compiled>(scope)``; a JMESPath error becomes the rule's ``expression_error`` rejection, then ``exit``."""
        search = self.const(getattr(compiled, "search", compiled))
        w.emit("try:")
        with w.indent():
            w.emit(f"{var} = {search}({scope})")
        w.emit("except _JMESPathError as _e:")
        with w.indent():
            w.emit(f"result.rejections.append({self.rejection('expression_error', label, text, label=label, reason=Source('_msg(_e)'))})")
            w.emit(exit)

    def rejection(self, code: str, path: str, expression: str, value: str = "None", variant: str = "", **params: Any) -> str:
        """Python source of ``Rejection(code, message, ...)`` for this rule; the message is the table's
        template (:func:`~ebi_mapper.rejection_codes.message_source`), ``value`` and :class:`Source`
        parameters are Python expressions."""
        text = message_source(code, variant, rule=self.rule.name, event=self.event.key, field=path, expression=expression, **params)
        return f"_Rejection({code!r}, {text}, {self.rule.name!r}, {self.event.key!r}, {path!r}, {expression!r}, {value}, source)"

    def reject(self, w: Writer, code: str, path: str, expression: str, value: str = "None", variant: str = "", **params: Any) -> None:
        """Emit ``_rej.append(Rejection(...))`` (see :meth:`rejection`)."""
        w.emit(f"_rej.append({self.rejection(code, path, expression, value, variant, **params)})")

    # -- expression slots ---------------------------------------------------------------------
    def evaluate(self, w: Writer, slot: Slot, scope: str = "data") -> None:
        """Emit the once-per-scope evaluation of ``slot``: ``r<k>`` (value or None), ``n<k>``, ``x<k>``.

        ``scope`` is what the generic fallback evaluates against (``data``, or before an `each`
        loop a scope holding only ``root``, enough for a path that starts at ``root``).
        """
        if slot.evaluated:
            return
        slot.evaluated = True
        k = slot.k
        is_literal, value = slot.literal
        if is_literal:
            w.emit(f"r{k} = {self.const(value)}")
            return
        search = self.const(slot.search)
        if not slot.inline:
            w.emit("try:")
            with w.indent():
                w.emit(f"r{k} = {search}({scope})")
                w.emit(f"x{k} = None")
            w.emit("except _JMESPathError as _e:")
            with w.indent():
                w.emit(f"r{k} = None")
                w.emit(f"x{k} = _detach(_e)")
            if slot.can_be_null:  # only `@` gets here: a simple path that is not inlined
                w.emit(f"n{k} = r{k} is None and x{k} is None and _presence({scope}, {self.const(slot.path)}) == 'null'")
            return
        cur = slot.base
        steps = slot.steps
        assert steps is not None  # an inlined slot has a path
        for i, step in enumerate(steps):
            # Intermediate objects (`data` in data.a, data.b, ...) are walked to once per scope.
            prefix = (slot.base, *steps[: i + 1])
            last = i == len(steps) - 1
            if not last and prefix in self.prefixes:
                cur = self.prefixes[prefix]
                continue
            out = f"r{k}" if last else f"_p{len(self.prefixes) + 1}"
            if isinstance(step, str):  # a step is exactly a str or an int (Slot.inline)
                w.emit(f"{out} = {cur}.get({step!r}) if type({cur}) is dict else _odd({cur})")
            else:
                bound = f"{step} < len({cur})" if step >= 0 else f"{-step} <= len({cur})"
                w.emit(f"{out} = ({cur}[{step}] if {bound} else None) if type({cur}) is list else _odd({cur})")
            if not last:
                self.prefixes[prefix] = out
            else:
                # r<k> is None for a missing key and for a null; which of the two is decided only
                # when a field needs it, by looking at the parent (see null_test).
                step_text = repr(step) if type(step) is str else str(step)
                slot.parent = (cur, type(step) is str, step_text)
            cur = out
        self.init_vars.append(f"x{k}")
        self.init_vars.append(f"n{k}")
        w.emit(f"if r{k} is _SLOW: r{k}, n{k}, x{k} = _generic({search}, {scope}, {self.const(slot.path)})")

    def null_test(self, slot: Slot) -> str:
        """Python expression: the slot's value (known to be None) is an explicit null."""
        k = slot.k
        if not slot.inline:
            return f"n{k}"
        assert slot.parent is not None  # set when the slot's path was written (evaluate), before any test
        parent, is_key, step = slot.parent
        if is_key:
            inline = f"(type({parent}) is dict and {step} in {parent})"
        else:
            index = int(step)
            bound = f"{index} < len({parent})" if index >= 0 else f"{-index} <= len({parent})"
            inline = f"(type({parent}) is list and {bound})"
        return f"(n{k} or {inline})"  # n<k> is set only by the generic fallback

    def field_states(self, w: Writer, f: Any, *, on_error: Callable, on_value: Callable, on_null: Callable, on_missing: Callable) -> None:
        """Emit the three-state decision of :meth:`CompiledField.evaluate` for field ``f``."""
        slot = self.slots[f.expr.source]
        self.evaluate(w, slot)
        k = slot.k
        if f.has_default:
            if slot.can_fail:
                w.emit(f"if x{k} is not None:")
                with w.indent():
                    on_error(f"x{k}")
                w.emit("else:")
            else:
                w.emit("if True:")
            with w.indent():
                w.emit(f"_v = r{k} if r{k} is not None else {self.const(f.default)}")
                on_value("_v")
            return
        # An error leaves the value None, so testing for a value first is the same decision.
        w.emit(f"if r{k} is not None:")
        with w.indent():
            on_value(f"r{k}")
        if slot.can_fail:
            w.emit(f"elif x{k} is not None:")
            with w.indent():
                on_error(f"x{k}")
        if slot.can_be_null:
            w.emit(f"elif {self.null_test(slot)}:")
            with w.indent():
                on_null()
        w.emit("else:")
        with w.indent():
            on_missing()

    # -- the rule -----------------------------------------------------------------------------
    def build(self, *, check_when: bool) -> tuple[RuleRunner, str]:
        crule, rule = self.crule, self.rule
        w = Writer()
        lines = ["def run(payload, result, source, now):"]
        if check_when and crule.when is not None:
            self.rule_expression(w, "_w", crule.when, "when", rule.when.source, "payload", "return True")
            w.emit("if _w is not True and not _truthy(_w): return False")
        if crule.each is not None:
            emit_each_loop(self, w)
        else:
            w.emit("data = payload")
            emit_lets(self, w, fresh=False)
            self.produce(w)
            w.emit("return True")
        text = "\n".join(lines + w.lines) + "\n"
        code = compile(text, f"<ebi-mapper rule {rule.name[:60]!r}>", "exec")
        namespace = dict(self.ns)
        exec(code, namespace)
        return namespace["run"], text

    def produce(self, w: Writer) -> None:
        crule = self.crule
        w.emit("_rej = []")
        if self.proof.enabled:
            w.emit("_chk = False")
        inits = self.open_inits(w)
        self.customer(w)
        self.timestamp(w)
        w.emit("_ver = _version(data, _rej, source)" if crule.version is not None else "_ver = None")
        w.emit("context = {}")
        for cf in crule.context:
            self.context_field(w, cf)
        self.close_inits(inits)
        for param in crule.unmapped_required:
            self.reject(w, "missing_mandatory", f"$.context.{param.key}", "", variant="unmapped", name=param.key)
        w.emit("if _rej:")
        with w.indent():
            w.emit("result.rejections.extend(_rej)")
            w.emit(self.exit)
        if self.enriched:
            # Enrichers change the event: the public tail (engine/finish.py) runs them, then the guards.
            w.emit("_finish(_crule, data, payload, result, source, now, None, customer, _when, context, _ver)")
            return
        self.currency(w)
        emit_guards(self, w)
        self.validate_and_emit(w)

    def envelope_states(self, w: Writer, f: Any, label: str, missing_code: str, path: str, var: str, on_value: Callable[[str], None]) -> None:
        """An envelope field (customer, timestamp): an error, a null or nothing rejects and sets ``var`` to None."""
        src = f.expr.source

        def on_error(x: str) -> None:
            self.reject(w, "expression_error", path, src, f"getattr({x}, 'value', None)", label=label, reason=Source(f"_msg({x})"))
            w.emit(f"{var} = None")

        def rejecting(what: str) -> Callable[[], None]:
            def handler() -> None:
                self.reject(w, missing_code, path, src, what=what)
                w.emit(f"{var} = None")

            return handler

        self.field_states(w, f, on_error=on_error, on_value=on_value, on_null=rejecting("null"), on_missing=rejecting("nothing"))

    def customer(self, w: Writer) -> None:
        f = self.crule.customer
        src = f.expr.source

        def on_value(v: str) -> None:
            coerced = Text(1, CUSTOMER_MAX_LENGTH)  # what coerce_customer returns
            if self.hoisted_customer:
                w.emit("customer = _cust0")
                self.proof.mark(w, "customer", coerced)
                w.emit("if _cx0 is not None:")
                with w.indent():
                    self.reject(w, "coerce_failed", "$.customer", src, v, name="customer", reason=Source("_cx0"))
                return
            # coerce_customer's own checks for the common cases (a short non-blank string, an
            # int of fewer than 200 digits: its digits, never blank, never too long).
            w.emit(f"if type({v}) is str and 0 < len({v}) <= {CUSTOMER_MAX_LENGTH} and not {v}[0].isspace():")
            with w.indent():
                w.emit(f"customer = {v}")
                self.proof.mark(w, "customer", Text(1, CUSTOMER_MAX_LENGTH))
            w.emit(f"elif type({v}) is int and -{_BIG_INT} < {v} < {_BIG_INT}:")
            with w.indent():
                w.emit(f"customer = str({v})")
                self.proof.mark(w, "customer", Text(1, len(str(-(10**200) + 1))))
            w.emit("else:")
            with w.indent():
                w.emit("try:")
                with w.indent():
                    w.emit(f"customer = _coerce_customer({v})")
                    self.proof.mark(w, "customer", coerced)
                w.emit("except _CoercionError as _e:")
                with w.indent():
                    self.reject(w, "coerce_failed", "$.customer", src, v, name="customer", reason=Source("_e"))
                    w.emit("customer = None")

        self.envelope_states(w, f, "customer", "missing_customer", "$.customer", "customer", on_value)

    def timestamp(self, w: Writer) -> None:
        f = self.crule.timestamp
        src = f.expr.source
        w.emit("_tv = _SLOW; _tx = None")  # the parsed value and error, shared with context fields

        def on_value(v: str) -> None:
            w.emit(f"_tv = {v}")
            if self.hoisted_time:
                w.emit("_when = _when0; _tx = _tx0; _ts = _ts0")
                self.proof.mark(w, "timestamp", TimeText("envelope"))
                w.emit("if _tx is not None:")
                with w.indent():
                    w.emit("_when = None")
                    self.reject(w, "bad_timestamp", "$.timestamp", src, v, reason=Source("_tx"))
                return
            w.emit("try:")
            with w.indent():
                w.emit(f"_when = _parse_time({v})")
            w.emit("except _CoercionError as _e:")
            with w.indent():
                w.emit("_when = None; _tx = _detach(_e)")
                self.reject(w, "bad_timestamp", "$.timestamp", src, v, reason=Source("_e"))
            # Formatted once, here: a context field reading the same time derives its form from it.
            w.emit("else:")
            with w.indent():
                w.emit("_ts = _fmt_env(_when)")
                self.proof.mark(w, "timestamp", TimeText("envelope"))

        self.envelope_states(w, f, "timestamp", "missing_timestamp", "$.timestamp", "_when", on_value)

    def context_field(self, w: Writer, cf: Any) -> None:
        f, param = cf.field, cf.param
        name, src, path = f.name, f.expr.source, f"$.context.{f.name}"
        key = repr(name)
        coerce = self.const(cf.coerce)
        slot = self.slots[src]

        # A literal ({value: completed}) with no error possible: coerce it once, here.
        is_literal, literal = slot.literal
        if is_literal and literal is not None and type(literal) in (str, int, float, bool):
            try:
                folded = cf.coerce(literal)
            except CoercionError:
                folded = SLOW
            if folded is not SLOW and type(folded) in (str, int, float, bool):
                self.evaluate(w, slot)
                w.emit(f"context[{key}] = {self.const(folded)}")
                self.proof.mark(w, path, OneOf((folded,)))
                self.proof.always.add(name)
                return
        if (cf.required and not cf.completable) or f.has_default:
            self.proof.always.add(name)  # every other path rejects the event
        produced = coercer_guarantee(param)
        if f.has_default and f.default is None and produced is not None:
            produced = Either((produced, OneOf((None,))))  # `default: null` reaches the coercer, which returns None

        def on_error(x: str) -> None:
            self.reject(w, "expression_error", path, src, f"getattr({x}, 'value', None)", label=name, reason=Source(f"_msg({x})"))

        def coerced(v: str) -> None:
            w.emit("try:")
            with w.indent():
                w.emit(f"context[{key}] = {coerce}({v})")
                self.proof.mark(w, path, produced, f"context[{key}]")
            w.emit("except _CoercionError as _e:")
            with w.indent():
                self.reject(w, "coerce_failed", path, src, v, name=name, reason=Source("_e"))

        def on_value(v: str) -> None:
            ts = self.crule.timestamp
            if param.type == "timestamp" and src == ts.expr.source and not f.has_default and not ts.has_default:
                # Same expression as the envelope's time: reuse its parse (same zone and dst policy).
                w.emit(f"if {v} is _tv:")
                with w.indent():
                    w.emit("if _tx is None:")
                    with w.indent():
                        w.emit(f"context[{key}] = {'_tc0' if self.hoisted_time else CONTEXT_FROM_ENVELOPE % '_ts'}")
                        self.proof.mark(w, path, TimeText("context"))
                    w.emit("else:")
                    with w.indent():
                        self.reject(w, "coerce_failed", path, src, v, name=name, reason=Source("_tx"))
                w.emit("else:")
                with w.indent():
                    coerced(v)
                return
            hoisted = self.hoisted_fields.get(name)
            if hoisted is not None and v == f"r{slot.k}":
                # Coerced once before the `each` loop (the value is the same for every element).
                w.emit(f"if {hoisted}e is None:")
                with w.indent():
                    w.emit(f"context[{key}] = {hoisted}")
                    self.proof.mark(w, path, produced, hoisted)
                w.emit("else:")
                with w.indent():
                    self.reject(w, "coerce_failed", path, src, v, name=name, reason=Source(f"{hoisted}e"))
                return
            if param.type == "yes_no" and not param.allowed:
                # parse_bool's first branch: the booleans themselves.
                flag = self.proof.flag_suffix(path, OneOf(("Yes", "No")))
                w.emit(f"if {v} is True: context[{key}] = 'Yes'{flag}")
                w.emit(f"elif {v} is False: context[{key}] = 'No'{flag}")
                w.emit("else:")
                with w.indent():
                    coerced(v)
                return
            non_empty = self.proof.non_empty(path)
            fast = inline_coercion(param, v, non_empty=non_empty)
            if fast is None:
                coerced(v)
                return
            w.emit(f"if {fast}:")
            with w.indent():
                w.emit(f"context[{key}] = {v}")
                self.proof.mark(w, path, inline_guarantee(param, non_empty=non_empty))
            w.emit("else:")
            with w.indent():
                coerced(v)

        def on_null() -> None:
            if cf.required:
                self.reject(w, "null_mandatory", path, src, name=name)
            elif cf.nulls == "keep":
                w.emit(f"context[{key}] = None")
                self.proof.mark(w, path, OneOf((None,)))
            elif cf.nulls == "reject":
                self.reject(w, "null_value", path, src, name=name)
            else:
                w.emit("result.nulls_dropped += 1")

        def on_missing() -> None:
            if cf.required and not cf.completable:
                self.reject(w, "missing_mandatory", path, src, name=name)
            else:
                w.emit("pass")

        self.field_states(w, f, on_error=on_error, on_value=on_value, on_null=on_null, on_missing=on_missing)

    def currency(self, w: Writer) -> None:
        rule = self.rule
        if self.crule.currency is None:
            w.emit("_cur = None")
            return
        src = rule.currency.source
        slot = self.slots.get(src)
        if slot is not None:
            if not slot.evaluated:
                inits = self.open_inits(w)
                self.evaluate(w, slot)
                self.close_inits(inits)
            k = slot.k
            if slot.can_fail:
                w.emit(f"if x{k} is not None:")
                with w.indent():
                    w.emit(f"result.rejections.append({self.rejection('expression_error', 'currency', src, label='currency', reason=Source(f'_msg(x{k})'))})")
                    w.emit(self.exit)
            w.emit(f"_cur = r{k}")
            return
        self.rule_expression(w, "_cur", self.crule.currency, "currency", src, "data", self.exit)

    # -- validation and the event -------------------------------------------------------------
    def validate_and_emit(self, w: Writer) -> None:
        rule, event = self.rule, self.event
        tenant = self.const(self.tenant)
        proven = self.proof.shape_holds(tenant=self.tenant, event=event.key, names=[cf.field.name for cf in self.crule.context])
        if proven and not self.proof.unproven:
            pass  # every branch proves its value and the shape holds: valid by construction
        else:
            opener = "if _chk:" if proven else "if True:"
            w.emit(opener)
            with w.indent():
                w.emit(f"_d = {{'tenant': {tenant}, 'event': {event.key!r}, 'customer': customer, 'timestamp': _ts, 'context': context}}")
                fast = self.ns["_valid"]
                w.emit("if not _valid(_d):" if fast is not None else "if True:")
                with w.indent():
                    w.emit(f"_problems = _check_event({event.key!r}, _d, rule={rule.name!r}, source=source, refused={fast is not None})")
                    w.emit("if _problems:")
                    with w.indent():
                        w.emit("result.rejections.extend(_problems)")
                        w.emit(self.exit)
        parts = []
        for key in event.primary_key:
            if key == "customer":
                parts.append("customer")
            elif key == "timestamp":
                parts.append("_ts")
            else:
                parts.append(f"context.get({key!r})")
        pk = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        # The public constructor (outcomes.py gives the frozen OotbEvent a one-assignment __init__).
        w.emit(f"result.events.append(_OotbEvent({tenant}, {event.key!r}, customer, _ts, context, {rule.name!r}, {pk}, _ver))")


def make_rule_runner(
    crule: Any,
    *,
    tenant: Any,
    tz: Any,
    dst: str,
    validator: Any,
    guards: list[GuardStep],
    finish: Callable,
    mapping: Any,
    catalog: Any,
    check_when: bool = True,
) -> tuple[RuleRunner, str]:
    """Generate ``run(payload, result, source, now) -> matched`` for one compiled rule, and its source.

    ``guards`` is how each enabled guard runs (:func:`.guards.plan_guards`); ``finish`` is the
    tail a rule with enrichers hands its fields to; ``mapping`` and ``catalog`` make the
    ``GuardContext`` of a guard without a fast form. With ``check_when=False`` the rule's
    ``when`` is taken as already true (the dispatcher proved it).
    """
    gen = _RuleCodegen(crule, tenant=tenant, tz=tz, dst=dst, validator=validator, guards=guards, finish=finish, mapping=mapping, catalog=catalog)
    return gen.build(check_when=check_when)
