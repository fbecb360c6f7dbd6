"""Loading at the application edge: a mapping file becomes a checked, compiled mapper with one plugin registry.

Every command (``lint``, ``map``, ``explain``, ``test``, ``run``, ``dlq replay``, and the coming
``serve`` and workers) and the public Python API start here, so the set-up is written once:

1. read the file (:func:`ebi_mapper.mapping.read_mapping`: format and schema, never raises);
2. build **one** :class:`~ebi_mapper.plugins.Registry` for it (its ``plugins:``, installed
   plugins, the built-ins, minus the disabled ones);
3. lint with that registry (so a mapping ``lint`` would fail never reaches the engine);
4. compile with that same registry; delivery builds its sinks from it too.

The engine and delivery never build a registry: they are handed this one. That keeps "which
plugins are loaded" a decision of the edge (``--disable-plugin``, :data:`DISABLE_ENV`) and makes
``run`` build one registry instead of two (``tests/test_app_edge.py``). The layers and the allowed
import directions are drawn in ``docs/architecture.md`` and enforced by ``tests/test_structure.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..catalog import load_catalog
from ..catalog.model import Catalog
from ..engine.build import compile_mapping as _compile
from ..engine.mapper import Mapper
from ..errors import MappingError
from ..lint import LintReport, lint_mapping
from ..locations import has_errors
from ..mapping.loader import read_mapping
from ..mapping.model import Mapping
from ..plugins import DISABLE_ENV, Registry, disabled_plugins, make_registry

__all__ = ["DISABLE_ENV", "Loaded", "compile_mapping", "disabled_plugins", "lint_file", "load", "load_mapper",
           "load_mapping", "registry_for"]


def registry_for(mapping: Mapping, *, disable: Iterable[str] = ()) -> Registry:
    """The one registry for ``mapping``: its own ``plugins:``, the installed ones and the built-ins."""
    base = Path(mapping.path).parent if mapping.path else None
    return make_registry(local_modules=mapping.plugins, base_dir=base, disable=disabled_plugins(disable))


def lint_file(path: str | Path, *, disable: Iterable[str] = ()) -> LintReport:
    """``ebi-mapper lint`` on one file: a plugin that fails to load (or a bad name to disable) is a finding."""
    return lint_mapping(read_mapping(path), disable=disabled_plugins(disable))


@dataclass(frozen=True)
class Loaded:
    """A mapping loaded and linted, its one registry, and its compiled mapper."""

    mapping: Mapping
    registry: Registry
    catalog: Catalog
    mapper: Mapper


def _read_checked(source: str | Path, *, lint: bool, disable: Iterable[str], catalog: Catalog | None) -> tuple[Mapping, Registry | None]:
    """Read ``source`` and lint it with its one registry (built here); :class:`MappingError` on errors.

    Without ``lint`` no registry is built (None): the caller needs the model only.
    """
    result = read_mapping(source)
    findings = list(result.findings)
    registry: Registry | None = None
    if result.mapping is not None and not has_errors(findings) and lint:
        report = lint_mapping(result, disable=disabled_plugins(disable), catalog=catalog)
        findings, registry = report.findings, report.registry
    errors = [f for f in findings if f.severity == "error"]
    if errors or result.mapping is None or (lint and registry is None):
        raise MappingError(f"{source}: {len(errors)} error(s) in mapping", findings=errors)
    return result.mapping, registry


def load(source: str | Path, *, disable: Iterable[str] = (), catalog: Catalog | None = None,
         clock: Callable[[], datetime] | None = None, fast: bool = True) -> Loaded:
    """Read, lint and compile the mapping at ``source`` with one registry.

    Raises :class:`MappingError` (its ``findings`` say where and why) for a mapping with errors,
    :class:`~ebi_mapper.errors.PluginError` for a plugin that does not load or a bad name to disable.
    """
    catalog = catalog or load_catalog()
    mapping, registry = _read_checked(source, lint=True, disable=disable, catalog=catalog)
    assert registry is not None  # lint=True always yields one (or raised)
    mapper = _compile(mapping, registry=registry, catalog=catalog, clock=clock, fast=fast)
    return Loaded(mapping, registry, catalog, mapper)


def load_mapping(source: str | Path, *, lint: bool = True, disable: Iterable[str] = ()) -> Mapping:
    """Load a mapping for use; raise :class:`MappingError` with the findings if it has errors.

    With ``lint`` (the default) the semantic checks of ``ebi-mapper lint`` run too, so a mapping
    that lint would fail never reaches the engine. Without it no plugin is loaded.
    """
    return _read_checked(source, lint=lint, disable=disable, catalog=None)[0]


def load_mapper(source: str | Path, *, disable: Iterable[str] = (), fast: bool = True) -> Mapper:
    """The compiled mapper of the mapping at ``source`` (module-level, so a worker process can be handed it)."""
    return load(source, disable=disable, fast=fast).mapper


def compile_mapping(mapping: Mapping, *, registry: Registry | None = None, disable: Iterable[str] = (),
                    catalog: Catalog | None = None, clock: Callable[[], datetime] | None = None,
                    fast: bool = True) -> Mapper:
    """Compile a loaded mapping once; the result maps payloads with no further parsing.

    Without ``registry`` one is built for the mapping here, at the edge (its ``plugins:``, the
    installed plugins and the built-ins, minus ``disable``). With ``fast`` (the default) each rule
    also gets a generated runner that gives the same results as the reference interpreter, which
    ``fast=False`` keeps using.
    """
    if registry is None:
        registry = registry_for(mapping, disable=disable)
    return _compile(mapping, registry=registry, catalog=catalog, clock=clock, fast=fast)
