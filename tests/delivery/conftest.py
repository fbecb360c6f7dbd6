"""Shared pieces of the delivery tests: the test mapping, a mixed-input generator, sink doubles."""

from __future__ import annotations

import random
import threading
from collections import Counter
from pathlib import Path

import orjson
import pytest

from ebi_mapper.extensions import SendResult

DATA = Path(__file__).parent / "data"
MAPPING = DATA / "casino.yaml"


@pytest.fixture(scope="session")
def mapping():
    from ebi_mapper.mapping import load_mapping

    return load_mapping(MAPPING, lint=False)


@pytest.fixture(scope="session")
def mapper(mapping):
    from ebi_mapper.engine import compile_mapping

    return compile_mapping(mapping)


@pytest.fixture(scope="session")
def catalog():
    from ebi_mapper.catalog import load_catalog

    return load_catalog()


