"""``--disable-plugin``: a group-level option, read by every command that loads a mapping.

One option on the group (``ebi-mapper --disable-plugin NAME COMMAND ...``) rather than one per
command: every command that loads plugins honours it the same way, and a new command gets it by
calling :func:`disabled` when it starts the mapping through :mod:`ebi_mapper.app`
(``tests/test_disable_plugin.py``). The names add to ``EBI_MAPPER_DISABLE_PLUGINS``.
"""

from __future__ import annotations

import click

__all__ = ["disabled"]


def disabled() -> tuple[str, ...]:
    """The names given to ``--disable-plugin`` on this command line (none outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ()
    return tuple(ctx.find_root().params.get("disable_plugins") or ())
