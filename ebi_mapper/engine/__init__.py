"""The mapping engine: a loaded mapping compiled into a mapper of payloads to OOTB events.

Rooms (docs/architecture.md draws them; tests/engine/test_engine_layout.py keeps them apart):

- the semantics, which define what a mapping does: :mod:`.build` (``compile_mapping``),
  :mod:`.mapper` (the interpreter), :mod:`.compiled`, :mod:`.finish`, :mod:`.fields`,
  :mod:`.items`, :mod:`.scopes`, :mod:`.coerce`, :mod:`.coerce_errors`, :mod:`.timestamps`,
  :mod:`.profiles`, :mod:`.versioning`, :mod:`.validate`, :mod:`.dispatch`;
- :mod:`.fast`: the generated fast path, which gives the same results and uses only the
  semantics' public names;
- :mod:`.jsonl`: JSON lines in and out (the one reader every command uses, ``map``'s batches
  and worker processes, its counts);
- :mod:`.cases` (example cases of a mapping) and :mod:`.trace` (``explain``).
"""

from .build import compile_mapping
from .jsonl.decode import DecodedLine, iter_jsonl
from .mapper import Mapper
from .trace import Trace

__all__ = ["DecodedLine", "Mapper", "Trace", "compile_mapping", "iter_jsonl"]
