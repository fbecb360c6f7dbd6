"""What :func:`~ebi_mapper.engine.build.compile_mapping` makes of a rule: its parts, compiled once.

Both engine paths read these: the interpreter (:mod:`.mapper`, :mod:`.finish`) evaluates them per
record, and the code generator (:mod:`.fast`) writes one runner per :class:`CompiledRule` from
them. tests/engine/test_fast_path_differential.py proves the two give equal results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..catalog.model import EventDef, Param
from ..extensions import FastGuard
from ..mapping.model import BespokeRule, Rule
from ..outcomes import RecordResult
from .fields import CompiledField

__all__ = ["CompiledBespoke", "CompiledRule", "ContextField", "RuleRunner"]

# run(payload, result, source, now) -> matched: a rule's generated runner (engine/fast/)
RuleRunner = Callable[[Any, RecordResult, str, datetime], bool]


@dataclass
class ContextField:
    """One context param of a rule: its field, catalog param, coercer and null policy."""

    field: CompiledField
    param: Param | None
    coerce: Callable[[Any], Any]
    required: bool  # mandatory, primary key, or a declared channel's param
    nulls: str
    completable: bool = False  # required, but when missing completed from the known profile (profiles.py)


@dataclass
class CompiledRule:
    """An OOTB rule, compiled."""

    rule: Rule
    event: EventDef
    when: Callable[[Any], Any] | None
    each: Callable[[Any], Any] | None
    customer: CompiledField
    timestamp: CompiledField
    currency: Callable[[Any], Any] | None
    context: list[ContextField]
    unmapped_required: list[Param]
    guards: list[Callable]  # each enabled guard's reference check(event, ctx), in registry order
    enrichers: list[tuple[str, Callable]]
    monetary_keys: frozenset[str]
    guard_names: tuple[str, ...] = ()  # each guard's registered name (go_live, currency, ...), as the docs say
    guard_fast: tuple[FastGuard | None, ...] = ()  # each guard's declared fast form, if it has one
    run: RuleRunner | None = None  # generated runner
    run_dispatched: RuleRunner | None = None  # `when` proven by the dispatcher
    python_source: str = ""  # the runner's generated code, for debugging
    version: Callable[..., Any] | None = None  # versioning.make_version_reader, if the rule has `version:`
    lets: list[CompiledField] = field(default_factory=list)  # `let:` values, in order (scopes.with_values)
    each_inner: Callable[[Any], Any] | None = None  # a two-level `each`: the inner array


@dataclass
class CompiledBespoke:
    """A bespoke-attributes rule, compiled."""

    rule: BespokeRule
    when: Callable[[Any], Any] | None
    each: Callable[[Any], Any] | None
    customer: CompiledField
    timestamp: CompiledField
    attributes: list[tuple[str, CompiledField]]
    each_inner: Callable[[Any], Any] | None = None
