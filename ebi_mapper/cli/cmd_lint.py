"""``ebi-mapper lint MAPPING...``: report every finding as ``file:line:col: severity CODE message``."""

from __future__ import annotations

import json

import click

from ..app import lint_file
from .companions import mapping_paths
from .exits import EXIT_CONFIG, EXIT_FINDINGS, EXIT_OK
from .plugin_args import disabled

__all__ = ["command"]


@click.command("lint")
@click.argument("mappings", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--quiet", "-q", is_flag=True, help="Show errors only, no warnings.")
def command(mappings: tuple[str, ...], fmt: str, strict: bool, quiet: bool) -> int:
    """Check mapping files against the catalog before any event flows."""
    reports = [lint_file(path, disable=disabled()) for path in mapping_paths(mappings)]
    failed = any(r.errors or (strict and r.warnings) for r in reports)
    if fmt == "json":
        out = [
            {"file": r.path, "ok": r.ok and not (strict and r.warnings), "findings": [f.to_dict() for f in r.findings]}
            for r in reports
        ]
        click.echo(json.dumps(out, indent=2))
    else:
        for report in reports:
            for finding in report.findings:
                if quiet and finding.severity == "warning":
                    continue
                click.echo(str(finding))
        errors = sum(len(r.errors) for r in reports)
        warnings = sum(len(r.warnings) for r in reports)
        verdict = "failed" if failed else "ok"
        click.echo(f"{len(reports)} file(s): {errors} error(s), {warnings} warning(s): {verdict}", err=True)
    if any(f.code == "io" for r in reports for f in r.findings):
        return EXIT_CONFIG  # a file that cannot be read is the operator's to fix, not a finding in it
    return EXIT_FINDINGS if failed else EXIT_OK
