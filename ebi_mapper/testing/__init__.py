"""Property testing for mapping authors: payload strategies, ready-made properties, a runner.

``from ebi_mapper.testing import payloads, check_all, mapping_properties``. The names are
imported lazily, so that pytest loading this package's plugin (``pytest11`` entry point) does not
import Hypothesis and the engine for test runs that never use them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "Defect",
    "GeneratedPayload",
    "GeneratedReport",
    "PropertyFailure",
    "RuleReport",
    "check_accounted",
    "check_all",
    "check_deterministic",
    "check_events_valid",
    "check_never_raises",
    "check_pk_present",
    "check_rejections_explained",
    "check_rejections_named",
    "check_timestamps_utc",
    "check_zone_declared",
    "generated_payloads",
    "hypothesis_storage",
    "mapping_properties",
    "payloads",
    "run_generated",
    "time_forms",
]

_HOMES = {
    "Defect": "strategies",
    "GeneratedPayload": "strategies",
    "generated_payloads": "strategies",
    "payloads": "strategies",
    "time_forms": "strategies",
    "GeneratedReport": "runner",
    "RuleReport": "runner",
    "hypothesis_storage": "runner",
    "mapping_properties": "runner",
    "run_generated": "runner",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOMES.get(name, 'properties')}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
