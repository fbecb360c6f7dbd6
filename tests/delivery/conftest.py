"""Shared pieces of the delivery tests: the test mapping, a mixed-input generator, sink doubles."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "casino.yaml"


@pytest.fixture(scope="session")
def mapping():
    from ebi_mapper import load_mapping

    return load_mapping(MAPPING, lint=False)


@pytest.fixture(scope="session")
def mapper(mapping):
    from ebi_mapper import compile_mapping

    return compile_mapping(mapping)


@pytest.fixture(scope="session")
def catalog():
    from ebi_mapper.catalog import load_catalog

    return load_catalog()




@pytest.fixture
def sandbox():
    """The bundled sandbox on a loopback port (multi_sport_casino, tenant 567, the catalog's limits)."""
    from ebi_mapper.sandbox import start_sandbox

    with start_sandbox(vertical="multi_sport_casino", tenant=567) as sb:
        yield sb


@pytest.fixture
def optimove_token(monkeypatch):
    """The token the `optimove` sink reads from the environment, as the sandbox expects it."""
    monkeypatch.setenv("OPTIMOVE_TOKEN", "sandbox-token")
