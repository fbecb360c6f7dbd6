"""docs/cli.md documents exactly the commands the CLI has, each with its exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ebi_mapper.cli import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ROW = re.compile(r"^\| `([a-z][a-z ]*)` \|.*\| ([0-9, ]+) \|$", re.M)
KNOWN_CODES = {0, 1, 2, 3, 4, 130, 143}


def documented() -> dict[str, set[int]]:
    return {name: {int(c) for c in codes.split(",")} for name, codes in ROW.findall(DOC.read_text(encoding="utf-8"))}


def leaf_commands(group: click.Group, prefix: str = "") -> set[str]:
    # Commands load lazily: ask the group, as `--help` does, rather than reading `.commands`.
    ctx = click.Context(group)
    names = set()
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            names |= leaf_commands(command, full + " ")
        else:
            names.add(full)
    return names


def test_every_command_is_documented_and_every_documented_command_exists():
    docs = documented()
    assert docs, "no command table found in docs/cli.md"
    actual = leaf_commands(cli)
    assert sorted(actual - docs.keys()) == [], "commands missing from docs/cli.md"
    assert sorted(docs.keys() - actual) == [], "docs/cli.md documents commands the CLI does not have"


def test_each_command_lists_known_exit_codes_including_ok_usage_and_bug():
    for name, codes in documented().items():
        assert codes <= KNOWN_CODES, (name, codes - KNOWN_CODES)
        assert {0, 2, 4} <= codes, (name, codes)


def test_the_codes_table_matches_the_exit_constants():
    from ebi_mapper.cli import exits

    text = DOC.read_text(encoding="utf-8")
    for code in (exits.EXIT_OK, exits.EXIT_FINDINGS, exits.EXIT_USAGE, exits.EXIT_CONFIG, exits.EXIT_INTERNAL, 130, 143):
        assert re.search(rf"^\| {code} \|", text, re.M), code
