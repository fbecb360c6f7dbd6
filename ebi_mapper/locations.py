"""Where something is written in a mapping file, and a finding there (kept apart so every layer can import them).

The mapping reader reports format errors as :class:`Finding` and lint reports its checks' the
same way; both live here, below both, so the reader never imports lint
(``tests/test_structure.py::test_imports_go_down_the_layers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Finding", "Loc", "Severity", "has_errors"]


@dataclass(frozen=True, order=True)
class Loc:
    """A place in a mapping file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """A problem in a mapping file, rendered as ``file:line:col: severity CODE message``."""

    loc: Loc
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.severity} {self.code} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.loc.file,
            "line": self.loc.line,
            "col": self.loc.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when any finding is an error (warnings alone do not fail lint)."""
    return any(f.severity == "error" for f in findings)
