"""``ebi-mapper test MAPPING...``: run the mappings' example cases (``tests:``), and with
``--generate N`` the property-testing kit on N generated payloads per rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..app import load_mapper
from ..engine.cases import run_cases
from .companions import mapping_paths
from .exits import EXIT_FINDINGS, EXIT_OK
from .plugin_args import disabled
from .report import echo_json

__all__ = ["command"]


@click.command("test")
@click.argument("mappings", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--generate", "generate", type=int, default=0, show_default=True, help="Also run N generated payloads per rule (property tests).")
@click.option("--seed", type=int, default=None, help="Seed for generated payloads.")
@click.option(
    "--source-schema",
    "source_schema_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON Schema of the client's payloads: generated payloads are valid against it (with --generate).",
)
@click.option(
    "--hypothesis-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where Hypothesis keeps its files (default: a temporary directory, removed at the end).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(mappings: tuple[str, ...], generate: int, seed: int | None, source_schema_path: str | None, hypothesis_dir: str | None, fmt: str) -> int:
    """Run each mapping's example cases (and, with --generate, generated properties)."""
    source_schema = _source_schema(source_schema_path) if source_schema_path else None
    if source_schema is not None and not generate:
        raise click.BadParameter("takes effect only with --generate N", param_hint="--source-schema")
    failed = 0
    total = 0
    out = []
    for path in mapping_paths(mappings):
        mapper = load_mapper(path, disable=disabled())
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
            from ..testing.runner import hypothesis_storage, run_generated

            with hypothesis_storage(hypothesis_dir):
                report = run_generated(mapper, examples=generate, seed=seed, source_schema=source_schema)
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


def _source_schema(path: str) -> dict[str, Any]:
    """The JSON Schema in ``path``; a usage error (not a traceback) when it is not one."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.BadParameter(f"{path}: not a JSON file: {exc}", param_hint="--source-schema") from None
    if not isinstance(schema, dict):
        raise click.BadParameter(f"{path}: a JSON Schema is an object, not {type(schema).__name__}", param_hint="--source-schema")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise click.BadParameter(f"{path}: not a valid JSON Schema: {exc.message}", param_hint="--source-schema") from None
    return schema
