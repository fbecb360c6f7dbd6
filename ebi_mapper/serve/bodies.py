"""What a request body may hold, and how it becomes records (one JSON object each).

Accepted (docs/serve.md "Bodies"):

* ``application/json`` (any ``charset`` parameter; UTF-8 only): one JSON object = one record, or
  a JSON array of objects = one record each (an empty array is accepted and stores nothing);
* ``application/x-ndjson`` (also ``application/ndjson``, ``application/jsonl``): one JSON object
  per line; blank lines are skipped.

Each record is checked by the engine's own decoder (engine/jsonl/decode.py ``decode_line``, the one
``run`` and ``map`` use), so a record is judged the same in every command. One bad record makes
the whole body refused (400, all-or-nothing: a sender retrying a fixed body never half-duplicates
it); the reason names the line or array index. Proof: tests/serve/test_bodies.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ..engine.jsonl.decode import MAX_DEPTH, decode_line, not_object

__all__ = ["ParsedBody", "parse_body", "media_type", "FORMATS"]

# format name (serve.sources[].formats) -> media types
FORMATS = {
    "json": ("application/json",),
    "ndjson": ("application/x-ndjson", "application/ndjson", "application/jsonl"),
}


@dataclass(frozen=True)
class ParsedBody:
    records: list[bytes]  # the bytes of each record, ready for the intake queue
    code: str = ""  # a rejection code ('' when the body is good)
    message: str = ""


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json`` (lower case)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _format_of(mtype: str) -> str | None:
    for name, types in FORMATS.items():
        if mtype in types:
            return name
    return None


def format_of(content_type: str | None) -> str | None:
    """The format name of a Content-Type, or ``None`` when it is not one serve reads."""
    return _format_of(media_type(content_type))


def parse_body(body: bytes, fmt: str) -> ParsedBody:
    """Split ``body`` (of format ``fmt``) into records, or say why it cannot be."""
    if fmt == "ndjson":
        return _ndjson(body)
    payload, rej = decode_line(body.strip(), source="body")
    if rej is None:
        return ParsedBody([body.strip()])
    if rej.code != "not_object":
        return ParsedBody([], rej.code, rej.message)
    try:
        whole = orjson.loads(body)
    except orjson.JSONDecodeError:  # pragma: no cover - decode_line parsed it
        return ParsedBody([], rej.code, rej.message)
    if type(whole) is not list:
        return ParsedBody([], "not_object", not_object(whole, "body").message.split(" (")[0].replace("the line", "the body")
                          + " (send one JSON object, or an array of them)")
    records = []
    for i, item in enumerate(whole):
        if type(item) is not dict:
            msg = not_object(item, "").message.split(" (")[0].replace("the line", f"item {i} of the array")
            return ParsedBody([], "not_object", msg)
        records.append(orjson.dumps(item))
    return ParsedBody(records)


def _ndjson(body: bytes) -> ParsedBody:
    records = []
    for n, line in enumerate(body.split(b"\n"), 1):
        line = line.strip()
        if not line:
            continue
        payload, rej = decode_line(line, source=f"line {n}", max_depth=MAX_DEPTH)
        if rej is not None:
            return ParsedBody([], rej.code, f"line {n}: {rej.message}")
        records.append(line)
    return ParsedBody(records)
