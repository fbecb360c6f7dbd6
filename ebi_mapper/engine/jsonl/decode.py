"""Decode a JSON lines stream record by record, turning every bad line into a rejection.

The one reader of JSON lines: ``map`` (:mod:`.lines` splits the stream into numbered lines,
:func:`decode_lines` decodes them), ``run`` (delivery/source.py, through :func:`iter_jsonl`) and
``explain`` (:func:`decode_line`) use it, so a bad line gets the same code and reason whichever
command reads it (tests/engine/test_fast_path_cli.py compares ``map``'s and ``iter_jsonl``'s). A malformed line, invalid UTF-8, a nesting bomb, an oversized
line, or a line that is valid JSON but not one object (an array, a bare scalar) is reported with
its line number and kept (truncated for oversized lines), and the stream goes on. Memory stays
bounded: a line is never read past the size limit.

Arrays are not unpacked: a line is one event. A producer that batches events into arrays sees
every batch rejected (``not_object``) with the way out in the reason (``jq -c '.[]'``), rather
than a guess about what the array means (docs/mapping-format.md, "Input").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ...outcomes import Rejection
from ...rejection_codes import rejection

__all__ = ["DecodedLine", "Oversized", "iter_jsonl", "decode_line", "decode_lines", "not_object", "too_large", "KEEP_BYTES", "MAX_LINE_BYTES",
           "MAX_DEPTH"]

MAX_LINE_BYTES = 1024 * 1024  # one event payload; webhooks are a few KiB
MAX_DEPTH = 64  # real payloads nest < 10 levels; deeper is a bomb or a bug
KEEP_BYTES = 64 * 1024  # how much of a bad line is kept for the dead-letter record or rejects file


@dataclass(frozen=True)
class DecodedLine:
    """One input line: its number, byte offsets, and either a payload or a rejection."""

    line: int
    offset: int  # byte offset of the line's start
    end: int  # byte offset just after the line (where a resumed run starts)
    payload: Any = None
    rejection: Rejection | None = None
    raw: bytes = b""  # the line's bytes, blanks stripped (truncated if huge)


@dataclass(frozen=True)
class Oversized:
    """A line longer than the limit, as :mod:`.lines` hands it on: its first bytes and its whole length (newline included)."""

    kept: bytes
    total: int


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if type(node) is dict:
            stack.extend((v, depth + 1) for v in node.values() if type(v) in (dict, list))
        elif type(node) is list:
            stack.extend((v, depth + 1) for v in node if type(v) in (dict, list))
    return False


def decode_line(data: bytes, *, source: str = "", max_depth: int = MAX_DEPTH) -> tuple[Any, Rejection | None]:
    """Decode one line's bytes; return ``(payload, None)`` or ``(None, rejection)``."""
    # Cheap pre-check: only lines with many brackets can be deep, so most lines skip the walk.
    brackets = data.count(b"[") + data.count(b"{")
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc)
        if "utf-8" in message.lower() or "surrogate" in message.lower():
            return None, rejection("decode", "utf8", reason=message, source=source, value=data[:200].decode("utf-8", "replace"))
        if "recursion" in message.lower():
            return None, rejection("too_deep", max_depth=max_depth, source=source)
        return None, rejection("decode", "json", reason=message.replace("line 1 column", "column"), source=source, value=data[:200].decode("utf-8", "replace"))
    if brackets > max_depth and _depth_exceeds(payload, max_depth):
        return None, rejection("too_deep", max_depth=max_depth, source=source)
    if type(payload) is not dict:
        return None, not_object(payload, source)
    return payload, None


_JSON_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


def not_object(payload: Any, source: str) -> Rejection:
    """The rejection of a line that is valid JSON but not one object: each line must be one event."""
    what = _JSON_NAMES.get(type(payload), type(payload).__name__)
    hint = " (one event per line: unpack a batch first, e.g. jq -c '.[]')" if type(payload) is list else ""
    return rejection("not_object", what=what, hint=hint, source=source)


def too_large(total: int, source: str, limit: int = MAX_LINE_BYTES) -> Rejection:
    """The rejection of a line of ``total`` bytes, over the ``limit`` (its head is kept, not decoded)."""
    return rejection("too_large", total=total, limit=limit, source=source)


def iter_jsonl(
    stream: IO[bytes],
    *,
    name: str = "<stdin>",
    start_offset: int = 0,
    start_line: int = 0,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Iterator[DecodedLine]:
    """Yield every non-blank line of a binary stream, decoded or rejected.

    ``start_offset``/``start_line`` say where the stream already is (a resumed run seeks there).
    Blank lines are not records and are skipped.
    """
    offset, line_no = start_offset, start_line
    readline = stream.readline
    while True:
        data = readline(max_line_bytes + 1)
        if not data:
            return
        line_no += 1
        start = offset
        offset += len(data)
        if len(data) > max_line_bytes and not data.endswith(b"\n"):
            # Oversized: keep the head for the dead-letter record, skip the rest without holding it.
            kept = data[:KEEP_BYTES]
            total = len(data)
            while True:
                more = readline(max_line_bytes)
                if not more:
                    break
                offset += len(more)
                total += len(more)
                if more.endswith(b"\n"):
                    break
            where = f"{name}:{line_no}"
            rej = too_large(total, where, max_line_bytes)
            yield DecodedLine(line_no, start, offset, None, rej, kept)
            continue
        stripped = data.strip()
        if not stripped:
            continue
        where = f"{name}:{line_no}"
        payload, refused = decode_line(stripped, source=where, max_depth=max_depth)
        if refused is not None:
            yield DecodedLine(line_no, start, offset, None, refused, stripped[:KEEP_BYTES])
        else:
            yield DecodedLine(line_no, start, offset, payload, None, stripped)


def decode_lines(lines: Iterable[tuple[int, bytes | Oversized]], name: str, limit: int = MAX_LINE_BYTES) -> tuple[list[Any], list[str], list[Any]]:
    """Decode numbered lines (``iter_line_batches``' output): ``(payloads, sources, slots)``.

    ``payloads``/``sources`` are the lines that decoded, in order; ``slots`` has one entry per
    line: None for a decoded one, ``(rejection, kept bytes)`` for one that did not, so the
    caller can keep every line's place. The outcome of each line is :func:`decode_line`'s (or
    :func:`too_large`'s); the common case, a plain object, skips the call.
    """
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    payloads: list[Any] = []
    sources: list[str] = []
    slots: list[Any] = []
    for line_no, data in lines:
        where = f"{name}:{line_no}"
        if isinstance(data, Oversized):
            slots.append((too_large(data.total, where, limit), data.kept))
            continue
        # decode_line's own steps, its call saved for the lines it would pass as they are.
        try:
            payload = loads(data)
        except JSONDecodeError:
            payload = None
        if type(payload) is dict and data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
            rejection = None
        else:
            payload, rejection = decode_line(data, source=where)
        if rejection is None:
            payloads.append(payload)
            sources.append(where)
            slots.append(None)
        else:
            slots.append((rejection, data[:KEEP_BYTES]))
    return payloads, sources, slots
