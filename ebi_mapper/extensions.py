"""The things plugins register: functions, guards, enrichers and sinks.

Each is a small frozen definition; :mod:`ebi_mapper.plugins` collects them from every plugin
(built-ins included) through the hooks in :mod:`ebi_mapper.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: these modules sit above this one (no import at run time)
    from .catalog.model import Catalog, EventDef
    from .mapping.model import Mapping, Rule
    from .outcomes import Filtered, OotbEvent, Rejection

__all__ = [
    "FunctionDef",
    "GuardContext",
    "GuardDef",
    "FastGuard",
    "FastCheck",
    "EnricherDef",
    "SinkDef",
    "Sink",
    "SendResult",
]


@dataclass(frozen=True)
class FunctionDef:
    """An extra JMESPath function.

    ``signature`` uses jmespath's type names per argument (``string``, ``number``, ``boolean``,
    ``array``, ``object``, ``null``, ``expref``, ``any``, ``array-string``, ``array-number``), each
    entry a tuple of accepted types. With ``variadic`` the last entry repeats. ``fn`` takes the
    evaluated arguments and must be pure: no clock, no I/O (event time comes from payloads).
    """

    name: str
    fn: Callable[..., Any]
    signature: tuple[tuple[str, ...], ...]
    variadic: bool = False
    doc: str = ""
    # When set, the engine calls ``bind(mapping)`` to get the callable for that mapping
    # (e.g. ``lookup(table, key)`` over the mapping's own ``tables:``); ``fn`` is then unused.
    bind: Callable[[Mapping | None], Callable[..., Any]] | None = None
    # A lazy function (a special form, like ``if`` and ``coalesce``) receives each argument as a
    # zero-argument callable and evaluates only the ones it needs; JMESPath itself would evaluate
    # every argument first. Its arguments are not type-checked (there is no value to check yet):
    # ``signature`` gives the arity only, and the function checks what it evaluates.
    lazy: bool = False


@dataclass(frozen=True)
class GuardContext:
    """What a guard or enricher may look at besides the event itself."""

    mapping: Mapping
    rule: Rule  # the OOTB rule that made the event (guards never see bespoke rules)
    catalog: Catalog
    now: datetime  # the run's clock (aware UTC); only guards may read it, never mapping functions
    event_time: datetime  # the event's own time (aware UTC)
    currency: Any = None  # the value of the rule's `currency:` expression, if any
    payload: Any = None  # the source record (or, inside `each`, the root record)


# What a guard's factory returns: the check run on each mapped event.
GuardCheck = Callable[["OotbEvent", GuardContext], Iterable["Rejection | Filtered"]]
# What an enricher's factory returns: params to set on the event, or None.
Enrich = Callable[["OotbEvent", GuardContext], "dict[str, Any] | None"]

# check(customer, timestamp, event_time, context, now, currency) -> outcomes (see FastGuard)
FastCheck = Callable[[str, str, datetime, "dict[str, Any]", datetime, Any], "Iterable[Rejection | Filtered] | None"]


@dataclass(frozen=True)
class FastGuard:
    """The fast form of a guard: what the engine's generated code calls instead of ``check(event, ctx)``.

    ``for_rule(rule, event_def)`` is called once per rule when the mapping is compiled (``rule``
    a :class:`~ebi_mapper.mapping.model.Rule`, ``event_def`` its catalog
    :class:`~ebi_mapper.catalog.model.EventDef`) and returns None when the guard has nothing to
    check for that rule, else ``check(customer, timestamp, event_time, context, now, currency)``:
    the event's customer id, its envelope timestamp text, its time (aware UTC), its context dict
    (the event's own, which the check may adjust as a reference check may), the run's clock and
    the value of the rule's ``currency:`` expression. It returns the outcomes (Rejection |
    Filtered, or None for none) the reference check gives for that event, in the same order; an
    exception is a ``guard_failed`` rejection, as for the reference check. No ``OotbEvent`` or
    ``GuardContext`` is built per event. A rule whose guards all have a fast form runs wholly in
    generated code (a guard without one is still called there, through its reference check);
    tests/engine/test_fast_guard_plugin.py shows how a plugin proves the two forms agree.

    ``inline``, for the built-in guards only: the name and settings of a form the code generator
    writes inline (engine/fast/guards.py knows ``go_live``, ``currency``, ``string_length`` and
    ``future_skew``); a name it does not know is ignored and ``for_rule`` is used.
    """

    for_rule: Callable[[Rule, EventDef], FastCheck | None]
    inline: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class GuardDef:
    """A business check after mapping that can reject or filter an event.

    ``factory(options, mapping)`` returns ``check(event, ctx) -> Iterable[Rejection | Filtered]``:
    the reference form, which ``explain`` traces. ``fast(options, mapping)``, when given, returns
    the guard's :class:`FastGuard` for the same options (or None: no fast form for them).
    Guards with ``default_on`` run for every mapping unless it turns them off under ``guards:``.
    """

    name: str
    factory: Callable[[dict[str, Any], Mapping], GuardCheck]
    default_on: bool = True
    doc: str = ""
    fast: Callable[[dict[str, Any], Mapping], FastGuard | None] | None = None


@dataclass(frozen=True)
class EnricherDef:
    """Adds or derives context params after mapping; runs only when a mapping names it.

    ``factory(options, mapping)`` returns ``enrich(event, ctx) -> dict | None``: params to set.
    """

    name: str
    factory: Callable[[dict[str, Any], Mapping], Enrich]
    doc: str = ""


@dataclass(frozen=True)
class SendResult:
    """What a sink says about one batch.

    ``status`` is ``ok`` (all accepted), ``retry`` (transient: 429, 5xx, timeout; try again after
    ``retry_after`` seconds if given), or ``rejected`` (permanent; ``reason`` says why; the caller
    splits the batch to isolate the bad items). ``rejected_index`` may name the one bad item.
    """

    status: str
    reason: str = ""
    retry_after: float | None = None
    http_status: int | None = None
    rejected_index: int | None = None


class Sink(Protocol):
    """Where batches go. A sink is built once per run and closed at the end."""

    def send(self, batch: list[dict[str, Any]]) -> SendResult: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SinkDef:
    """A named sink factory. ``kind`` is ``events`` (OOTB events) or ``bespoke`` (attribute rows).

    ``factory(options)`` returns a :class:`Sink`; ``options`` come from the mapping's ``delivery:``
    section and the command line.
    """

    name: str
    factory: Callable[[dict[str, Any]], Sink]
    kind: str = "events"
    doc: str = ""
    options: dict[str, str] = field(default_factory=dict)  # option name -> one-line help
