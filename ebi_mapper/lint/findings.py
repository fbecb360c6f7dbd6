"""Lint findings: one located message each, data not exceptions.

Defined in :mod:`ebi_mapper.locations` (the mapping reader reports its format errors the same
way and must not import lint); this module keeps lint's name for them.
"""

from __future__ import annotations

from ..locations import Finding, Severity, has_errors

__all__ = ["Finding", "Severity", "has_errors"]
