"""Every pluggy hook ebi-mapper calls, in one place.

Built-in functions, guards, enrichers and sinks are registered through these same hooks
(see :mod:`ebi_mapper.default_plugins`), exactly as a third-party plugin does. A plugin is a
module or object with functions named like the hooks below, decorated with ``hookimpl``; it is
found through the ``ebi_mapper`` entry-point group or named by a mapping's ``plugins:`` list.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from .extensions import EnricherDef, FunctionDef, GuardDef, SinkDef

__all__ = ["hookspec", "hookimpl", "PROJECT_NAME", "register_functions", "register_guards",
           "register_enrichers", "register_sinks"]

PROJECT_NAME = "ebi_mapper"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_functions(register: Callable[[FunctionDef], None]) -> None:
    """Register extra JMESPath functions.

    :param register: call ``register(FunctionDef(name, fn, signature, variadic=False, doc=""))``
        once per function. Names must not clash with JMESPath's built-ins or another plugin's.
    """


@hookspec
def register_guards(register: Callable[[GuardDef], None]) -> None:
    """Register guards: business checks after mapping that may reject or filter an event.

    :param register: call ``register(GuardDef(name, factory, default_on=True, doc="", fast=None))``;
        the factory is ``factory(options: dict, mapping: Mapping)`` and returns
        ``check(event: OotbEvent, ctx: GuardContext) -> Iterable[Rejection | Filtered]``. The
        optional ``fast(options, mapping)`` returns the guard's declared fast form, a
        :class:`~ebi_mapper.extensions.FastGuard`, which the engine's generated code calls with
        the event's parts instead (docs/writing-plugins.md, "A fast form").
    """


@hookspec
def register_enrichers(register: Callable[[EnricherDef], None]) -> None:
    """Register enrichers that add or derive context params after mapping.

    :param register: call ``register(EnricherDef(name, factory, doc=""))``; the factory is
        ``factory(options: dict, mapping: Mapping)`` and returns
        ``enrich(event: OotbEvent, ctx: GuardContext) -> dict | None`` (params to set).
    """


@hookspec
def register_sinks(register: Callable[[SinkDef], None]) -> None:
    """Register sinks: where batches of events (or bespoke attribute rows) go.

    :param register: call ``register(SinkDef(name, factory, kind="events"|"bespoke", doc="",
        options={}))``; the factory is ``factory(options: dict) -> Sink``.
    """
