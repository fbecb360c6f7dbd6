"""Lint of named values (`let:` read as ``vars.<name>``) and field sets (`fields:` + `extends:`).

Findings point at the use (an unknown or not-yet-computed name, ``vars`` where there are none)
and at the definition (a value or field set nothing uses), and a use inside a field set says
which rule it was checked for, since a set is checked once per rule that extends it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..mapping.model import Expr, Rule
from .basics import analyse as _analyse
from .basics import err as _err
from .basics import suggest as _suggest
from .basics import warn as _warn
from .findings import Finding

__all__ = ["check_named_values", "value_references"]

_PROJECTIONS = ("projection", "filter_projection", "value_projection")


def _leftmost_field(node: dict) -> dict | None:
    while node.get("type") != "field":
        children = node.get("children") or []
        if node.get("type") not in ("index_expression", "subexpression", "flatten", *_PROJECTIONS) or not children:
            return None
        node = children[0]
    return node


def value_references(ast: dict) -> Iterator[tuple[str | None, int | None]]:
    """``(name, offset)`` of each ``vars.<name>`` read from the scope (``None`` name: ``vars`` used whole).

    Only reads from the rule's scope count: inside a projection, a filter, the right side of a
    pipe or an ``&expr`` the current node is something else, so ``vars`` there is not the values.
    """
    yield from _refs(ast, True)


def _refs(node: Any, at_root: bool) -> Iterator[tuple[str | None, int | None]]:
    if not isinstance(node, dict):
        return
    kind, children = node.get("type"), node.get("children") or []
    if kind == "field":
        if at_root and node.get("value") == "vars":
            yield None, node.get("position")
        return
    if kind in ("subexpression", "index_expression"):
        first = children[0] if children else None
        if at_root and isinstance(first, dict) and first.get("type") == "field" and first.get("value") == "vars":
            name = _leftmost_field(children[1]) if len(children) > 1 and kind == "subexpression" else None
            yield (name["value"], name.get("position")) if name else (None, first.get("position"))
        else:
            yield from _refs(first, at_root)
        for child in children[1:]:
            yield from _refs(child, False)
        return
    if kind in _PROJECTIONS or kind == "pipe":
        yield from _refs(children[0] if children else None, at_root)
        for child in children[1:]:
            yield from _refs(child, False)
        return
    if kind == "expref":
        return
    for child in children:
        yield from _refs(child, at_root)


def _rule_expressions(rule: Rule) -> Iterator[tuple[str, Expr]]:
    """Every expression of a rule that is evaluated in a scope holding ``vars``, labelled."""
    yield "customer", rule.customer.expr
    yield "timestamp", rule.timestamp.expr
    for label, expr in (("currency", rule.currency), ("version", getattr(rule, "version", None))):
        if expr is not None:
            yield label, expr
    for key, spec in rule.context.items():
        yield f"context.{key}", spec.expr


def check_named_values(ctx: Any) -> Iterator[Finding]:
    """Unknown names, values used before they are computed (cycles), unused values and field sets, `vars` in when/each."""
    set_uses: dict[tuple[str, str], bool] = defaultdict(bool)  # (field set, value) -> used by some rule
    set_users: set[str] = set()
    for rule in ctx.mapping.rules:
        set_users.update(rule.extends)
        order = list(rule.lets)
        used: set[str] = set()
        defined_text = f" (defined: {', '.join(order) or 'none'})"

        def refs(expr: Expr) -> list[tuple[str | None, int | None]]:
            facts = _analyse(expr.source)
            if facts.error is not None or "vars" not in expr.source:
                return []
            from ..expressions import parse_expression

            return list(value_references(parse_expression(expr.source)))

        def where(label: str, rule: Rule = rule) -> str:  # this iteration's rule, bound (B023)
            origin = rule.origins.get(label)
            return f"rule {rule.name!r} {label}" + (f" (from field set {origin!r})" if origin else "")

        for label, expr in (("when", rule.when), ("each", rule.each), ("each.inner", rule.each_inner)):
            if expr is None:
                continue
            for _name, pos in refs(expr):
                yield _err(ctx.expr_loc(expr, pos or 0), "let-scope", f"rule {rule.name!r} {label}: named values (vars) are computed after `when` and `each`, so {label} cannot read them")
        for i, (let_name, spec) in enumerate(rule.lets.items()):
            for name, pos in refs(spec.expr):
                label = f"let.{let_name}"
                if name is None:
                    used.update(order[:i])
                    continue
                if name not in rule.lets:
                    yield _err(ctx.expr_loc(spec.expr, pos or 0), "unknown-value", f"{where(label)}: no named value {name!r}{_suggest(name, order, defined_text)}")
                elif order.index(name) >= i:
                    used.add(name) if name != let_name else None  # reported as misordered, not also as unused
                    what = "itself" if name == let_name else f"vars.{name}, which is computed after it"
                    defined = rule.let_locs.get(name)
                    at = f" (defined at line {defined.line})" if defined else ""
                    yield _err(ctx.expr_loc(spec.expr, pos or 0), "let-order", f"{where(label)} uses {what}{at}: values are computed in order ({', '.join(order)}), so a value may only use earlier ones (no cycles)")
                else:
                    used.add(name)
        for label, expr in _rule_expressions(rule):
            for name, pos in refs(expr):
                if name is None:
                    used.update(order)
                elif name in rule.lets:
                    used.add(name)
                else:
                    yield _err(ctx.expr_loc(expr, pos or 0), "unknown-value", f"{where(label)}: no named value {name!r}{_suggest(name, order, defined_text)}")
        for name in order:
            origin = rule.origins.get(f"let.{name}")
            if origin is not None:
                set_uses[(origin, name)] |= name in used
            elif name not in used:
                yield _warn(rule.let_locs.get(name) or rule.loc, "unused-value", f"rule {rule.name!r}: let {name!r} is never used (read it as vars.{name})")
    for (set_name, name), was_used in set_uses.items():
        if not was_used:
            fset = ctx.mapping.field_sets[set_name]
            yield _warn(fset.let_locs.get(name) or fset.loc, "unused-value", f"field set {set_name!r}: let {name!r} is used by no rule that extends it (read it as vars.{name})")
    for set_name, fset in ctx.mapping.field_sets.items():
        if set_name not in set_users:
            yield _warn(fset.loc, "unused-field-set", f"field set {set_name!r} is extended by no rule (add extends: [{set_name}] to a rule)")
