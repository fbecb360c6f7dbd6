"""Build a plugin manager and collect what every plugin registers.

There is no module-global manager: each :class:`Registry` is made fresh (tests make their own),
so plugins loaded for one mapping never leak into another.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownNameError
from .extensions import EnricherDef, FunctionDef, GuardDef, SinkDef

__all__ = ["Registry", "make_registry", "DEFAULT_PLUGINS"]

# Built-ins, registered exactly like third-party plugins.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "ebi_mapper.default_plugins.functions",
    "ebi_mapper.default_plugins.guards",
    "ebi_mapper.default_plugins.enrichers",
    "ebi_mapper.default_plugins.sinks",
)


@dataclass
class Registry:
    """Everything the plugins registered, by name, with which plugin gave each."""

    pm: pluggy.PluginManager
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    guards: dict[str, GuardDef] = field(default_factory=dict)
    enrichers: dict[str, EnricherDef] = field(default_factory=dict)
    sinks: dict[str, SinkDef] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin

    def sink(self, name: str) -> SinkDef:
        return _named(self.sinks, "sink", name)

    def guard(self, name: str) -> GuardDef:
        return _named(self.guards, "guard", name)

    def enricher(self, name: str) -> EnricherDef:
        return _named(self.enrichers, "enricher", name)


_Def = TypeVar("_Def")
_AnyDef = FunctionDef | GuardDef | EnricherDef | SinkDef


def _named(table: dict[str, _Def], kind: str, name: str) -> _Def:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise UnknownNameError(f"unknown {kind} {name!r} (registered: {known})") from None


def _load_module(spec: str, base_dir: Path | None) -> Any:
    """Import a plugin named as a module (``pkg.mod``) or a ``.py`` path (relative to ``base_dir``)."""
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise PluginError(f"plugin file {str(path)!r} not found")
        name = f"ebi_mapper_local_plugin_{abs(hash(str(path.resolve())))}"
        if name in sys.modules:
            return sys.modules[name]
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:  # not a file Python can import (say, a directory)
            raise PluginError(f"plugin file {str(path)!r} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:  # a plugin's own bug: report it as ours, chained
            raise PluginError(f"plugin file {str(path)!r} failed to import: {exc}") from exc
        sys.modules[name] = module
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise PluginError(f"plugin module {spec!r} cannot be imported: {exc}") from exc


def make_registry(
    *,
    plugins: Iterable[Any] = (),
    local_modules: Iterable[str] = (),
    base_dir: Path | str | None = None,
    entry_points: bool = True,
    defaults: bool = True,
) -> Registry:
    """Make a fresh plugin manager, register plugins, and collect their registrations.

    :param plugins: extra plugin objects or modules (tests use small classes).
    :param local_modules: module names or ``.py`` paths named by a mapping's ``plugins:``.
    :param base_dir: where relative ``.py`` paths are resolved (the mapping's folder).
    :param entry_points: also load third-party plugins from the ``ebi_mapper`` entry-point group.
    :param defaults: register the built-ins (off only in tests of the plugin machinery).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if defaults:
        for name in DEFAULT_PLUGINS:
            pm.register(importlib.import_module(name), name=name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
        except Exception as exc:
            raise PluginError(f"an installed ebi_mapper plugin failed to load: {exc}") from exc
    for plugin in plugins:
        pm.register(plugin)
    base = Path(base_dir) if base_dir is not None else None
    for spec in local_modules:
        module = _load_module(spec, base)
        if not pm.is_registered(module):
            pm.register(module, name=f"local:{spec}")
    # A misspelt hook name fails loudly here rather than being silently ignored.
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc

    registry = Registry(pm=pm)
    kinds = (
        ("functions", FunctionDef, registry.functions, pm.hook.register_functions),
        ("guards", GuardDef, registry.guards, pm.hook.register_guards),
        ("enrichers", EnricherDef, registry.enrichers, pm.hook.register_enrichers),
        ("sinks", SinkDef, registry.sinks, pm.hook.register_sinks),
    )
    for kind, cls, table, hook in kinds:
        for impl in hook.get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(item: Any, _kind: str = kind, _cls: type[_AnyDef] = cls, _table: dict[str, Any] = table,
                         _plugin: str = plugin_name) -> None:
                if not isinstance(item, _cls):
                    raise PluginError(f"plugin {_plugin!r} registered {item!r} as one of {_kind}; expected {_cls.__name__}")
                if item.name in _table:
                    other = registry.provided_by[(_kind, item.name)]
                    raise PluginError(f"{_kind[:-1]} {item.name!r} registered twice: by {other!r} and {_plugin!r}")
                _table[item.name] = item
                registry.provided_by[(_kind, item.name)] = _plugin

            impl.function(**{name: register for name in impl.argnames})
    return registry
