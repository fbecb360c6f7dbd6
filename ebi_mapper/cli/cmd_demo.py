"""``ebi-mapper demo``: the main job on the bundled example, with nothing to start by hand.

It lints the example mapping, runs its example cases, starts the embedded Optimove sandbox on a
loopback port, delivers the example input through ``ebi-mapper run`` (durable state in a
temporary folder), runs it a second time to show that nothing is sent twice, and prints what the
sandbox received.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from .exits import EXIT_FINDINGS, EXIT_OK

__all__ = ["command", "find_example"]

_TOKEN_ENV = "EBI_MAPPER_DEMO_TOKEN"


def find_example(name: str) -> tuple[Path, Path]:
    """The example mapping and its sample input: in ./mappings/examples or beside the package."""
    roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
    for root in roots:
        mapping = root / "mappings" / "examples" / f"{name}.yaml"
        if mapping.is_file():
            return mapping, mapping.with_suffix(".jsonl")
    raise click.ClickException(f"example {name!r} not found under mappings/examples/ (run from the repository)")


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True, err=True)


@click.command("demo")
@click.option("--example", default="casino", show_default=True, help="Which mappings/examples/<name>.yaml to run.")
@click.option("--state-dir", type=click.Path(file_okay=False), help="Keep the run's state here (default: a temporary folder).")
def command(example: str, state_dir: str | None) -> int:
    """Lint, test and deliver the bundled example to an embedded Optimove sandbox."""
    from ..app import lint_file, load
    from ..engine.cases import run_cases
    from ..sandbox import start_sandbox
    from . import cli
    from .plugin_args import disabled

    mapping_path, input_path = find_example(example)
    _step(f"lint {mapping_path}")
    report = lint_file(mapping_path, disable=disabled())
    click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)", err=True)
    for finding in report.errors:
        click.echo(str(finding), err=True)
    if report.errors:
        return EXIT_FINDINGS

    loaded = load(mapping_path, disable=disabled())
    mapping = loaded.mapping
    _step("example cases")
    results = run_cases(loaded.mapper)
    failed = [r for r in results if not r.passed]
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed", err=True)
    for r in failed:
        click.echo(f"FAIL {r.name}\n{r.diff}", err=True)

    token = "demo-token"
    os.environ[_TOKEN_ENV] = token
    with tempfile.TemporaryDirectory(prefix="ebi-demo-") as tmp, start_sandbox(vertical=mapping.vertical, tenant=mapping.tenant, token=token) as sandbox:
        state = state_dir or str(Path(tmp) / "state")
        args = [
            "run", str(mapping_path), "--input", str(input_path), "--state-dir", state,
            "--sink", "optimove", "--sink-option", f"url={sandbox.endpoint}", "--sink-option", f"token_env={_TOKEN_ENV}",
            "--bespoke-option", f"dir={Path(tmp) / 'data-studio'}", "--no-progress",
        ]
        _step(f"run → embedded sandbox at {sandbox.endpoint}")
        first = cli.main(args=args, standalone_mode=False)
        _step("run again: the same input as a new pass; every event is a duplicate by PK, nothing is sent twice")
        second = cli.main(args=args, standalone_mode=False)
        _step("what the sandbox received")
        stats = sandbox.stats()
        stored = stats.get("stored") or {}
        click.echo(f"  requests                {stats.get('requests')}", err=True)
        click.echo(f"  events                  {stats.get('events')}", err=True)
        click.echo(f"  most events in one request: {stats.get('max_events_per_request')} (limit 10)", err=True)
        click.echo(f"  most profile-class requests in any 10 s window: {stats.get('max_profile_requests_per_window')} (limit 50)", err=True)
        click.echo(f"  stored, one row per primary key: {stored.get('events')}", err=True)
        for name, n in sorted((stored.get("by_event") or {}).items()):
            click.echo(f"    {name:<32}{n}", err=True)
    click.echo(
        f"\nNext: ebi-mapper explain {mapping_path} <payload.json>; ebi-mapper map {mapping_path} {input_path}; docs/ for the rest.",
        err=True,
    )
    return EXIT_OK if not failed and first in (EXIT_OK, EXIT_FINDINGS, None) and second in (EXIT_OK, EXIT_FINDINGS, None) else EXIT_FINDINGS
