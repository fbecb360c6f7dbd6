"""Lint findings: one located message each, data not exceptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..locations import Loc

__all__ = ["Finding", "Severity", "has_errors"]

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

    def to_dict(self) -> dict:
        return {
            "file": self.loc.file,
            "line": self.loc.line,
            "col": self.loc.col,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


def has_errors(findings) -> bool:
    """True when any finding is an error (warnings alone do not fail lint)."""
    return any(f.severity == "error" for f in findings)
