"""Where something is written in a mapping file (kept apart so every layer can import it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Loc"]


@dataclass(frozen=True, order=True)
class Loc:
    """A place in a mapping file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"
