"""The delivery package's public API: `__all__` complete and every public thing documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

import ebi_mapper.delivery as delivery

MODULES = ["state", "ratelimit", "batcher", "retry", "pipeline", "ingest", "rateplan", "source", "readers", "summary",
           "settings", "capacity", "sink_calls", "state_schema", "state_records", "state_base", "state_dedup",
           "state_outbox", "state_ledger"]


def test_package_all_lists_what_it_exports():
    # Re-exports resolve lazily (PEP 562): every name in __all__ resolves, and nothing else is public.
    assert sorted(delivery.__all__) == sorted(delivery._EXPORTS)
    for name in delivery.__all__:
        assert getattr(delivery, name) is not None, name
    eager = {n for n in vars(delivery) if not n.startswith("_") and not inspect.ismodule(getattr(delivery, n))}
    assert eager - {"annotations", "Any"} <= set(delivery.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_module_all_names_exist_and_have_docstrings(name):
    module = importlib.import_module(f"ebi_mapper.delivery.{name}")
    assert module.__doc__
    for attr in module.__all__:
        obj = getattr(module, attr)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name}.{attr} has no docstring"
