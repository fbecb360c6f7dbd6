"""The sandbox's header reader gives the message the standard library's ``email`` parser gives.

``http.server`` parses header blocks with the ``email`` feed parser (a third of the sandbox's CPU
per request); headers.py builds the same ``HTTPMessage`` directly. Compared here on generated
header blocks: names of token characters, values with blanks around them, duplicates, folded
continuation lines. Plus the limits and the malformed lines the reader refuses.
"""

from __future__ import annotations

import http.client
import io
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.sandbox import start_sandbox
from ebi_mapper.sandbox.headers import MAX_HEADERS, MAX_LINE, HeaderError, read_headers

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NAMES = st.one_of(st.sampled_from(["Content-Length", "content-length", "X-Api-Key", "Connection", "Host"]),
                  st.text(TOKEN_CHARS, min_size=1, max_size=12))
VALUES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=30)
FIELDS = st.lists(st.tuples(NAMES, st.sampled_from(["", " ", "  ", "\t", " \t"]), VALUES,
                            st.lists(st.tuples(st.sampled_from([" ", "\t"]), VALUES), max_size=2)),
                  max_size=12)


def _block(fields: list, eol: str) -> bytes:
    lines = []
    for name, pad, value, folds in fields:
        lines.append(f"{name}:{pad}{value}{eol}")
        lines.extend(f"{blank}{more}{eol}" for blank, more in folds)
    return "".join(lines).encode("iso-8859-1") + eol.encode()


def _stdlib(block: bytes) -> list[tuple[str, str]]:
    return list(http.client.parse_headers(io.BytesIO(block)).items())


@settings(max_examples=300, deadline=None)
@given(FIELDS, st.sampled_from(["\r\n", "\n"]))
def test_the_reader_builds_the_message_the_email_parser_builds(fields, eol):
    block = _block(fields, eol)
    fp = io.BytesIO(block + b"BODY")
    message = read_headers(fp)
    assert list(message.items()) == _stdlib(block)
    assert isinstance(message, http.client.HTTPMessage)
    assert fp.read() == b"BODY"  # exactly the header block was read


def test_the_limits_are_the_standard_librarys():
    with pytest.raises(HeaderError) as too_long:
        read_headers(io.BytesIO(b"X-Long: " + b"a" * MAX_LINE + b"\r\n\r\n"))
    assert too_long.value.status == 431
    with pytest.raises(HeaderError) as too_many:
        read_headers(io.BytesIO(b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"))
    assert too_many.value.status == 431
    read_headers(io.BytesIO(b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS - 1)) + b"\r\n"))


@pytest.mark.parametrize("line", [b"No colon here\r\n", b" continued first\r\n", b"Bad Name: x\r\n", b": no name\r\n"])
def test_a_malformed_header_line_is_refused(line):
    with pytest.raises(HeaderError) as err:
        read_headers(io.BytesIO(line + b"\r\n"))
    assert err.value.status == 400


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_the_sandbox_answers_malformed_and_odd_requests_over_the_wire(tmp_path):
    handle = start_sandbox(port=0, db=str(tmp_path / "s.db"))
    try:
        port = handle.server.server_address[1]
        assert _raw(port, b"GET /health HTTP/1.1\r\nBad Name: x\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 400")
        assert _raw(port, b"GET /health HTTP/1.1\r\nX-Long: " + b"a" * (MAX_LINE + 1) + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
        # Request lines the fast path does not take: the standard library parses (and refuses) them.
        # (it answers a bad version without a status line, as to HTTP/0.9)
        assert b"505" in _raw(port, b"GET /health HTTP/2.0\r\n\r\n")
        assert b"400" in _raw(port, b"GET /health HTTX/1.1\r\n\r\n")
        assert _raw(port, b"GET /health HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200")
        assert _raw(port, b"GET //health HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 200")
        # A folded header and a keep-alive HTTP/1.0 request still work.
        answer = _raw(port, b"GET /health HTTP/1.1\r\nX-Note: a\r\n b\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        handle.stop()
