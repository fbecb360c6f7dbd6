"""``ebi-mapper test MAPPING...``: run the mappings' example cases (``tests:``)."""

from __future__ import annotations

import click

from ..engine import compile_mapping
from ..engine.cases import run_cases
from ..mapping import load_mapping
from .companions import mapping_paths
from .exits import EXIT_FINDINGS, EXIT_OK
from .report import echo_json

__all__ = ["command"]


@click.command("test")
@click.argument("mappings", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--generate", "generate", type=int, default=0, show_default=True, help="Also run N generated payloads per rule (property tests).")
@click.option("--seed", type=int, default=None, help="Seed for generated payloads.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(mappings: tuple[str, ...], generate: int, seed: int | None, fmt: str) -> int:
    """Run each mapping's example cases (and, with --generate, generated properties)."""
    failed = 0
    total = 0
    out = []
    for path in mapping_paths(mappings):
        mapper = compile_mapping(load_mapping(path))
        results = run_cases(mapper)
        total += len(results)
        for r in results:
            out.append({"mapping": path, "case": r.name, "passed": r.passed, "location": r.location, "diff": r.diff})
            if not r.passed:
                failed += 1
                if fmt == "text":
                    click.secho(f"FAIL {r.location} {r.name}", fg="red", bold=True)
                    click.echo(r.diff)
            elif fmt == "text":
                click.echo(f"ok   {r.name}")
        if generate:
            from ..testing.runner import run_generated

            report = run_generated(mapper, examples=generate, seed=seed)
            total += report.cases
            failed += report.failures
            out.append({"mapping": path, "generated": report.to_dict()})
            if fmt == "text":
                click.echo(report.render())
    if fmt == "json":
        echo_json({"cases": total, "failed": failed, "results": out})
    else:
        click.echo(f"{total - failed} passed, {failed} failed", err=True)
    return EXIT_FINDINGS if failed else EXIT_OK
