"""The semantic checks of ``ebi-mapper lint``: a loaded mapping against the catalog.

Each check is a generator of :class:`Finding`; :func:`run_checks` collects them. Checks read the
model only, never payloads, so lint is static and fast (2,000 rules well under a second).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jmespath.functions import Functions

from ..catalog.model import Catalog, EventDef, Param
from ..expressions import BUILTIN_FUNCTIONS
from ..mapping.model import Expr, Loc, Mapping, Rule
from .basics import Facts as _Facts
from .basics import analyse as _analyse
from .basics import err as _err
from .basics import suggest as _suggest
from .basics import warn as _warn
from .currencies import ISO_4217
from .findings import Finding
from .named_values import check_named_values

__all__ = ["CheckContext", "CHECKS", "run_checks"]

_JMESPATH_BUILTINS = frozenset(BUILTIN_FUNCTIONS)
_JMESPATH_TABLE = Functions.FUNCTION_TABLE  # jmespath's own signatures, for arity and literal types


class CheckContext:
    """What the checks share: the mapping, the catalog, the registered names, and where things are written."""

    def __init__(self, mapping: Mapping, catalog: Catalog, function_names: frozenset[str], guard_names=(), enricher_names=(), sink_names=(), doc=None, functions=None,
                 broken: frozenset[str] = frozenset(), why_missing: Callable[[str, str], str | None] = lambda kind, name: None):
        self.mapping = mapping
        # (kind, name) -> why a name is not registered when a disabled plugin had it (Registry.why_missing)
        self.why_missing = why_missing
        self.functions = dict(functions or {})  # name -> FunctionDef of the registered extras: arity and types
        self.broken = broken  # top-level parts of the file that did not load (format errors)
        self.doc = doc  # the LocatedDocument the mapping was read from, for exact locations (optional)
        self.catalog = catalog
        self.function_names = function_names | _JMESPATH_BUILTINS
        self.guard_names = frozenset(guard_names)
        self.enricher_names = frozenset(enricher_names)
        self.sink_names = frozenset(sink_names)
        self.bad_exprs: set[int] = set()  # ids of Expr objects that failed to parse

    def loaded(self, part: str) -> bool:
        """Whether the top-level part ``part`` loaded whole (a check that depends on it skips if not)."""
        return part not in self.broken

    def rule_event(self, rule: Rule) -> EventDef | None:
        return self.catalog.events.get(rule.event)

    def expr_loc(self, expr: Expr, offset: int) -> Loc:
        """Where character ``offset`` of an expression is written (inside quotes, escapes, blocks)."""
        if self.doc is not None:
            return self.doc.text_loc_at(expr.loc, offset)
        return Loc(expr.loc.file, expr.loc.line, expr.loc.col + offset)

    def value_loc(self, path: tuple, fallback: Loc | None = None) -> Loc:
        """The location of the value written at ``path`` (a key path into the file)."""
        if self.doc is not None and self.doc.has(path):
            return self.doc.loc(path)
        return fallback or self.mapping.locs.get(path[0]) or Loc(self.mapping.path, 1, 1)

    def key_loc(self, path: tuple, fallback: Loc | None = None) -> Loc:
        """The location of the key that introduces ``path``."""
        if self.doc is not None and self.doc.has(path):
            return self.doc.key_loc(path)
        return fallback or self.mapping.locs.get(path[0]) or Loc(self.mapping.path, 1, 1)


def _all_exprs(mapping: Mapping) -> Iterator[tuple[str, Expr]]:
    """Every expression in the mapping with a label saying where it sits."""
    for rule in mapping.rules:
        for label, expr in (("when", rule.when), ("each", rule.each), ("each.inner", rule.each_inner), ("currency", rule.currency), ("version", rule.version)):
            if expr is not None:
                yield f"rule {rule.name!r} {label}", expr
        for name, spec in rule.lets.items():
            yield f"rule {rule.name!r} let.{name}", spec.expr
        yield f"rule {rule.name!r} customer", rule.customer.expr
        yield f"rule {rule.name!r} timestamp", rule.timestamp.expr
        for key, spec in rule.context.items():
            yield f"rule {rule.name!r} context.{key}", spec.expr
    if mapping.bespoke:
        for brule in mapping.bespoke.rules:
            for label, expr in (("when", brule.when), ("each", brule.each), ("each.inner", brule.each_inner)):
                if expr is not None:
                    yield f"bespoke {brule.name!r} {label}", expr
            yield f"bespoke {brule.name!r} customer", brule.customer.expr
            yield f"bespoke {brule.name!r} timestamp", brule.timestamp.expr
            for key, spec in brule.attributes.items():
                yield f"bespoke {brule.name!r} attributes.{key}", spec.expr


def _signature(name: str, ctx: CheckContext) -> tuple[list[list[str]], bool] | None:
    """``(types per argument, variadic)`` of a function lint knows; ``[]`` types accept anything."""
    fdef = ctx.functions.get(name)
    if fdef is not None:
        types = [[] if (fdef.lazy or "any" in t) else list(t) for t in fdef.signature]
        return types, fdef.variadic
    spec = _JMESPATH_TABLE.get(name)
    if spec is None:
        return None
    entries = spec["signature"]
    return [list(e.get("types") or []) for e in entries], bool(entries) and bool(entries[-1].get("variadic"))


def _call_problems(facts: _Facts, ctx: CheckContext) -> Iterator[tuple[int | None, str, str]]:
    """``(offset, code, message)`` for calls with the wrong number of arguments or a literal of a refused type."""
    for name, pos, count, literal_types in facts.arguments:
        known = _signature(name, ctx)
        if known is None:
            continue
        types, variadic = known
        if variadic and count < len(types):
            yield pos, "function-arity", f"{name}() takes at least {len(types)} argument{'s' * (len(types) != 1)}, got {count}"
            continue
        if not variadic and count != len(types):
            yield pos, "function-arity", f"{name}() takes {len(types)} argument{'s' * (len(types) != 1)}, got {count}"
            continue
        for i, (accepted, given) in enumerate(zip(types, literal_types, strict=False)):  # variadic: extra args unchecked
            if given is not None and accepted and given not in accepted and not (given == "array" and any(t.startswith("array") for t in accepted)):
                yield pos, "function-type", f"{name}() argument {i + 1} is a {given} literal, but takes {' or '.join(accepted)}"


def _fails_always(source: str) -> bool:
    """The expression is a bare ``fail(...)`` call: nothing can skip it."""
    from ..expressions import parse_expression

    ast = parse_expression(source)
    return ast.get("type") == "function_expression" and ast.get("value") == "fail"


def check_expressions(ctx: CheckContext) -> Iterator[Finding]:
    """JMESPath syntax (pointing into the expression), unknown function names, lookup tables."""
    for label, expr in _all_exprs(ctx.mapping):
        facts = _analyse(expr.source)
        if facts.error is not None:
            error = facts.error
            ctx.bad_exprs.add(id(expr))
            pos = error.position or 0
            yield _err(ctx.expr_loc(expr, pos), "jmespath-syntax", f"{label}: {error.message} in {expr.source!r} at character {pos + 1}")
            continue
        for name, pos in facts.calls:
            if name not in ctx.function_names and ctx.loaded("plugins"):  # broken plugins: names unknown
                why = ctx.why_missing("functions", name)
                yield _err(ctx.expr_loc(expr, pos or 0), "unknown-function",
                           f"{label}: {why}" if why else f"{label}: unknown function {name}(){_suggest(name, ctx.function_names)}")
            elif name == "fail" and _fails_always(expr.source):
                yield _err(ctx.expr_loc(expr, pos or 0), "unconditional-fail",
                           f"{label}: fail() is the whole expression, so every record reaching it is rejected; guard it: cond && fail('why')")
        for pos, code, message in _call_problems(facts, ctx):
            yield _err(ctx.expr_loc(expr, pos or 0), code, f"{label}: {message}")
        for table, pos in facts.tables:
            if table not in ctx.mapping.tables and ctx.loaded("tables"):
                yield _err(
                    ctx.expr_loc(expr, pos),
                    "unknown-table",
                    f"{label}: lookup table {table!r} is not declared under tables:{_suggest(table, ctx.mapping.tables)}",
                )


def check_rule_names(ctx: CheckContext) -> Iterator[Finding]:
    """Rule names identify rejections and tests: they must be unique."""
    seen: dict[str, Loc] = {}
    for i, rule in enumerate(ctx.mapping.rules):
        loc = ctx.value_loc(("rules", i, "name"), rule.loc)
        if rule.name in seen:
            yield _err(loc, "duplicate-rule", f"rule name {rule.name!r} is already used at line {seen[rule.name].line}")
        else:
            seen[rule.name] = loc


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
    """Mandatory and PK params must be mapped; so must the params of the declared channels.

    A partial profile update (choice ``profile_deltas``) may leave channel params out: they are
    completed from the customer's last known profile (engine/profiles.py). Only a channel param
    no profile rule maps at all is worth a warning: it could never be known.
    """
    from ..engine.profiles import delta_settings

    channels = set(ctx.mapping.channels)
    profile_events, completable, _ = delta_settings(ctx.catalog)
    known = {k for r in ctx.mapping.rules if r.event in profile_events for k in r.context}
    for i, rule in enumerate(ctx.mapping.rules):
        event = ctx.rule_event(rule)
        if event is None:
            continue
        # point at `context:`, where the param is to be added (the rule itself when it has none)
        loc = ctx.key_loc(("rules", i, "context"), rule.loc) if rule.context else rule.loc
        for param in event.params.values():
            if param.key in rule.context:
                continue
            if param.cls == "mandatory" or param.primary_key:
                kind = "primary-key" if param.primary_key else "mandatory"
                yield _err(loc, "unmapped-mandatory", f"rule {rule.name!r}: {kind} param {param.key} of {rule.event} is not mapped")
            elif param.cls == "channel" and channels.intersection(param.channels):
                used = ", ".join(sorted(channels.intersection(param.channels)))
                if rule.event in completable:
                    if param.key not in known:
                        yield _warn(loc, "profile-param-never-known", f"rule {rule.name!r}: {param.key} is required for the {used} channel(s) and is completed from the customer's last known profile, but no rule maps it, so it is never known (see partial_profiles)")
                    continue
                yield _err(loc, "unmapped-channel-param", f"rule {rule.name!r}: {param.key} is required for the {used} channel(s) this mapping declares, but is not mapped")


def check_enrichment_coverage(ctx: CheckContext) -> Iterator[Finding]:
    """One warning per event whose enrichment params are not all mapped, with the coverage."""
    if not ctx.loaded("rules"):  # a rule left out might map what looks unmapped
        return
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
    if vertical is None or not ctx.loaded("rules"):  # a rule left out might produce what looks missing
        return
    produced = {r.event for r in ctx.mapping.rules}
    missing = [e for e in vertical.events if e not in produced]
    if missing:
        loc = ctx.value_loc(("vertical",))
        yield _warn(loc, "vertical-coverage", f"the {vertical.name} vertical expects events no rule produces: {', '.join(missing)}")


def check_currency(ctx: CheckContext) -> Iterator[Finding]:
    """Monetary params need the rule to say which currency the source amount is in."""
    for rule in ctx.mapping.rules:
        event = ctx.rule_event(rule)
        if event is None or rule.currency is not None:
            continue
        money = [k for k in rule.context if k in event.params and event.params[k].monetary]
        if money:
            # there is no currency: line to point at, so point at the first amount that needs one
            yield _err(rule.context_locs.get(money[0], rule.loc), "monetary-without-currency", f"rule {rule.name!r} maps monetary param(s) {', '.join(money)} but has no currency: expression (EBI does not convert; the guard must check the source currency is {ctx.mapping.site_currency or 'the site currency'})")


# Words of a key name (snake_case or camelCase) that say an amount is in minor units
# (amount_cents, totalMinor, in_minor_units, value_pence), or that a time is UTC or local.
_MINOR_WORDS = frozenset({"cent", "cents", "pence", "penny", "pennies", "minor"})
_UTC_WORDS = frozenset({"utc", "gmt", "z"})
_LOCAL_WORDS = frozenset({"local"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _words(key: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(key))


# Calls that convert minor units (or scale by hand) and calls that fix the zone of a naive time.
_SCALES = frozenset({"minor_to_major", "divide", "multiply"})
_ZONED = frozenset({"to_utc", "parse_time", "from_epoch_seconds", "from_epoch_millis", "from_epoch_micros"})


def _named_paths(source: str, words: frozenset[str]) -> list[str]:
    """The dotted paths the expression reads with a key name containing one of ``words``."""
    from ..expressions import field_paths

    try:
        paths = field_paths(source)
    except Exception:  # noqa: BLE001 - a syntax error is reported by check_expressions
        return []
    return [".".join(str(step) for step in path if step not in ("[]", "*")) for path in paths if any(isinstance(step, str) and _words(step) & words for step in path)]


def _at_text(ctx: CheckContext, expr: Expr, text: str) -> Loc:
    """Where ``text`` (or else the expression) is written."""
    offset = expr.source.find(text)
    return ctx.expr_loc(expr, offset) if offset >= 0 else expr.loc


def check_units(ctx: CheckContext) -> Iterator[Finding]:
    """Hints for unit mistakes that map cleanly and so no test or guard can see.

    A monetary param read from a path named like minor units (``amount_cents``, ``total_minor``)
    with no ``minor_to_major`` sends amounts 100 times too big. A time read from a path named like
    UTC (``created_at_utc``) while ``source_timezone`` is a local zone is shifted by the zone's
    offset if it comes without one; one named like local time (``local_time``) read with
    ``source_timezone`` UTC (the default) likewise. Names are only hints: these are warnings.
    """
    m = ctx.mapping
    local_zone = m.source_timezone not in ("UTC", "Etc/UTC", "Z")
    for rule in m.rules:
        event = ctx.rule_event(rule)
        times: list[tuple[str, Expr]] = [("timestamp", rule.timestamp.expr)]
        for key, spec in rule.context.items():
            param = event.params.get(key) if event else None
            if param is None or id(spec.expr) in ctx.bad_exprs:
                continue
            if param.type == "timestamp":
                times.append((key, spec.expr))
            if param.monetary and not {name for name, _ in _analyse(spec.expr.source).calls} & _SCALES:
                for path in _named_paths(spec.expr.source, _MINOR_WORDS)[:1]:
                    yield _warn(
                        _at_text(ctx, spec.expr, path),
                        "minor-units",
                        f"rule {rule.name!r}: {key} is an amount in major units (12.34) but {path!r} is named like minor units (cents); "
                        f"if it is, write minor_to_major({path}, `2`) (the exponent of the currency)",
                    )
        for key, expr in times:
            if id(expr) in ctx.bad_exprs or {name for name, _ in _analyse(expr.source).calls} & _ZONED:
                continue
            for path in _named_paths(expr.source, _UTC_WORDS if local_zone else _LOCAL_WORDS)[:1]:
                if local_zone:
                    yield _warn(
                        _at_text(ctx, expr, path),
                        "zone-name",
                        f"rule {rule.name!r}: {key} reads {path!r}, named like a UTC time, but times without an offset are read in "
                        f"source_timezone {m.source_timezone}; if it is UTC without an offset, write to_utc({path}, 'UTC')",
                    )
                else:
                    yield _warn(
                        _at_text(ctx, expr, path),
                        "zone-name",
                        f"rule {rule.name!r}: {key} reads {path!r}, named like a local time, but times without an offset are read "
                        f"as UTC (source_timezone {m.source_timezone}); declare the source's zone (source_timezone: Europe/Malta) "
                        f"or write to_utc({path}, '<zone>')",
                    )


def _coercion_problem(value: Any, param: Param, ctx: CheckContext) -> str | None:
    """Why the engine would refuse ``value`` for ``param`` (its own coercer decides), or None."""
    from ..engine.coerce import CoercionError, make_coercer
    from ..errors import EbiMapperError

    try:
        make_coercer(param, ctx.mapping.source_timezone, ctx.mapping.dst)(value)
    except CoercionError as exc:
        return str(exc)
    except EbiMapperError:  # an unknown zone or dst policy: reported by check_settings
        return None
    return None


def _check_constant(rule: Rule, key: str, value: Any, loc: Loc, param: Param, ctx: CheckContext, what: str) -> Iterator[Finding]:
    """A constant (a literal expression or a ``default:``) must survive the engine's coercion."""
    if value is None:
        return
    if isinstance(value, str) and len(value) > param.max_length:
        yield _err(loc, "literal-length", f"rule {rule.name!r}: {what} for {key} is {len(value)} characters; the limit is {param.max_length}")
        return
    if param.allowed:
        base = replace(param, allowed=None)
        problem = _coercion_problem(value, base, ctx)
        if problem is None:
            if _coercion_problem(value, param, ctx) is not None:
                yield _err(loc, "literal-value", f"rule {rule.name!r}: {key} takes one of {', '.join(param.allowed)}, not {value!r}")
            return
    else:
        problem = _coercion_problem(value, param, ctx)
    if problem is not None:
        article = "an" if param.type[0] in "aeiou" else "a"
        yield _err(loc, "literal-type", f"rule {rule.name!r}: {key} is {article} {param.type} but the {what} {value!r} is not ({problem})")


def check_literals(ctx: CheckContext) -> Iterator[Finding]:
    """Constants (literal expressions, ``{value: ...}``, ``default:``) must fit the target param."""
    for i, rule in enumerate(ctx.mapping.rules):
        event = ctx.rule_event(rule)
        if event is None:
            continue
        for key, spec in rule.context.items():
            param = event.params.get(key)
            if param is None:
                continue
            if id(spec.expr) not in ctx.bad_exprs:
                is_literal, value = _analyse(spec.expr.source).literal
                if is_literal:
                    yield from _check_constant(rule, key, value, spec.expr.loc, param, ctx, "constant")
            if spec.has_default:
                loc = ctx.value_loc(("rules", i, "context", key, "default"), spec.loc)
                yield from _check_constant(rule, key, spec.default, loc, param, ctx, "default")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_settings(ctx: CheckContext) -> Iterator[Finding]:
    """Time zone, currency code, channels, guards, enrichers and the bespoke route are known names."""
    m = ctx.mapping
    if m.source_timezone not in _zones():
        try:
            ZoneInfo(m.source_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            yield _err(ctx.value_loc(("source_timezone",)), "timezone", f"source_timezone {m.source_timezone!r} is not an IANA time zone{_suggest(m.source_timezone, _zones())}")
    if ctx.loaded("site_currency") and m.site_currency not in ISO_4217:
        yield _err(ctx.value_loc(("site_currency",)), "currency-code", f"site_currency {m.site_currency!r} is not an ISO 4217 currency code{_suggest(m.site_currency.upper(), ISO_4217)}")
    known_channels = {c for e in ctx.catalog.events.values() for p in e.params.values() for c in p.channels}
    for i, channel in enumerate(m.channels):
        if known_channels and channel not in known_channels:
            yield _err(ctx.value_loc(("channels", i)), "unknown-channel", f"channel {channel!r} is not one the catalog knows ({', '.join(sorted(known_channels))}){_suggest(channel, known_channels)}")
    if m.bespoke is not None:
        for i, rule in enumerate(m.bespoke.rules):
            for key in rule.attributes:
                if key.startswith("ootb_"):
                    yield _err(
                        ctx.key_loc(("bespoke", "rules", i, "attributes", key), rule.loc),
                        "ootb-in-bespoke",
                        f"bespoke {rule.name!r}: {key!r} looks like an OOTB param; map it in an OOTB rule instead",
                    )
    if not ctx.loaded("plugins"):
        return  # guards, enrichers and routes may come from the plugins that did not load
    for name in m.guards:
        why = ctx.why_missing("guards", name)
        if why and name not in ctx.guard_names:
            yield _err(ctx.key_loc(("guards", name)), "unknown-guard", why)
        elif ctx.guard_names and name not in ctx.guard_names:
            yield _err(ctx.key_loc(("guards", name)), "unknown-guard", f"guard {name!r} is not registered{_suggest(name, ctx.guard_names)}")
    for i, (name, _) in enumerate(m.enrichers):
        if name not in ctx.enricher_names:
            why = ctx.why_missing("enrichers", name)
            yield _err(ctx.value_loc(("enrichers", i, "name")), "unknown-enricher", why or f"enricher {name!r} is not registered{_suggest(name, ctx.enricher_names)}")
    route = m.bespoke.route if m.bespoke is not None else "drop"
    why = ctx.why_missing("sinks", route) if route != "drop" and route not in ctx.sink_names else None
    if why and m.bespoke is not None:
        yield _err(ctx.value_loc(("bespoke", "route"), m.bespoke.loc), "unknown-route", f"bespoke route {route!r}: {why}")
    elif m.bespoke is not None and m.bespoke.route != "drop" and ctx.sink_names and m.bespoke.route not in ctx.sink_names:
        yield _err(
            ctx.value_loc(("bespoke", "route"), m.bespoke.loc),
            "unknown-route",
            f"bespoke route {m.bespoke.route!r} is not a registered bespoke sink ({', '.join(sorted(ctx.sink_names))}, or drop){_suggest(m.bespoke.route, ctx.sink_names)}",
        )


CHECKS: tuple[Callable[[CheckContext], Iterator[Finding]], ...] = (
    check_expressions,
    check_rule_names,
    check_events,
    check_context_keys,
    check_required_params,
    check_enrichment_coverage,
    check_vertical_coverage,
    check_currency,
    check_units,
    check_literals,
    check_settings,
    check_named_values,
)


def run_checks(ctx: CheckContext) -> list[Finding]:
    """Run every check; findings come back in file order."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(ctx))
    return findings
