"""Which delivery state a command reads: MAPPING implies its state dir, ``--state-dir`` overrides.

``run`` and ``dlq replay`` take the mapping and an optional ``--state-dir``; the commands that
only read or tidy the state (``dlq list|show``, ``state stats|compact``) take either of the two,
so an operator can name the mapping everywhere. One definition of the rule itself:
:func:`ebi_mapper.delivery.settings.state_dir_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["MAPPING_PATH", "optional_mapping_argument", "state_dir_option", "state_dir_for"]

MAPPING_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


def optional_mapping_argument() -> Callable[[Any], Any]:
    """``[MAPPING]``: the mapping whose state dir is meant."""
    return click.argument("mapping", type=MAPPING_PATH, required=False)


def state_dir_option(help_text: str = "The state dir (wins over the one MAPPING implies).") -> Callable[[Any], Any]:
    """``--state-dir DIR`` (or ``EBI_MAPPER_STATE_DIR``)."""
    return click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=help_text,
                        envvar="EBI_MAPPER_STATE_DIR")


def state_dir_for(mapping: Path | None, state_dir: Path | None) -> Path:
    """The state dir to use: ``--state-dir``, else the one ``mapping`` implies (a usage error without either)."""
    if state_dir is not None:
        return state_dir
    if mapping is None:
        raise click.UsageError("give MAPPING (its state dir is used) or --state-dir DIR")
    from ..app import load_mapping
    from ..delivery.settings import state_dir_of

    # Only the delivery section is needed: a mapping lint would fault still finds its state.
    return state_dir_of(load_mapping(mapping, lint=False))
