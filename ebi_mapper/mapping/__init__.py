"""The mapping file: its model, its loader, and its JSON Schema."""

from .loader import LoadResult, load_mapping, mapping_schema, read_mapping
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
    "load_mapping",
    "mapping_schema",
    "read_mapping",
]
