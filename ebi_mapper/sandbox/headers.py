"""Read a request's header block into the ``http.client.HTTPMessage`` the standard library would build.

Why: ``http.server`` parses every header block with the ``email`` package's feed parser, which
was a third of the sandbox's CPU per request under load (bench/bench_run.py puts the sandbox
under a load generator and under ``run``, on the same two cores). A request's headers are
``Name: value`` lines; building the message from them directly gives the same message (same
items, in order, duplicates kept) at a fraction of the cost. Proven against the ``email``
parser by tests/sandbox/test_sandbox_headers.py.

Only the common request takes this path (see ``_Handler.parse_request``): a request line of
exactly three words with ``HTTP/1.0`` or ``HTTP/1.1``. Anything else goes to the standard
library's own parsing, unchanged.
"""

from __future__ import annotations

import http.client
import re
from typing import Protocol

__all__ = ["MAX_HEADERS", "MAX_LINE", "HeaderError", "read_headers"]

# The standard library's limits (http.client._MAXLINE, _MAXHEADERS).
MAX_LINE = 65536
MAX_HEADERS = 100


# A field name as the email parser takes one: visible ASCII but the colon.
_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class HeaderError(Exception):
    """The header block is over a limit or malformed: the handler answers 431 or 400 with this text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_headers(fp: _Lines, message_class: type[http.client.HTTPMessage] = http.client.HTTPMessage
                 ) -> http.client.HTTPMessage:
    """Read header lines from ``fp`` up to the blank line and return them as ``message_class``.

    Values as the ``email`` parser's compat32 policy keeps them: leading blanks dropped, trailing
    line end dropped, a folded continuation line appended to its header as it came.
    """
    fields: list[list[str]] = []
    count = 0
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeaderError(431, "Line too long")
        count += 1
        if count > MAX_HEADERS:
            raise HeaderError(431, "Too many headers")
        if line in (b"\r\n", b"\n", b""):
            break
        text = line.decode("iso-8859-1")
        if text[0] in " \t":
            if not fields:
                raise HeaderError(400, "Bad header: a continuation line before any header")
            fields[-1].append(text)
            continue
        name, colon, _ = text.partition(":")
        if not colon or not _NAME.fullmatch(name):
            raise HeaderError(400, f"Bad header line ({text.rstrip()[:80]!r})")
        fields.append([text])
    message = message_class()
    for parts in fields:
        name, _, value = parts[0].partition(":")
        message[name] = (value.lstrip(" \t") + "".join(parts[1:])).rstrip("\r\n")
    return message
