"""Command-line paths that name a mapping's companion file stand for the mapping itself.

``<name>.tests.yaml`` beside ``<name>.yaml`` holds that mapping's example cases and is read
whenever the mapping is loaded. A shell glob such as ``mappings/examples/*.yaml`` matches both
files, and a companion is not a mapping on its own, so ``lint`` and ``test`` take it as its
mapping (once, however often it is named).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TESTS_SUFFIX", "mapping_paths"]

TESTS_SUFFIX = ".tests.yaml"


def mapping_paths(paths: tuple[str, ...] | list[str]) -> list[str]:
    """The mapping files named by ``paths``: companions replaced by their mapping, duplicates dropped, order kept."""
    out: dict[str, None] = {}
    for path in paths:
        if path.endswith(TESTS_SUFFIX):
            owner = path[: -len(TESTS_SUFFIX)] + ".yaml"
            if Path(owner).is_file():
                path = owner
        out.setdefault(path, None)
    return list(out)
