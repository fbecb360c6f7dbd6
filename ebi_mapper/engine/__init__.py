"""The mapping engine: a loaded mapping compiled into a mapper of payloads to OOTB events."""

from .decode import DecodedLine, iter_jsonl
from .mapper import Mapper, compile_mapping
from .trace import Trace

__all__ = ["DecodedLine", "Mapper", "Trace", "compile_mapping", "iter_jsonl"]
