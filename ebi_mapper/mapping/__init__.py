"""The mapping file: its model, its reader, and its JSON Schema.

:func:`read_mapping` checks the format only and never raises; loading for use (read, lint with
the mapping's plugins, raise on errors) is the application edge's job:
:func:`ebi_mapper.load_mapping` (:mod:`ebi_mapper.app`), so that this layer imports nothing above it.
"""

from .loader import LoadResult, mapping_schema, read_mapping
from .model import Bespoke, BespokeRule, Expr, FieldSpec, Loc, Mapping, MappingTest, Rule

__all__ = [
    "Bespoke",
    "BespokeRule",
    "Expr",
    "FieldSpec",
    "LoadResult",
    "Loc",
    "Mapping",
    "MappingTest",
    "Rule",
    "mapping_schema",
    "read_mapping",
]
