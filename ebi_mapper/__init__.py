"""ebi-mapper: map any event stream to Optimove's OOTB events, check them, deliver them.

The public API, re-exported from the modules that hold it::

    from ebi_mapper import load_mapping, compile_mapping
    mapper = compile_mapping(load_mapping("mappings/acme.yaml"))
    result = mapper.map_record(payload)      # events, rejections, filtered, bespoke rows
"""

from .app import compile_mapping, load_mapping
from .catalog import load_catalog
from .catalog.model import Catalog, EventDef, Param, RateClass, Vertical
from .engine import Mapper, Trace, iter_jsonl
from .errors import (
    DeliveryError,
    EbiMapperError,
    MappingError,
    PermanentSinkError,
    PluginError,
    SinkBugError,
    StateError,
    TransientSinkError,
    UnknownNameError,
)
from .extensions import EnricherDef, FastGuard, FunctionDef, GuardContext, GuardDef, SendResult, Sink, SinkDef
from .hookspecs import hookimpl
from .lint import Finding, LintReport, lint_mapping, lint_path
from .mapping import Mapping, read_mapping
from .outcomes import BespokeRow, Filtered, OotbEvent, RecordResult, Rejection
from .plugins import Registry, make_registry
from .schemas import load_schema, schema_rejections

__version__ = "0.1.0"

__all__ = [
    "BespokeRow",
    "Catalog",
    "DeliveryError",
    "EbiMapperError",
    "EnricherDef",
    "EventDef",
    "FastGuard",
    "Filtered",
    "Finding",
    "FunctionDef",
    "GuardContext",
    "GuardDef",
    "LintReport",
    "Mapper",
    "Mapping",
    "MappingError",
    "OotbEvent",
    "Param",
    "PermanentSinkError",
    "PluginError",
    "RateClass",
    "RecordResult",
    "Registry",
    "Rejection",
    "SendResult",
    "Sink",
    "SinkBugError",
    "SinkDef",
    "StateError",
    "Trace",
    "TransientSinkError",
    "UnknownNameError",
    "Vertical",
    "__version__",
    "compile_mapping",
    "hookimpl",
    "iter_jsonl",
    "lint_mapping",
    "lint_path",
    "load_catalog",
    "load_mapping",
    "load_schema",
    "make_registry",
    "read_mapping",
    "schema_rejections",
]
