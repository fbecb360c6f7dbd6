"""Fixtures of the catalog tests."""

from __future__ import annotations

import pytest

from catalog_helpers import REFERENCE


@pytest.fixture(scope="session")
def reference() -> dict:
    """The parsed Optimove reference (the project's own copy: nothing is skipped in a fresh clone).

    Shared by the session: tests must not mutate it (deep-copy first).
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(REFERENCE.read_text(encoding="utf-8"), Loader=loader)
