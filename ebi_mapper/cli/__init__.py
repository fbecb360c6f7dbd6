"""The ``ebi-mapper`` command line: parse → build → run → report.

Each sub-command lives in its own module and exposes ``command`` (a :class:`click.Command`).
The library never prints; commands hand results to reporters in :mod:`ebi_mapper.cli.report`.
Exit codes are decided in one place: :mod:`ebi_mapper.cli.exits`.
"""

from __future__ import annotations

import importlib

import click

from .exits import run_guarded

__all__ = ["main", "cli"]

# module name -> command; imported lazily so `ebi-mapper --help` stays fast.
COMMAND_MODULES = (
    "lint",
    "catalog",
    "map",
    "explain",
    "test",
    "sandbox",
    "run",
    "serve",
    "dlq",
    "state",
    "plan",
    "plugins",
    "schema",
    "demo",
    "worker",
    "cluster",
)


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._modules())

    def _modules(self) -> dict[str, str]:
        return {name.replace("_", "-"): name for name in COMMAND_MODULES}

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self._modules().get(cmd_name)
        if module is None:
            return None
        return importlib.import_module(f"{__name__}.cmd_{module}").command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ebi-mapper")
@click.option("--disable-plugin", "disable_plugins", multiple=True, metavar="NAME",
              help="Do not load this plugin (repeatable; also EBI_MAPPER_DISABLE_PLUGINS), for every command "
                   "that loads a mapping: a built-in like ebi_mapper.default_plugins.guards, an installed "
                   "plugin's entry-point name, or local:FILE.py of a mapping's plugins:.")
def cli(disable_plugins: tuple[str, ...]) -> None:
    """Map any event stream to Optimove's OOTB events, check them, and deliver them."""


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    return run_guarded(cli, argv)
