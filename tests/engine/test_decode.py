"""JSON lines decoding: every bad line is a located rejection and the stream goes on."""

from __future__ import annotations

import io

import pytest

from ebi_mapper.engine.jsonl.decode import decode_line, iter_jsonl


def _lines(data: bytes, **kw):
    return list(iter_jsonl(io.BytesIO(data), name="in.jsonl", **kw))


def test_good_bad_and_blank_lines():
    out = _lines(b'{"a": 1}\nnot json\n\n   \n[1,2]\n{"b": "\xff"}\n')
    assert [(d.line, d.payload, d.rejection.code if d.rejection else None) for d in out] == [
        (1, {"a": 1}, None),
        (2, None, "decode"),
        (5, None, "not_object"),  # valid JSON, but a line is one event object
        (6, None, "decode"),
    ]
    assert out[1].rejection.source == "in.jsonl:2" and out[1].raw == b"not json"
    assert "UTF-8" in out[3].rejection.message


def test_offsets_allow_resuming_exactly_after_a_line():
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3}\n'
    first = _lines(data)
    resumed = list(iter_jsonl(io.BytesIO(data[first[0].end :]), start_offset=first[0].end, start_line=1))
    assert [d.payload for d in resumed] == [{"a": 2}, {"a": 3}]
    assert [d.line for d in resumed] == [2, 3]
    assert resumed[-1].end == len(data)


def test_oversized_line_is_rejected_without_holding_it_and_the_stream_goes_on():
    big = b'{"x": "' + b"a" * 5000 + b'"}\n'
    out = _lines(big + b'{"ok": true}\n', max_line_bytes=1000)
    assert out[0].rejection.code == "too_large" and "5,010" in out[0].rejection.message
    assert len(out[0].raw) <= 64 * 1024
    assert out[1].payload == {"ok": True} and out[1].line == 2


def test_nesting_bomb_is_rejected():
    deep = b"[" * 200 + b"]" * 200 + b"\n"
    [d] = _lines(deep)
    assert d.rejection.code == "too_deep"
    ok = b'{"a":' * 10 + b"1" + b"}" * 10 + b"\n"
    assert _lines(ok)[0].payload is not None


def test_very_deep_nesting_beyond_the_json_parser_limit_is_also_a_rejection():
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n"
    [d] = _lines(deep)
    assert d.rejection is not None and d.rejection.code in ("too_deep", "decode")


@pytest.mark.parametrize("line", [b'{"a": 1}', b"[1, 2]", b'"text"', b"{bad", b"\xff\xfe{}", b"[" * 100 + b"]" * 100, b"", b"null"],
                         ids=["object", "array", "string", "malformed", "utf8", "deep", "empty", "null"])
def test_run_queue_workers_decode_a_line_as_run_does(line):
    """`run --queue` enqueues the raw line; its workers decode it with the same reader as `run` (one reader, one verdict)."""
    from ebi_mapper.scaleout.partition import decode_entry

    record = decode_entry("1-0", {b"d": line, b"src": b"in.jsonl:1"})
    payload, refused = decode_line(line, source="in.jsonl:1#1-0")
    assert record.payload == payload
    assert (record.code, record.error) == ((refused.code, refused.message) if refused else (None, None))
    if line.strip():  # iter_jsonl skips blank lines; any other line gets the same verdict there
        [read] = _lines(line + b"\n")
        assert (read.rejection.code if read.rejection else None) == record.code
