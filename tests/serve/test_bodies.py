"""Bodies: JSON object or array, NDJSON; a bad record refuses the body with the decoder's own code."""

from __future__ import annotations

import io

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ebi_mapper.engine.jsonl.decode import iter_jsonl
from ebi_mapper.serve.bodies import format_of, parse_body


def test_formats():
    assert format_of("application/json; charset=utf-8") == "json"
    assert format_of("Application/X-NDJSON") == "ndjson"
    assert format_of("text/plain") is None and format_of(None) is None


def test_json_object_and_array():
    assert parse_body(b' {"a": 1} ', "json").records == [b'{"a": 1}']
    assert parse_body(b'[{"a": 1}, {"b": 2}]', "json").records == [b'{"a":1}', b'{"b":2}']
    assert parse_body(b"[]", "json").records == []
    bad = parse_body(b'[{"a": 1}, 3]', "json")
    assert bad.code == "not_object" and "item 1" in bad.message and not bad.records
    assert parse_body(b'"x"', "json").code == "not_object"
    assert parse_body(b"[" * 100 + b"]" * 100, "json").code == "too_deep"


def test_ndjson_names_the_line():
    good = parse_body(b'{"a":1}\n\n{"b":2}\n', "ndjson")
    assert good.records == [b'{"a":1}', b'{"b":2}']
    bad = parse_body(b'{"a":1}\n{"b": oops\n', "ndjson")
    assert bad.code == "decode" and bad.message.startswith("line 2:") and not bad.records


lines = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers(-1000, 1000), max_size=3).map(orjson.dumps),
    st.binary(max_size=20).filter(lambda b: b"\n" not in b and b.strip()),
    st.sampled_from([b"[1]", b"3", b'"s"', b"{oops", b"\xff\xfe"]),
)


@given(st.lists(lines, min_size=1, max_size=6))
def test_same_verdict_as_run(body_lines):
    """A body's records are judged as `run` judges the same lines (engine/jsonl/decode.py): same codes."""
    body = b"\n".join(body_lines)
    parsed = parse_body(body, "ndjson")
    run_view = [d for d in iter_jsonl(io.BytesIO(body + b"\n"))]
    first_bad = next((d for d in run_view if d.rejection is not None), None)
    if first_bad is None:
        assert parsed.code == "" and len(parsed.records) == len(run_view)
    else:
        assert parsed.code == first_bad.rejection.code and not parsed.records
