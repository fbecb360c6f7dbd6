"""The OOTB event catalog: the 10 events, their params, the verticals, limits and recorded choices.

The data is ``catalog.json`` (package data), generated from Optimove's reference and
``choices.yaml`` by ``tools/build_catalog.py``; :func:`load_catalog` reads it once per process.
"""

from __future__ import annotations

from .loader import load_catalog, make_catalog
from .model import Catalog, EventDef, Param, ParamClass, ParamType, RateClass, Vertical
from .names import nearest_names

__all__ = [
    "Catalog",
    "EventDef",
    "Param",
    "ParamClass",
    "ParamType",
    "RateClass",
    "Vertical",
    "load_catalog",
    "make_catalog",
    "nearest_names",
]
