"""Fixtures of the catalog tests."""

from __future__ import annotations

import pytest
from catalog_helpers import REFERENCE


@pytest.fixture(scope="session")
def reference() -> dict:
    """The parsed Optimove reference (tests needing it skip when CI has no shared/ beside the clone).

    Shared by the session: tests must not mutate it (deep-copy first).
    """
    if not REFERENCE.is_file():
        pytest.skip(f"reference file absent: {REFERENCE} (shared/ is not beside this clone)")
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(REFERENCE.read_text(encoding="utf-8"), Loader=loader)
