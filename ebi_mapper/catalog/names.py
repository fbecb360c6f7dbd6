"""Nearest-name suggestions ("did you mean ...?") for misspelt events, params and verticals."""

from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["nearest_names"]


def nearest_names(name: str, candidates: Iterable[str], n: int = 3, *, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` candidates closest to ``name``, best first; case is ignored when comparing."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        by_folded.setdefault(candidate.casefold(), candidate)
    folded = name.casefold()
    if folded in by_folded:
        return [by_folded[folded]]  # the same name, or one that differs only in case: that is the answer
    matches = difflib.get_close_matches(folded, list(by_folded), n=n, cutoff=cutoff)
    return [by_folded[m] for m in matches]
