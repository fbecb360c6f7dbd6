"""The one place that decides exit codes."""

from __future__ import annotations

import io

import click

from ..errors import EbiMapperError, SinkBugError
from ..secrets import redact

__all__ = ["EXIT_OK", "EXIT_FINDINGS", "EXIT_USAGE", "EXIT_CONFIG", "EXIT_INTERNAL", "describe_os_error", "run_guarded"]

EXIT_OK = 0
EXIT_FINDINGS = 1  # lint errors, failed tests, rejected records, undelivered events
EXIT_USAGE = 2  # bad command line (click's own convention)
EXIT_CONFIG = 3  # a mapping that cannot load, a sink that cannot start, a locked state store, an unusable path
EXIT_INTERNAL = 4  # a bug in ebi-mapper or in a plugin's code: the traceback is printed


def run_guarded(cli: click.Command, argv: list[str] | None) -> int:
    """Run the click group, turning our own exceptions into a clear message and an exit code."""
    try:
        rv = cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        shown = io.StringIO()  # a value given on the command line may be a registered secret
        exc.show(file=shown)
        click.echo(redact(shown.getvalue()).rstrip("\n"), err=True)
        return exc.exit_code
    except SinkBugError as exc:  # a plugin's bug: its own traceback is for its author
        import traceback

        if exc.__cause__ is not None:
            click.echo(redact("".join(traceback.format_exception(exc.__cause__))).rstrip("\n"), err=True)
        click.echo(f"ebi-mapper: error: {redact(str(exc))}", err=True)
        return EXIT_INTERNAL
    except EbiMapperError as exc:
        click.echo(f"ebi-mapper: error: {redact(str(exc))}", err=True)
        for finding in getattr(exc, "findings", ()):
            click.echo(f"  {redact(str(finding))}", err=True)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except OSError as exc:
        if exc.filename is None:  # not about a path anyone named: a bug, below
            return _internal()
        # A path the operator named (input, output, state) that cannot be used: theirs to fix.
        click.echo(f"ebi-mapper: error: {redact(describe_os_error(exc))}", err=True)
        return EXIT_CONFIG
    except Exception:
        return _internal()
    return rv if isinstance(rv, int) else EXIT_OK


_OS_HINTS = {
    FileNotFoundError: " (check the path; an output's folder must exist)",
    NotADirectoryError: " (a part of the path is a file, not a folder)",
    IsADirectoryError: " (a file is needed here, not a folder)",
    PermissionError: " (not allowed here)",
}


def describe_os_error(exc: OSError) -> str:
    """``cannot use 'path': why`` for a failed file operation, in one line (no errno noise)."""
    where = str(exc.filename) + (f" -> {exc.filename2}" if getattr(exc, "filename2", None) else "")
    return f"cannot use {where!r}: {exc.strerror or type(exc).__name__}{_OS_HINTS.get(type(exc), '')}"


def _internal() -> int:
    """A bug in ebi-mapper (called while handling it): show everything needed to report it."""
    import traceback

    # A traceback quotes values (a request, a header): secrets registered with ebi_mapper.secrets are masked.
    click.echo(redact(traceback.format_exc()).rstrip("\n"), err=True)
    click.echo("ebi-mapper: internal error (a bug): please report it with the traceback above", err=True)
    return EXIT_INTERNAL
