"""Split a JSON lines stream into batches of lines, reading big chunks instead of line by line.

The lines, their numbers, the blank lines skipped and the oversized lines are exactly those of
:func:`~ebi_mapper.engine.jsonl.decode.iter_jsonl` (tests/engine/test_fast_path_cli.py compares them);
only the reading differs: one ``read`` of ``chunk_bytes`` yields hundreds of lines, where
``readline`` costs a call per line. Memory stays bounded by the chunk size plus one line of at
most ``max_line_bytes``: a longer line is skipped through, keeping only its head for the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from .decode import KEEP_BYTES, MAX_LINE_BYTES, Oversized

__all__ = ["Oversized", "LineBatch", "iter_line_batches", "KEEP_BYTES", "CHUNK_BYTES"]

CHUNK_BYTES = 32 * 1024  # bytes per read: a few dozen lines; bigger chunks measured no faster and use more memory


LineBatch = list[tuple[int, bytes | Oversized]]


def iter_line_batches(
    stream: IO[bytes],
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
    start_line: int = 0,
) -> Iterator[LineBatch]:
    """Yield lists of ``(line_number, stripped_bytes | Oversized)``; blank lines are left out."""
    read = stream.read
    # iter_jsonl keeps the head of the first readline(max + 1): at most max + 1 bytes.
    keep = min(KEEP_BYTES, max_line_bytes + 1)
    line_no = start_line
    carry = b""  # the unfinished last line of the previous chunk
    skip: list | None = None  # an oversized line being skipped: [line_no, kept, total so far]
    chunk_bytes = max(chunk_bytes, 1)
    while True:
        chunk = read(chunk_bytes)
        if not chunk:
            break
        batch: LineBatch = []
        start = 0
        if skip is not None:
            newline = chunk.find(b"\n")
            if newline < 0:
                skip[2] += len(chunk)
                continue
            skip[2] += newline + 1
            batch.append((skip[0], Oversized(skip[1], skip[2])))
            skip = None
            start = newline + 1
        elif carry:
            newline = chunk.find(b"\n")
            if newline < 0:
                carry += chunk
                if len(carry) > max_line_bytes:
                    skip = [line_no + 1, carry[:keep], len(carry)]
                    line_no += 1
                    carry = b""
                continue
            line = carry + chunk[:newline]
            carry = b""
            start = newline + 1
            line_no += 1
            if len(line) > max_line_bytes:
                batch.append((line_no, Oversized(line[:keep], len(line) + 1)))
            else:
                stripped = line.strip()
                if stripped:
                    batch.append((line_no, stripped))
        lines = (chunk[start:] if start else chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            line_no += 1
            if len(line) > max_line_bytes:
                batch.append((line_no, Oversized(line[:keep], len(line) + 1)))
                continue
            stripped = line.strip()
            if stripped:
                batch.append((line_no, stripped))
        if len(carry) > max_line_bytes:
            line_no += 1
            skip = [line_no, carry[:keep], len(carry)]
            carry = b""
        if batch:
            yield batch
    if skip is not None:
        yield [(skip[0], Oversized(skip[1], skip[2]))]
    elif carry:
        line_no += 1
        if len(carry) > max_line_bytes:
            yield [(line_no, Oversized(carry[:keep], len(carry)))]
        else:
            stripped = carry.strip()
            if stripped:
                yield [(line_no, stripped)]
