"""Which values the generated code can write, and when that alone proves an event schema-valid.

The generated runner (:mod:`.codegen`) writes each envelope and context value on one of a few
branches: an inline test passed (``type(v) is str and len(v) <= 255``), a coercer returned, a
literal was folded at compile time, the event time was formatted. Each branch has a
:class:`Guarantee` about what it wrote. When, for every branch a rule has, the guarantee
:meth:`~Guarantee.proves` the schema fragment of the param it writes, and the schema's skeleton
(required keys, no extra keys) is met by construction (:func:`prove_skeleton`), checking the
finished event with a validator would only ever say "valid", so the runner skips it. A branch
whose guarantee proves nothing sets a flag, and an event that took such a branch is validated
as before: by ``jsonschema_rs``, and by ``jsonschema`` for the reasons.

Nothing here is taken on trust: tests/engine/test_conformance.py checks, with Hypothesis, that
each coercer's and each inline test's output holds its guarantee, that every value holding a
guarantee is valid under ``jsonschema`` for every catalog fragment the guarantee proves, and that
the fast path and the reference interpreter (which validates every event) still agree.

:meth:`Guarantee.proves` is deliberately narrow: it knows the handful of keywords the bundled
schemas use (``type``, ``minLength``, ``maxLength``, ``enum``, ``pattern``) and answers False
for anything else, so a schema it does not understand is always validated at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from jsonschema import Draft202012Validator

from ...catalog import load_catalog
from ...catalog.model import Param

__all__ = [
    "Boolean",
    "Either",
    "Guarantee",
    "Integer",
    "Number",
    "OneOf",
    "Text",
    "TimeText",
    "coercer_guarantee",
    "envelope_fragment",
    "inline_guarantee",
    "non_empty",
    "prove_skeleton",
]

_INT_MIN, _INT_MAX = -(2**63), 2**64  # coerce.py's 64-bit range
_ANNOTATIONS = frozenset({"description", "title", "$comment", "examples"})  # say nothing about validity
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ENVELOPE_KEYS = ("tenant", "event", "customer", "timestamp", "context")


def _types(fragment: dict) -> frozenset[str] | None:
    kind = fragment.get("type")
    if kind is None:
        return None  # no type keyword: any type
    return frozenset([kind] if isinstance(kind, str) else kind)


def _only(fragment: Any, keywords: frozenset[str]) -> bool:
    """``fragment`` is an object schema using only ``keywords`` (and annotations)."""
    return isinstance(fragment, dict) and all(k in keywords or k in _ANNOTATIONS for k in fragment)


_LENGTHS = frozenset({"type", "minLength", "maxLength"})


def _typed_only(fragment: Any, accepting: set[str]) -> bool:
    """For a non-string value: ``fragment`` says nothing but its type (one of ``accepting``, or none).

    Length keywords constrain strings only, so a number or a boolean passes them.
    """
    if not _only(fragment, _LENGTHS):
        return False
    types = _types(fragment)
    return types is None or not types.isdisjoint(accepting)


class Guarantee:
    """What every value written on one branch of the generated code is known to satisfy."""

    def holds(self, value: Any) -> bool:
        """True if ``value`` satisfies the guarantee (what the tests check branch outputs against)."""
        raise NotImplementedError

    def proves(self, fragment: Any) -> bool:
        """True only if every value satisfying the guarantee is valid under ``fragment``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Guarantee):
    """A str of ``lo`` to ``hi`` characters (code points, as JSON Schema counts them)."""

    lo: int
    hi: int

    def holds(self, value: Any) -> bool:
        return type(value) is str and self.lo <= len(value) <= self.hi

    def proves(self, fragment: Any) -> bool:
        if not _only(fragment, _LENGTHS):
            return False
        types = _types(fragment)
        if types is not None and "string" not in types:
            return False
        return fragment.get("minLength", 0) <= self.lo and self.hi <= fragment.get("maxLength", self.hi)


@dataclass(frozen=True)
class Number(Guarantee):
    """An int within 64 bits or a finite float (never a bool)."""

    def holds(self, value: Any) -> bool:
        if type(value) is int:
            return _INT_MIN <= value < _INT_MAX
        return type(value) is float and value - value == 0.0

    def proves(self, fragment: Any) -> bool:
        return _typed_only(fragment, {"number"})


@dataclass(frozen=True)
class Integer(Guarantee):
    """An int within 64 bits (never a bool)."""

    def holds(self, value: Any) -> bool:
        return type(value) is int and _INT_MIN <= value < _INT_MAX

    def proves(self, fragment: Any) -> bool:
        return _typed_only(fragment, {"integer", "number"})


@dataclass(frozen=True)
class Boolean(Guarantee):
    """True or False."""

    def holds(self, value: Any) -> bool:
        return type(value) is bool

    def proves(self, fragment: Any) -> bool:
        return _typed_only(fragment, {"boolean"})


@dataclass(frozen=True)
class OneOf(Guarantee):
    """One of a few values known at compile time: each is checked by ``jsonschema`` itself."""

    values: tuple

    def holds(self, value: Any) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def proves(self, fragment: Any) -> bool:
        # jsonschema itself is the judge, so any keyword may appear; a fragment it cannot check
        # on its own (a $ref to elsewhere, say) proves nothing.
        if not isinstance(fragment, dict):
            return False
        try:
            validator = Draft202012Validator(fragment)
            return all(validator.is_valid(v) for v in self.values)
        except Exception:
            return False


@dataclass(frozen=True)
class TimeText(Guarantee):
    """:func:`~.timestamps.format_envelope` (``form='envelope'``) or ``format_context`` of an in-range time.

    It proves a fragment whose pattern is the catalog's pattern for that form, which the tests
    check every such text matches.
    """

    form: str

    @property
    def length(self) -> int:
        return 30 if self.form == "envelope" else 27

    def holds(self, value: Any) -> bool:
        return type(value) is str and len(value) == self.length and _pattern(self.form).search(value) is not None

    def proves(self, fragment: Any) -> bool:
        if not _only(fragment, frozenset({"type", "pattern", "minLength", "maxLength"})):
            return False
        types = _types(fragment)
        if types is not None and "string" not in types:
            return False
        if fragment.get("pattern") not in (None, _pattern_text(self.form)):
            return False
        return fragment.get("minLength", 0) <= self.length <= fragment.get("maxLength", self.length)


@dataclass(frozen=True)
class Either(Guarantee):
    """One of several guarantees (a branch with two ways through)."""

    parts: tuple[Guarantee, ...]

    def holds(self, value: Any) -> bool:
        return any(p.holds(value) for p in self.parts)

    def proves(self, fragment: Any) -> bool:
        return all(p.proves(fragment) for p in self.parts)


def non_empty(guarantee: Guarantee | None) -> Guarantee | None:
    """``guarantee`` for a value also known not to be ``''`` (the generated code tests that at run time)."""
    if isinstance(guarantee, Text):
        return Text(max(guarantee.lo, 1), guarantee.hi) if guarantee.hi >= 1 else None
    if isinstance(guarantee, Either):
        parts = tuple(non_empty(p) if isinstance(p, Text) else p for p in guarantee.parts)
        return None if None in parts else Either(cast(tuple[Guarantee, ...], parts))  # no None left
    return guarantee


@cache
def _pattern_text(form: str) -> str:
    catalog = load_catalog()
    if form == "envelope":
        return catalog.envelope["timestamp"]["pattern"]
    return catalog.choices["context_timestamp"]["value"]["pattern"]


@cache
def _pattern(form: str) -> Any:
    import re

    return re.compile(_pattern_text(form))


def coercer_guarantee(param: Param) -> Guarantee | None:
    """What :func:`~.coerce.make_coercer` ``(param)`` returns for any non-null value it accepts; None if unknown."""
    kind = param.type
    if param.allowed:
        # A closed list of strings answers in the catalog's spelling; typed lists are rare: unknown.
        return OneOf(tuple(param.allowed)) if kind == "string" else None
    if kind == "string":
        return Text(0, param.max_length)
    if kind == "string_or_number":
        return Either((Text(0, param.max_length), Number()))
    if kind == "number":
        return Number()
    if kind == "integer":
        return Integer()
    if kind == "boolean":
        return Boolean()
    if kind == "yes_no":
        return OneOf(("Yes", "No"))
    if kind == "timestamp":
        return TimeText("context")
    return None


def inline_guarantee(param: Param, *, non_empty: bool = False) -> Guarantee | None:
    """What passes :func:`~.parts.inline_coercion` ``(param, v, non_empty=...)``; None if it has no test."""
    if param.allowed:
        return None
    kind = param.type
    if kind == "string":
        return Text(1 if non_empty else 0, param.max_length)
    if kind == "string_or_number":
        return Either((Text(1 if non_empty else 0, param.max_length), Number()))
    if kind == "boolean":
        return Boolean()
    if kind == "integer":
        return Integer()
    if kind == "number":
        return Number()
    return None


def prove_skeleton(schema: Any, *, tenant: Any, event: str, names: list[str], always: set[str]) -> dict[str, Any] | None:
    """The context's param fragments if the event's shape is valid by construction, else None.

    By construction the generated code writes exactly the five envelope keys, ``tenant`` and
    ``event`` as constants, and a context dict whose keys are some of ``names`` (the rule's
    context fields), ``always`` among them on every path that reaches the event. That meets the
    schema when: it is a Draft 2020-12 object schema using only the keywords below, the two
    constants are valid, no key outside its ``properties`` is written where extra keys are
    refused, and every ``required`` context key is in ``always``.
    """
    top = frozenset({"$schema", "$id", "type", "required", "additionalProperties", "properties"})
    if not _only(schema, top) or schema.get("$schema", _DRAFT) != _DRAFT or schema.get("type") != "object":
        return None
    props = schema.get("properties", {})
    if not isinstance(props, dict) or not set(schema.get("required", ())) <= set(_ENVELOPE_KEYS):
        return None
    if schema.get("additionalProperties", True) is not True and not (schema.get("additionalProperties") is False and set(_ENVELOPE_KEYS) <= set(props)):
        return None
    for key, value in (("tenant", tenant), ("event", event)):
        if not OneOf((value,)).proves(props.get(key, {})):
            return None
    context = props.get("context", {})
    if not _only(context, frozenset({"type", "required", "additionalProperties", "properties"})) or context.get("type", "object") != "object":
        return None
    fragments = context.get("properties", {})
    if not isinstance(fragments, dict) or not set(context.get("required", ())) <= always:
        return None
    extra = context.get("additionalProperties", True)
    if extra is False:
        if not set(names) <= set(fragments):
            return None
    elif extra is not True:
        return None
    return {name: fragments.get(name, {}) for name in names}


def envelope_fragment(schema: dict, key: str) -> Any:
    """The schema fragment of envelope key ``key`` (``{}``, anything, when the schema does not say)."""
    return schema.get("properties", {}).get(key, {})
