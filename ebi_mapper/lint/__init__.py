"""``ebi-mapper lint``: find every mistake in a mapping before a single event flows.

Lint reads the model only; it imports nothing above it (the loader calls nothing here: the
application edge, :mod:`ebi_mapper.app`, reads, lints and compiles in that order). Given no
registry, :func:`lint_mapping` builds the mapping's own, so that a plugin that fails to load or a
bad name to disable is a finding like any other; the report keeps it (``report.registry``) for the
edge to compile with, so a command builds one registry (``tests/test_app_edge.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import Finding, has_errors

if TYPE_CHECKING:  # annotations only: lint imports nothing above the model at run time
    from ..catalog.model import Catalog
    from ..mapping.loader import LoadResult
    from ..plugins import Registry

__all__ = ["Finding", "LintReport", "lint_mapping", "lint_path", "has_errors"]


@dataclass
class LintReport:
    """All findings for one mapping file, in file order."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    # The plugin registry the checks ran against (None: the file did not load, or its plugins did not).
    registry: Registry | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def lint_mapping(result: LoadResult, *, registry: Registry | None = None, catalog: Catalog | None = None,
                 disable: Iterable[str] = ()) -> LintReport:
    """Run the semantic checks on a :class:`~ebi_mapper.mapping.loader.LoadResult`.

    Without ``registry`` one is built for the mapping (its ``plugins:``, the installed plugins and
    the built-ins, minus the plugins named in ``disable`` and in ``EBI_MAPPER_DISABLE_PLUGINS``).
    """
    from ..catalog import load_catalog
    from ..errors import EbiMapperError
    from ..plugins import disabled_plugins, make_registry
    from .checks import CheckContext, run_checks

    report = LintReport(result.path, list(result.findings))
    # Every independent finding in one pass: a file with format errors is still checked, on the
    # parts that loaded (``partial``); checks that depend on a broken part skip (``broken``).
    mapping = result.mapping if result.mapping is not None else getattr(result, "partial", None)
    if mapping is None:
        report.findings.sort(key=_file_order(report.path))
        return report
    if registry is None:
        try:
            registry = make_registry(local_modules=mapping.plugins, base_dir=Path(mapping.path).parent,
                                     disable=disabled_plugins(disable))
            report.registry = registry
        except EbiMapperError as exc:
            from ..mapping.model import Loc

            loc = mapping.locs.get("plugins") or Loc(mapping.path, 1, 1)
            report.findings.append(Finding(loc, "error", "plugin", str(exc)))
            registry = make_registry()  # the rest of the file is still checked against the built-ins
    else:
        report.registry = registry
    ctx = CheckContext(
        mapping,
        catalog or load_catalog(),
        frozenset(registry.functions),
        guard_names=registry.guards,
        enricher_names=registry.enrichers,
        sink_names=[name for name, sink in registry.sinks.items() if sink.kind == "bespoke"],
        doc=getattr(result, "doc", None),
        functions=registry.functions,
        broken=getattr(result, "broken", frozenset()),
        why_missing=registry.why_missing,
    )
    from ..mapping.yaml_source import paused_gc

    with paused_gc():  # the checks allocate many small objects too (see paused_gc)
        report.findings.extend(run_checks(ctx))
    report.findings.sort(key=_file_order(report.path))
    return report


def _file_order(path: str) -> Callable[[Finding], tuple[bool, str, int, int, str]]:
    """Sort key: the mapping's own findings first (then a sibling tests file's), each in file order."""
    return lambda f: (f.loc.file != path, f.loc.file, f.loc.line, f.loc.col, f.code)


def lint_path(path: str | Path, **kwargs: Any) -> LintReport:
    """Read and lint one mapping file (``kwargs`` as for :func:`lint_mapping`)."""
    from ..mapping.loader import read_mapping

    return lint_mapping(read_mapping(path), **kwargs)
