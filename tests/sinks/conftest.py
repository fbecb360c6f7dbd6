"""Fixtures for the sink tests: a running sandbox, its token in an environment variable, events."""

from __future__ import annotations

import pytest

from ebi_mapper.plugins import make_registry
from ebi_mapper.sandbox import start_sandbox
from sink_helpers import SECRET, TOKEN_ENV


@pytest.fixture(scope="module")
def registry():
    return make_registry(entry_points=False)


@pytest.fixture
def sandbox(tmp_path):
    with start_sandbox(vertical="casino", tenant=567, token=SECRET,
                       rate_limits={"profile": (2, 1.0)}, faults={"timeout_delay": 1.0}) as handle:
        yield handle


@pytest.fixture
def token_env(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, SECRET)
    return TOKEN_ENV


@pytest.fixture
def optimove(registry, sandbox, token_env):
    """The optimove sink pointed at the sandbox."""
    sink = registry.sink("optimove").factory({"url": sandbox.endpoint, "token_env": token_env, "timeout": 0.5})
    yield sink
    sink.close()
