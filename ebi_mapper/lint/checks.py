"""The semantic checks of ``ebi-mapper lint``: a loaded mapping against the catalog.

Each check is a generator of :class:`Finding`; :func:`run_checks` collects them. Checks read the
model only, never payloads, so lint is static and fast (2,000 rules well under a second).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from functools import lru_cache
from typing import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..catalog.model import Catalog, EventDef, Param
from ..mapping.model import Expr, FieldSpec, Loc, Mapping, Rule
from .currencies import ISO_4217
from .findings import Finding

__all__ = ["CheckContext", "CHECKS", "run_checks"]

from ..expressions import BUILTIN_FUNCTIONS

_JMESPATH_BUILTINS = frozenset(BUILTIN_FUNCTIONS)


class CheckContext:
    """What the checks share: the mapping, the catalog, the known function names, compiled expressions."""

    def __init__(self, mapping: Mapping, catalog: Catalog, function_names: frozenset[str], guard_names=(), enricher_names=(), sink_names=()):
        self.mapping = mapping
        self.catalog = catalog
        self.function_names = function_names | _JMESPATH_BUILTINS
        self.guard_names = frozenset(guard_names)
        self.enricher_names = frozenset(enricher_names)
        self.sink_names = frozenset(sink_names)
        self.bad_exprs: set[int] = set()  # ids of Expr objects that failed to parse

    def rule_event(self, rule: Rule) -> EventDef | None:
        return self.catalog.events.get(rule.event)


def _err(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "error", code, message)


def _warn(loc: Loc, code: str, message: str) -> Finding:
    return Finding(loc, "warning", code, message)


def _suggest(name: str, candidates, hint_if_none: str = "", cutoff: float = 0.6) -> str:
    near = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"; did you mean {near[0]!r}?" if near else hint_if_none


def _all_exprs(mapping: Mapping) -> Iterator[tuple[str, Expr]]:
    """Every expression in the mapping with a label saying where it sits."""
    for rule in mapping.rules:
        for label, expr in (("when", rule.when), ("each", rule.each), ("currency", rule.currency)):
            if expr is not None:
                yield f"rule {rule.name!r} {label}", expr
        yield f"rule {rule.name!r} customer", rule.customer.expr
        yield f"rule {rule.name!r} timestamp", rule.timestamp.expr
        for key, spec in rule.context.items():
            yield f"rule {rule.name!r} context.{key}", spec.expr
    if mapping.bespoke:
        for rule in mapping.bespoke.rules:
            for label, expr in (("when", rule.when), ("each", rule.each)):
                if expr is not None:
                    yield f"bespoke {rule.name!r} {label}", expr
            yield f"bespoke {rule.name!r} customer", rule.customer.expr
            yield f"bespoke {rule.name!r} timestamp", rule.timestamp.expr
            for key, spec in rule.attributes.items():
                yield f"bespoke {rule.name!r} attributes.{key}", spec.expr


@lru_cache(maxsize=4096)
def _analyse(source: str):
    """Parse once per distinct expression text: (error or None, function calls, literal)."""
    from ..expressions import ExpressionSyntaxError, compile_expression, function_calls, literal_value

    try:
        compiled = compile_expression(source)
    except ExpressionSyntaxError as exc:
        return exc, (), (False, None)
    return None, tuple(function_calls(compiled.ast)), literal_value(compiled.ast)


def check_expressions(ctx: CheckContext) -> Iterator[Finding]:
    """JMESPath syntax (pointing into the expression), unknown function names, lookup tables."""
    for label, expr in _all_exprs(ctx.mapping):
        error, calls, _ = _analyse(expr.source)
        if error is not None:
            ctx.bad_exprs.add(id(expr))
            pos = error.position or 0
            loc = Loc(expr.loc.file, expr.loc.line, expr.loc.col + pos) if "\n" not in expr.source[:pos] else expr.loc
            yield _err(loc, "jmespath-syntax", f"{label}: {error.message} in {expr.source!r} at character {pos + 1}")
            continue
        for name, pos in calls:
            if name not in ctx.function_names:
                loc = Loc(expr.loc.file, expr.loc.line, expr.loc.col + pos)
                yield _err(loc, "unknown-function", f"{label}: unknown function {name}(){_suggest(name, ctx.function_names)}")
        if "lookup(" in expr.source:
            yield from _check_lookup_tables(ctx, label, expr)


def _check_lookup_tables(ctx: CheckContext, label: str, expr: Expr) -> Iterator[Finding]:
    import re

    for match in re.finditer(r"lookup\(\s*'([^']*)'", expr.source):
        table = match.group(1)
        if table not in ctx.mapping.tables:
            loc = Loc(expr.loc.file, expr.loc.line, expr.loc.col + match.start(1) - 1)
            yield _err(loc, "unknown-table", f"{label}: lookup table {table!r} is not declared under tables:{_suggest(table, ctx.mapping.tables)}")


def check_rule_names(ctx: CheckContext) -> Iterator[Finding]:
    """Rule names identify rejections and tests: they must be unique."""
    seen: dict[str, Rule] = {}
    for rule in ctx.mapping.rules:
        if rule.name in seen:
            yield _err(rule.loc, "duplicate-rule", f"rule name {rule.name!r} is already used at line {seen[rule.name].loc.line}")
        else:
            seen[rule.name] = rule


def check_events(ctx: CheckContext) -> Iterator[Finding]:
    """Unknown events, and events the mapping's vertical does not include."""
    vertical = ctx.catalog.verticals.get(ctx.mapping.vertical)
    for rule in ctx.mapping.rules:
        loc = rule.event_loc or rule.loc
        if rule.event not in ctx.catalog.events:
            yield _err(loc, "unknown-event", f"rule {rule.name!r}: unknown OOTB event {rule.event!r}{_suggest(rule.event, ctx.catalog.events)}")
        elif vertical is not None and rule.event not in vertical.events:
            yield _err(loc, "event-not-in-vertical", f"rule {rule.name!r}: {rule.event} is not an event of the {vertical.name} vertical (its events: {', '.join(vertical.events)})")


def check_context_keys(ctx: CheckContext) -> Iterator[Finding]:
    """Every context key must be a catalog param of the rule's event; bespoke keys go to ``bespoke:``."""
    for rule in ctx.mapping.rules:
        event = ctx.rule_event(rule)
        if event is None:
            continue
        for key in rule.context:
            if key in event.params:
                continue
            loc = rule.context_locs.get(key, rule.loc)
            if not key.startswith("ootb_"):
                yield _err(
                    loc,
                    "bespoke-in-ootb",
                    f"rule {rule.name!r}: {key!r} is not an OOTB param of {rule.event}; EBI takes only OOTB params. "
                    f"Send custom attributes through the bespoke: section (Data Studio / API attributes){_suggest('ootb_' + key, event.params, '', cutoff=0.85)}",
                )
            else:
                yield _err(loc, "unknown-param", f"rule {rule.name!r}: {key!r} is not a param of {rule.event}{_suggest(key, event.params)}")


def check_required_params(ctx: CheckContext) -> Iterator[Finding]:
    """Mandatory and PK params must be mapped; so must the params of the declared channels."""
    channels = set(ctx.mapping.channels)
    for rule in ctx.mapping.rules:
        event = ctx.rule_event(rule)
        if event is None:
            continue
        for param in event.params.values():
            if param.key in rule.context:
                continue
            if param.cls == "mandatory" or param.primary_key:
                kind = "primary-key" if param.primary_key else "mandatory"
                yield _err(rule.loc, "unmapped-mandatory", f"rule {rule.name!r}: {kind} param {param.key} of {rule.event} is not mapped")
            elif param.cls == "channel" and channels.intersection(param.channels):
                used = ", ".join(sorted(channels.intersection(param.channels)))
                yield _err(rule.loc, "unmapped-channel-param", f"rule {rule.name!r}: {param.key} is required for the {used} channel(s) this mapping declares, but is not mapped")


def check_enrichment_coverage(ctx: CheckContext) -> Iterator[Finding]:
    """One warning per event whose enrichment params are not all mapped, with the coverage."""
    by_event: dict[str, list[Rule]] = defaultdict(list)
    for rule in ctx.mapping.rules:
        if ctx.rule_event(rule) is not None:
            by_event[rule.event].append(rule)
    for event_key, rules in by_event.items():
        event = ctx.catalog.events[event_key]
        enrichment = [p.key for p in event.params.values() if p.cls == "enrichment"]
        if not enrichment:
            continue
        mapped = {k for r in rules for k in r.context}
        missing = [k for k in enrichment if k not in mapped]
        if missing:
            pct = 100 * (len(enrichment) - len(missing)) / len(enrichment)
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            yield _warn(rules[0].event_loc or rules[0].loc, "enrichment-coverage", f"{event_key}: {pct:.0f}% of enrichment params mapped ({len(enrichment) - len(missing)}/{len(enrichment)}); unmapped: {shown}")


def check_vertical_coverage(ctx: CheckContext) -> Iterator[Finding]:
    """Events the vertical expects that no rule produces (a warning: the client may add them later)."""
    vertical = ctx.catalog.verticals.get(ctx.mapping.vertical)
    if vertical is None:
        return
    produced = {r.event for r in ctx.mapping.rules}
    missing = [e for e in vertical.events if e not in produced]
    if missing:
        loc = ctx.mapping.locs.get("vertical") or ctx.mapping.locs.get("rules") or Loc(ctx.mapping.path, 1, 1)
        yield _warn(loc, "vertical-coverage", f"the {vertical.name} vertical expects events no rule produces: {', '.join(missing)}")


def check_currency(ctx: CheckContext) -> Iterator[Finding]:
    """Monetary params need the rule to say which currency the source amount is in."""
    for rule in ctx.mapping.rules:
        event = ctx.rule_event(rule)
        if event is None or rule.currency is not None:
            continue
        money = [k for k in rule.context if k in event.params and event.params[k].monetary]
        if money:
            yield _err(rule.loc, "monetary-without-currency", f"rule {rule.name!r} maps monetary param(s) {', '.join(money)} but has no currency: expression (EBI does not convert; the guard must check the source currency is {ctx.mapping.site_currency})")


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) or _numeric_string(v),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and v.strip().lstrip("-").isdigit()),
    "boolean": lambda v: isinstance(v, bool) or (isinstance(v, str) and v.lower() in ("true", "false", "yes", "no")),
    "yes_no": lambda v: isinstance(v, bool) or (isinstance(v, str) and v.lower() in ("yes", "no", "true", "false")),
    "timestamp": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
    "string_or_number": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
}


def _numeric_string(v: object) -> bool:
    if not isinstance(v, str):
        return False
    try:
        float(v)
    except ValueError:
        return False
    return True


def _check_literal(rule: Rule, key: str, spec: FieldSpec, param: Param, ctx: CheckContext) -> Iterator[Finding]:
    if id(spec.expr) in ctx.bad_exprs:
        return
    _, _, (is_literal, value) = _analyse(spec.expr.source)
    if not is_literal or value is None:
        return
    checker = _TYPE_CHECKS.get(param.type)
    if checker is not None and not checker(value):
        yield _err(spec.expr.loc, "literal-type", f"rule {rule.name!r}: {key} is a {param.type} but the literal {spec.expr.source} is not")
        return
    if param.allowed and isinstance(value, str) and value.lower() not in {a.lower() for a in param.allowed}:
        yield _err(spec.expr.loc, "literal-value", f"rule {rule.name!r}: {key} takes one of {', '.join(param.allowed)}, not {value!r}")
    if isinstance(value, str) and len(value) > param.max_length:
        yield _err(spec.expr.loc, "literal-length", f"rule {rule.name!r}: literal for {key} is {len(value)} characters; the limit is {param.max_length}")


def check_literals(ctx: CheckContext) -> Iterator[Finding]:
    """Literal values must fit the target param's type and allowed values."""
    for rule in ctx.mapping.rules:
        event = ctx.rule_event(rule)
        if event is None:
            continue
        for key, spec in rule.context.items():
            if key in event.params:
                yield from _check_literal(rule, key, spec, event.params[key], ctx)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_settings(ctx: CheckContext) -> Iterator[Finding]:
    """Time zone, currency code, channels, guards, enrichers and the bespoke route are known names."""
    m = ctx.mapping
    loc = m.locs.get
    if m.source_timezone not in _zones():
        try:
            ZoneInfo(m.source_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield _err(loc("source_timezone") or Loc(m.path, 1, 1), "timezone", f"source_timezone {m.source_timezone!r} is not an IANA time zone{_suggest(m.source_timezone, _zones())}")
    if m.site_currency not in ISO_4217:
        yield _err(loc("site_currency") or Loc(m.path, 1, 1), "currency-code", f"site_currency {m.site_currency!r} is not an ISO 4217 currency code{_suggest(m.site_currency.upper(), ISO_4217)}")
    known_channels = {c for e in ctx.catalog.events.values() for p in e.params.values() for c in p.channels}
    for channel in m.channels:
        if known_channels and channel not in known_channels:
            yield _err(loc("channels") or Loc(m.path, 1, 1), "unknown-channel", f"channel {channel!r} is not one the catalog knows ({', '.join(sorted(known_channels))})")
    for name in m.guards:
        if ctx.guard_names and name not in ctx.guard_names:
            yield _err(loc("guards") or Loc(m.path, 1, 1), "unknown-guard", f"guard {name!r} is not registered{_suggest(name, ctx.guard_names)}")
    for name, _ in m.enrichers:
        if name not in ctx.enricher_names:
            yield _err(loc("enrichers") or Loc(m.path, 1, 1), "unknown-enricher", f"enricher {name!r} is not registered{_suggest(name, ctx.enricher_names)}")
    if m.bespoke is not None and m.bespoke.route != "drop" and ctx.sink_names and m.bespoke.route not in ctx.sink_names:
        yield _err(m.bespoke.loc or Loc(m.path, 1, 1), "unknown-route", f"bespoke route {m.bespoke.route!r} is not a registered sink{_suggest(m.bespoke.route, ctx.sink_names)}")
    if m.bespoke is not None:
        for rule in m.bespoke.rules:
            for key in rule.attributes:
                if key.startswith("ootb_"):
                    yield _err(rule.loc, "ootb-in-bespoke", f"bespoke {rule.name!r}: {key!r} looks like an OOTB param; map it in an OOTB rule instead")


CHECKS: tuple[Callable[[CheckContext], Iterator[Finding]], ...] = (
    check_expressions,
    check_rule_names,
    check_events,
    check_context_keys,
    check_required_params,
    check_enrichment_coverage,
    check_vertical_coverage,
    check_currency,
    check_literals,
    check_settings,
)


def run_checks(ctx: CheckContext) -> list[Finding]:
    """Run every check; findings come back in file order."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(ctx))
    return findings
