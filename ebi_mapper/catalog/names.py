"""Nearest-name suggestions ("did you mean ...?") for misspelt events, params and verticals."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

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
    # A name cut short (``ootb_product_order``) means the one candidate it starts, even when
    # another candidate is closer character by character (``ootb_product_refund``).
    extended = [c for c in by_folded if c.startswith(folded)]
    if len(extended) == 1:
        matches = [extended[0], *(m for m in matches if m != extended[0])][:n]
    return [by_folded[m] for m in matches]
