"""``ebi-mapper schema``: print the JSON Schema of the mapping file format (for editors and CI).

Save it once and point the editor at it (docs/mapping-format.md, "Editor set-up"): completion
and inline errors for every key while the mapping is written. Exit code: 0.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from .exits import EXIT_OK

__all__ = ["command"]


@click.command(name="schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the schema to this file instead of standard output.")
def command(output: Path | None) -> int:
    """Print the JSON Schema of mapping files (ebi_mapper/mapping/mapping.schema.json)."""
    from ..mapping.loader import mapping_schema

    text = orjson.dumps(mapping_schema(), option=orjson.OPT_INDENT_2).decode() + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    return EXIT_OK
