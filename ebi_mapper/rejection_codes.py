"""The one table of rejection codes, filter reasons and their messages.

Every :class:`~ebi_mapper.outcomes.Rejection` and :class:`~ebi_mapper.outcomes.Filtered` the
code base produces is built from an entry here: the input reader (engine/jsonl/decode.py), the
reference interpreter (engine/mapper.py), the generated code of the fast path (engine/fast/,
which writes each message as a Python expression with :func:`message_source`), the built-in
guards (default_plugins/guards.py), the schema validator, versions and profiles. So a message
is written once and the paths cannot drift apart; the differential tests
(tests/engine/test_fast_path_differential.py) still compare the two engine paths' output.

A code may have several message *variants* (``missing_mandatory`` for a field that produced
nothing and for a param the rule does not map); each is a :meth:`str.format` template over named
parameters. A template may also name the rejection's own fields (``{event}``, ``{expression!r}``).

tests/test_rejection_codes.py proves the claims: every code the code base emits is in the
table (an AST scan), every entry is documented in docs/rejections.md (generated from this
table by :func:`markdown_table`), and a message written by :func:`message_source` equals
:func:`message` for the same values (a Hypothesis property).

Plugins may emit their own codes (a plugin's guard is free to); the table is the code base's.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .outcomes import Filtered, Rejection

__all__ = ["CODES", "RejectionCode", "Source", "filtered", "markdown_table", "message", "message_source", "rejection"]


@dataclass(frozen=True)
class RejectionCode:
    """One code: what it means, where it comes from, and its message template(s)."""

    code: str
    stage: str  # input | mapping | guard | validation | delivery
    doc: str
    templates: Mapping[str, str]  # variant -> str.format template; "" is the default variant
    kind: str = "rejection"  # or "filter": a Filtered reason (counted, never sent, not an error)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # template parameters that may be left out


def _code(code: str, stage: str, doc: str, template: str | Mapping[str, str], *, kind: str = "rejection", **defaults: Any) -> RejectionCode:
    templates = {"": template} if isinstance(template, str) else dict(template)
    return RejectionCode(code, stage, doc, templates, kind, defaults)


_TABLE = [
    # -- input: a line that is not one JSON object (engine/jsonl/decode.py) ----------------------------
    _code("decode", "input", "The line is not valid JSON, or not valid UTF-8; the reason is the decoder's.",
          {"utf8": "invalid UTF-8: {reason}", "json": "malformed JSON: {reason}"}),
    _code("too_deep", "input", "The line nests arrays/objects deeper than the limit (64): a bomb or a bug.",
          "JSON nested deeper than {max_depth} levels"),
    _code("too_large", "input", "The line is longer than the limit (1 MiB); its head is kept for the report.",
          "line is {total:,} bytes; the limit is {limit:,}"),
    _code("not_object", "input", "The line is valid JSON but not one object (an array, a scalar): one event per line.",
          "the line is {what}, not a JSON object{hint}", hint=""),
    # -- mapping: the rule's fields (engine/mapper.py and its generated twin) --------------------
    _code("expression_error", "mapping", "An expression raised while evaluating (a function refused a value, fail()).",
          "{label}: {reason}{where}", where=""),
    _code("missing_customer", "mapping", "The customer expression produced nothing or null.",
          "customer id is required but {expression!r} produced {what}"),
    _code("missing_timestamp", "mapping", "The event-time expression produced nothing or null (the clock is never used).",
          "the event time is required (never taken from the clock) but {expression!r} produced {what}"),
    _code("bad_timestamp", "mapping", "The event time could not be read as a time.",
          "timestamp: {reason}"),
    _code("coerce_failed", "mapping", "A value cannot become the catalog type of its param (or a bespoke attribute is not a scalar).",
          "{name}: {reason}"),
    _code("missing_mandatory", "mapping", "A mandatory, primary-key or declared-channel param produced nothing, or the rule does not map it.",
          {"": "{name} is required by {event} but {expression!r} produced nothing",
           "unmapped": "{name} is required by {event} but the rule does not map it"}),
    _code("null_mandatory", "mapping", "A mandatory param's source value is an explicit null.",
          "{name} is required by {event} but the source value is null"),
    _code("null_value", "mapping", "A null where the null policy is `reject`.",
          "{name} is null and the null policy for it is 'reject'"),
    _code("each_not_array", "mapping", "An `each` expression produced something other than an array.",
          "{label}: {expression!r} produced {what}{where}, expected an array", where=""),
    _code("missing_version", "mapping", "The rule's `version:` expression produced nothing or null.",
          "the rule orders versions by {expression!r}, which produced {what}"),
    _code("bad_version", "mapping", "The rule's `version:` value cannot be ordered (not a number, time or version text).",
          "version: {reason}"),
    _code("rule_failed", "mapping", "A rule raised something that is not a mapping outcome (a function's or plugin's bug).",
          "rule {name!r} raised {error_type}: {error}"),
    _code("enricher_failed", "mapping", "An enricher raised.",
          "enricher {name!r} raised {error_type}: {error}"),
    _code("enricher_unknown_param", "mapping", "An enricher set a key that is not a param of the event.",
          "an enricher set {name!r}, which is not a param of {event}"),
    # -- guards (default_plugins/guards.py, inlined by engine/fast/guards.py) ---------------------
    _code("guard_failed", "guard", "A guard raised.",
          "guard {name!r} raised {error_type}: {error}"),
    _code("currency_missing", "guard", "Money is mapped but the rule says no currency, or its currency expression gave none.",
          {"": "monetary param(s) {params} mapped without a currency: expression; EBI needs amounts in {site}",
           "empty": "the rule's currency expression produced {currency!r}; cannot tell the amount is in {site}"}),
    _code("currency_mismatch", "guard", "The amount is in another currency than the site's; EBI does not convert.",
          "amount is in {currency} but the site currency is {site}; EBI does not convert (use an explicit conversion plugin if agreed)"),
    _code("string_too_long", "guard", "A string is longer than Optimove's limit (255 by default).",
          "{name} is {length} characters; the limit is {limit}"),
    _code("future_timestamp", "guard", "The event time is too far ahead of the run's clock: usually a time-zone bug.",
          "event time {timestamp} is {ahead:.0f} s ahead of now (limit {seconds:.0f} s): is the source time zone right?"),
    # -- validation: the event against its JSON Schema (schemas/, engine/validate.py) -----------
    _code("schema", "validation", "The event breaks its JSON Schema; the reason names the field and the rule broken.",
          "{reason}"),
    _code("event_not_in_vertical", "validation", "The event is not one of the vertical's OOTB events.",
          "{reason}"),
    _code("validator_disagreement", "validation", "The compiled validator refused an event jsonschema accepts: kept out (fail closed).",
          "compiled validator refused an event jsonschema accepts"),
    # -- delivery (`run`) -------------------------------------------------------------------------
    _code("profile_unknown", "delivery", "A partial profile update lacks channel params and no earlier profile is known (partial_profiles: reject).",
          "{params} required by {event} (channels) but this update does not carry {pronoun} and no earlier event of "
          "customer {customer!r} is known (cold start); partial_profiles: reject"),
    _code("version_incomparable", "delivery", "A version cannot be ordered against the one already seen for the PK (different kinds).",
          "version {version} cannot be ordered after the version {known} already seen for this {event} (different kinds)"),
    _code("internal_error", "delivery", "The mapper itself raised (an engine bug): the record is rejected, the run goes on.",
          "the mapper raised {error_type}: {error}"),
    # -- filters: deliberately not sent (Filtered.reason) -----------------------------------------
    _code("no_rule", "mapping", "No rule's `when` matched the record.", "no rule's `when` matched", kind="filter"),
    _code("empty_each", "mapping", "An `each` array is empty: nothing to send.",
          "{label}: {expression!r} produced an empty array{where}", kind="filter", where=""),
    _code("pre_go_live", "guard", "The event time is before the mapping's `go_live`: EBI has no history.",
          {"": "event time {timestamp} is before go_live {go_live}", "bespoke": "event time {timestamp} is before go_live"},
          kind="filter"),
]

CODES: Mapping[str, RejectionCode] = {c.code: c for c in _TABLE}
_FIELDS = ("rule", "event", "field", "expression", "value", "source")


def _template(code: str, variant: str) -> tuple[RejectionCode, str]:
    entry = CODES[code]  # an unknown code is a bug in the caller: KeyError names it
    return entry, entry.templates[variant]


def message(code: str, variant: str = "", /, **params: Any) -> str:
    """The one-line message of ``code`` (and ``variant``) with ``params`` filled in."""
    entry, template = _template(code, variant)
    return template.format(**{**entry.defaults, **params}) if entry.defaults else template.format(**params)


def rejection(code: str, variant: str = "", /, *, rule: str = "", event: str = "", field: str = "", expression: str = "",
              value: Any = None, source: str = "", **params: Any) -> Rejection:
    """A :class:`Rejection` of ``code`` whose message is the table's template.

    The template may name the rejection's own fields (``{event}``, ``{expression!r}``) besides ``params``.
    """
    text = message(code, variant, rule=rule, event=event, field=field, expression=expression, value=value, source=source, **params)
    return Rejection(code, text, rule, event, field, expression, value, source)


def filtered(reason: str, variant: str = "", /, *, rule: str = "", event: str = "", **params: Any) -> Filtered:
    """A :class:`Filtered` of ``reason`` whose detail is the table's template."""
    assert CODES[reason].kind == "filter", reason
    return Filtered(reason, rule, event, message(reason, variant, rule=rule, event=event, **params))


@dataclass(frozen=True)
class Source:
    """A parameter of :func:`message_source` known only at run time: the Python expression that computes it."""

    expr: str


def message_source(code: str, variant: str = "", /, **params: Any) -> str:
    """The message as a Python expression, for generated code (engine/fast/).

    Parameters given as :class:`Source` are computed by the generated code; the others are
    formatted now, once, at compile time. ``eval`` of the result with those values equals
    :func:`message` (tests/test_rejection_codes.py).
    """
    entry, template = _template(code, variant)
    params = {**entry.defaults, **params}
    parts: list[str] = []
    text = ""
    for literal, name, spec, conversion in string.Formatter().parse(template):
        text += literal
        if name is None:
            continue
        value = params[name]
        if not isinstance(value, Source):
            text += format(repr(value) if conversion == "r" else str(value) if conversion == "s" else value, spec or "")
            continue
        if text:
            parts.append(repr(text))
            text = ""
        inner = f"repr({value.expr})" if conversion == "r" else value.expr
        parts.append(f"format({inner}, {spec!r})" if spec else f"str({inner})")
    if text or not parts:
        parts.append(repr(text))
    return " + ".join(parts) if len(parts) == 1 else "(" + " + ".join(parts) + ")"


def markdown_table() -> str:
    """docs/rejections.md's table of every code (tests/test_rejection_codes.py keeps the page in step)."""
    lines = ["| code | kind | stage | meaning | message |", "|---|---|---|---|---|"]
    for c in _TABLE:
        shown = "<br>".join(f"`` {t} ``" for t in c.templates.values())
        lines.append(f"| `{c.code}` | {c.kind} | {c.stage} | {c.doc} | {shown} |")
    return "\n".join(lines) + "\n"
