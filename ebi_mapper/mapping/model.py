"""Frozen data types of a loaded mapping file (DESIGN.md §2).

Every user-written piece keeps its :class:`Loc` so lint findings and rejections can point at the
file, line and column it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..locations import Loc

__all__ = [
    "Loc",
    "Expr",
    "FieldSpec",
    "Rule",
    "BespokeRule",
    "Bespoke",
    "MappingTest",
    "FieldSet",
    "Mapping",
    "NullPolicy",
    "NULL_POLICIES",
    "DST_POLICIES",
]

NullPolicy = Literal["drop", "keep", "reject"]
NULL_POLICIES = ("drop", "keep", "reject")
DST_POLICIES = ("earlier", "later", "reject")


@dataclass(frozen=True)
class Expr:
    """A JMESPath expression as written, with where it was written."""

    source: str
    loc: Loc

    def __str__(self) -> str:
        return self.source


@dataclass(frozen=True)
class FieldSpec:
    """How one output field is produced.

    Written either as a bare expression string or as a mapping
    ``{expr: ..., nulls: drop|keep|reject, default: <literal>}``. ``nulls`` overrides the
    mapping-wide policy for this field; ``keep`` is how a mapping sends a null on purpose
    (e.g. to clear a profile field through ootb_user_details_update).
    """

    expr: Expr
    nulls: NullPolicy | None = None
    default: Any = None
    has_default: bool = False
    loc: Loc | None = None


@dataclass(frozen=True)
class Rule:
    """One rule: which payloads (``when``), which OOTB event, and how each field is computed."""

    name: str
    event: str
    customer: FieldSpec
    timestamp: FieldSpec
    context: dict[str, FieldSpec]
    loc: Loc
    when: Expr | None = None
    each: Expr | None = None
    currency: Expr | None = None
    # Named values (`let:`), computed per record or `each` item in this order, read as vars.<name>;
    # those of the field sets the rule extends come first (the rule's own replace a set's).
    lets: dict[str, FieldSpec] = field(default_factory=dict)
    let_locs: dict[str, Loc] = field(default_factory=dict)  # where each name is defined
    each_inner: Expr | None = None  # a two-level `each`: the inner array, read from each outer item
    extends: tuple[str, ...] = ()  # the field sets (top-level `fields:`) merged into this rule
    extends_locs: tuple[Loc, ...] = ()
    origins: dict[str, str] = field(default_factory=dict)  # "context.<key>"/"let.<name>" -> the field set it came from
    version: Expr | None = None  # orders the versions of one PK (a sequence number, a version, an update time)
    nulls: NullPolicy | None = None  # rule-wide override of the mapping's policy
    event_loc: Loc | None = None
    context_locs: dict[str, Loc] = field(default_factory=dict)  # where each context *key* is written


@dataclass(frozen=True)
class FieldSet:
    """A reusable set of named values and context fields (top-level ``fields:``), merged into every
    rule that lists it under ``extends:``; the rule's own entries override the set's."""

    name: str
    lets: dict[str, FieldSpec]
    context: dict[str, FieldSpec]
    loc: Loc
    let_locs: dict[str, Loc] = field(default_factory=dict)
    context_locs: dict[str, Loc] = field(default_factory=dict)


@dataclass(frozen=True)
class BespokeRule:
    """A rule that routes custom attributes to a self-serve tool, never into OOTB events."""

    customer: FieldSpec
    timestamp: FieldSpec
    attributes: dict[str, FieldSpec]
    loc: Loc
    name: str = ""
    when: Expr | None = None
    each: Expr | None = None
    each_inner: Expr | None = None


@dataclass(frozen=True)
class Bespoke:
    route: str  # data_studio | api_attributes | drop | a plugin sink name
    rules: tuple[BespokeRule, ...]
    loc: Loc | None = None


@dataclass(frozen=True)
class MappingTest:
    """An example case: a payload and exactly what it must produce.

    ``expect`` may hold ``events`` (list of full event dicts), ``rejections`` (list of
    partial rejection dicts: code/field/rule are compared when given), ``filtered`` (list of
    reasons) and ``bespoke`` (list of rows).
    """

    name: str
    payload: Any
    expect: dict[str, Any]
    loc: Loc
    now: str | None = None  # the run clock for the future-skew guard, if the case needs one


@dataclass(frozen=True)
class Mapping:
    """A whole client mapping file, validated and located."""

    path: str
    client: str
    vertical: str
    tenant: int
    site_currency: str
    rules: tuple[Rule, ...]
    go_live: datetime | None = None  # aware, UTC
    source_timezone: str = "UTC"
    channels: tuple[str, ...] = ()
    nulls: NullPolicy = "drop"
    dst: str = "earlier"  # how a naive local time in a DST overlap/gap is read
    partial_profiles: str | None = None  # send | reject: a profile update whose channel params are unknown (None: the catalog's choice)
    future_skew_seconds: float = 300.0
    bespoke: Bespoke | None = None
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # for lookup(table, key)
    field_sets: dict[str, FieldSet] = field(default_factory=dict)  # top-level `fields:`, for `extends:`
    plugins: tuple[str, ...] = ()  # local plugin modules (paths relative to the mapping, or module names)
    tests: tuple[MappingTest, ...] = ()
    delivery: dict[str, Any] = field(default_factory=dict)  # sink/limits config, read by `run`
    serve: dict[str, Any] = field(default_factory=dict)  # sources/auth/bounds, read by `serve` (serve/config.py)
    guards: dict[str, Any] = field(default_factory=dict)  # guard name -> False | options dict
    enrichers: tuple[tuple[str, dict[str, Any]], ...] = ()  # (enricher name, options), in order
    ebi_mapping: int = 1
    locs: dict[str, Loc] = field(default_factory=dict)  # where each top-level key is written
    raw: Any = None  # the plain loaded document, for tools that need it
