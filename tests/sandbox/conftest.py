"""Fixtures for the sandbox tests: valid events of the casino vertical and a running sandbox."""

from __future__ import annotations

import httpx
import pytest

from ebi_mapper.sandbox import start_sandbox
from sandbox_helpers import TOKEN


@pytest.fixture
def sandbox(tmp_path):
    """A casino sandbox for tenant 567 with a fast profile limit (5 requests per second)."""
    with start_sandbox(db=tmp_path / "sandbox.db", vertical="casino", tenant=567, token=TOKEN,
                       rate_limits={"profile": (5, 1.0)}, faults={"timeout_delay": 1.0}) as handle:
        yield handle


@pytest.fixture
def client():
    """An HTTP client that sends the sandbox's token."""
    with httpx.Client(headers={"X-Api-Key": TOKEN}, timeout=5.0) as c:
        yield c
