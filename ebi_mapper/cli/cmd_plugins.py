"""``ebi-mapper plugins [MAPPING]``: every plugin by the name ``--disable-plugin`` takes, and what it registers.

The names are what a user needs to disable one (built-ins by module, installed plugins by
entry-point name, a mapping's own as ``local:FILE``); a disabled built-in or local plugin is
listed with what it would register, so the effect of ``--disable-plugin`` is visible before a run.
Exit codes: 0; 3 for a plugin that does not load or an unknown name to disable
(``tests/test_disable_plugin.py``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import click
import orjson

from .exits import EXIT_OK
from .plugin_args import disabled

__all__ = ["command"]

_KINDS = ("functions", "guards", "enrichers", "sinks")


@click.command(name="plugins")
@click.argument("mapping", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(mapping: Path | None, fmt: str) -> int:
    """List the plugins (MAPPING's own too) by the name --disable-plugin takes, and what each registers."""
    from ..app import disabled_plugins, load_mapping, registry_for
    from ..plugins import make_registry, plugin_names

    names = disabled_plugins(disabled())
    if mapping is not None:
        model = load_mapping(mapping, lint=False)
        registry = registry_for(model, disable=names)
        known = plugin_names(local_modules=model.plugins)
    else:
        registry = make_registry(disable=names)
        known = plugin_names()
    provides: dict[str, dict[str, list[str]]] = {name: defaultdict(list) for name in known}
    for table in (registry.provided_by, registry.disabled):
        for (kind, item), plugin in sorted(table.items()):
            provides.setdefault(plugin, defaultdict(list))[kind].append(item)
    off = set(registry.disabled_plugins)
    if fmt == "json":
        rows = [{"name": name, "disabled": name in off, **{kind: provides[name].get(kind, []) for kind in _KINDS}}
                for name in provides]
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    for name, items in provides.items():
        click.echo(f"{name}{'  (disabled)' if name in off else ''}")
        for kind in _KINDS:
            if items.get(kind):
                click.echo(f"    {kind + ':':<11}{', '.join(items[kind])}")
    return EXIT_OK
