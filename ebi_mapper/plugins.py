"""Build a plugin manager and collect what every plugin registers.

There is no module-global manager: each :class:`Registry` is made fresh (tests make their own),
so plugins loaded for one mapping never leak into another. Only the application edge
(:mod:`ebi_mapper.app`, the commands) and ``lint`` make one; the engine and delivery are handed
it (``tests/test_structure.py::test_only_the_edge_builds_registries``).

A plugin can be disabled by name, like pytest's ``-p no:NAME``: it is never registered (an
entry-point plugin is not even imported), and what a disabled built-in or local plugin would have
registered is remembered in :attr:`Registry.disabled`, so asking for one of its names says which
plugin was disabled instead of "unknown" (``tests/test_disable_plugin.py``).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable
from collections.abc import Mapping as EnvMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pluggy

from . import hookspecs
from .errors import PluginError, UnknownNameError
from .extensions import EnricherDef, FunctionDef, GuardDef, SinkDef

__all__ = ["Registry", "make_registry", "plugin_names", "disabled_plugins", "DEFAULT_PLUGINS", "DISABLE_ENV"]

# Names of plugins to disable, comma- or space-separated (added to ``--disable-plugin``).
DISABLE_ENV = "EBI_MAPPER_DISABLE_PLUGINS"

# Built-ins, registered exactly like third-party plugins.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "ebi_mapper.default_plugins.functions",
    "ebi_mapper.default_plugins.guards",
    "ebi_mapper.default_plugins.enrichers",
    "ebi_mapper.default_plugins.sinks",
)


_Def = TypeVar("_Def")
_AnyDef = FunctionDef | GuardDef | EnricherDef | SinkDef


@dataclass
class Registry:
    """Everything the plugins registered, by name, with which plugin gave each."""

    pm: pluggy.PluginManager
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    guards: dict[str, GuardDef] = field(default_factory=dict)
    enrichers: dict[str, EnricherDef] = field(default_factory=dict)
    sinks: dict[str, SinkDef] = field(default_factory=dict)
    provided_by: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin
    # (kind, name) -> the disabled plugin that would have registered it (built-in and local plugins)
    disabled: dict[tuple[str, str], str] = field(default_factory=dict)
    disabled_plugins: tuple[str, ...] = ()

    def why_missing(self, kind: str, name: str) -> str | None:
        """Why ``name`` (a function, guard, enricher or sink) is not registered, if a disabled plugin had it."""
        plugin = self.disabled.get((kind, name))
        if plugin is None:
            return None
        return f"{kind[:-1]} {name!r} comes from plugin {plugin!r}, which is disabled (--disable-plugin / {DISABLE_ENV})"

    def sink(self, name: str) -> SinkDef:
        return self._named(self.sinks, "sinks", name)

    def guard(self, name: str) -> GuardDef:
        return self._named(self.guards, "guards", name)

    def enricher(self, name: str) -> EnricherDef:
        return self._named(self.enrichers, "enrichers", name)

    def _named(self, table: dict[str, _Def], kind: str, name: str) -> _Def:
        try:
            return table[name]
        except KeyError:
            why = self.why_missing(kind, name)
            if why is not None:
                raise UnknownNameError(why) from None
            known = ", ".join(sorted(table)) or "none"
            raise UnknownNameError(f"unknown {kind[:-1]} {name!r} (registered: {known})") from None


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
    disable: Iterable[str] = (),
) -> Registry:
    """Make a fresh plugin manager, register plugins, and collect their registrations.

    :param plugins: extra plugin objects or modules (tests use small classes).
    :param local_modules: module names or ``.py`` paths named by a mapping's ``plugins:``.
    :param base_dir: where relative ``.py`` paths are resolved (the mapping's folder).
    :param entry_points: also load third-party plugins from the ``ebi_mapper`` entry-point group.
    :param defaults: register the built-ins (off only in tests of the plugin machinery).
    :param disable: plugin names not to register (see :func:`plugin_names`); an unknown name is a
        :class:`PluginError` with the nearest name.
    """
    local_modules = tuple(local_modules)
    disabled = _check_disable(disable, plugin_names(local_modules=local_modules, entry_points=entry_points, defaults=defaults))
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    # What a disabled built-in or local plugin would register, to explain a missing name. An
    # entry-point plugin is not imported at all: disabling one that fails to import must work.
    shadow = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    shadow.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    if defaults:
        for name in DEFAULT_PLUGINS:
            target = shadow if name in disabled else pm
            target.register(importlib.import_module(name), name=name)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
        except Exception as exc:
            raise PluginError(f"an installed ebi_mapper plugin failed to load: {exc}") from exc
    for plugin in plugins:
        pm.register(plugin)
    base = Path(base_dir) if base_dir is not None else None
    for spec in local_modules:
        name = f"local:{spec}"
        module = _load_module(spec, base)
        if name in disabled:
            if not shadow.is_registered(module):
                shadow.register(module, name=name)
        elif not pm.is_registered(module):
            pm.register(module, name=name)
    # A misspelt hook name fails loudly here rather than being silently ignored.
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc

    registry = Registry(pm=pm, disabled_plugins=tuple(sorted(disabled)))
    _collect(pm, registry, registry.provided_by)
    if disabled:
        _collect(shadow, Registry(pm=shadow), registry.disabled)
    return registry


_KINDS = (("functions", FunctionDef), ("guards", GuardDef), ("enrichers", EnricherDef), ("sinks", SinkDef))


def _collect(pm: pluggy.PluginManager, registry: Registry, provided_by: dict[tuple[str, str], str]) -> None:
    """Call every registration hook of ``pm``'s plugins, filling ``registry``'s tables."""
    for kind, cls in _KINDS:
        table = getattr(registry, kind)
        for impl in getattr(pm.hook, f"register_{kind}").get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)

            def register(item: Any, _kind: str = kind, _cls: type[_AnyDef] = cls, _table: dict[str, Any] = table,
                         _plugin: str = plugin_name) -> None:
                if not isinstance(item, _cls):
                    raise PluginError(f"plugin {_plugin!r} registered {item!r} as one of {_kind}; expected {_cls.__name__}")
                if item.name in _table:
                    other = provided_by[(_kind, item.name)]
                    raise PluginError(f"{_kind[:-1]} {item.name!r} registered twice: by {other!r} and {_plugin!r}")
                _table[item.name] = item
                provided_by[(_kind, item.name)] = _plugin

            impl.function(**{name: register for name in impl.argnames})


def disabled_plugins(names: Iterable[str] = (), environ: EnvMapping[str, str] | None = None) -> tuple[str, ...]:
    """The plugins to disable: ``names`` (``--disable-plugin``) plus those in :data:`DISABLE_ENV`.

    :func:`make_registry` itself reads no environment (a test's registry is what it asks for); the
    builders of a mapping's registry (the edge, and lint given none) ask here.
    """
    environ = os.environ if environ is None else environ
    from_env = environ.get(DISABLE_ENV, "").replace(",", " ").split()
    out: list[str] = []
    for name in (*names, *from_env):
        if name and name not in out:
            out.append(name)
    return tuple(out)


def plugin_names(*, local_modules: Iterable[str] = (), entry_points: bool = True, defaults: bool = True) -> list[str]:
    """The names plugins are registered under, which ``--disable-plugin`` takes.

    Built-ins by module (``ebi_mapper.default_plugins.guards``), installed plugins by entry-point
    name (``webhook``), a mapping's own by ``local:`` and the name written under ``plugins:``.
    """
    names = list(DEFAULT_PLUGINS) if defaults else []
    if entry_points:
        names += sorted({ep.name for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME)})
    names += [f"local:{spec}" for spec in local_modules]
    return names


def _check_disable(disable: Iterable[str], known: list[str]) -> frozenset[str]:
    """The names to disable; :class:`PluginError` for a name no plugin has, with the nearest one."""
    wanted = [name.strip() for name in disable if name and name.strip()]
    for name in wanted:
        if name in known:
            continue
        # A built-in may be named by its last part ("guards"), which difflib alone would not find.
        near = [k for k in known if k.rsplit(".", 1)[-1] == name or k.removeprefix("local:") == name]
        near = near or difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PluginError(f"cannot disable plugin {name!r}: no plugin has that name{hint} (plugins: {', '.join(known) or 'none'})")
    return frozenset(wanted)
