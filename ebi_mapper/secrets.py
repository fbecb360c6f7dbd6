"""Secret values known to this process, and ``redact(text)`` that removes them from any text.

Why a registry: a token can reach text that leaves the process by ways no single call site can
foresee (an upstream that echoes the ``Authorization`` header back in its 4xx body, an exception
that quotes a request, a traceback). So every place that *reads* a secret from the environment
registers it here (:func:`register`, or :func:`read_env_secret` which does both), and every place
where text *leaves* the process (dead-letter reasons and payload copies written to the state, the
HTTP sink's reasons and errors, the CLI's error lines) passes it through :func:`redact`.

``redact`` replaces each registered value and its common encodings (standard and URL-safe
base64, with and without padding; percent-encoding; the ``user:secret`` base64 of HTTP Basic
auth is covered by the plain value only when it is registered as such) with ``***``. Values
shorter than :data:`MIN_LENGTH` characters are refused by :func:`register`: redacting ``"1"``
from every message would destroy the messages and protect nothing.

Proof: ``tests/test_secrets.py`` (every encoding, Hypothesis: a registered value never survives
``redact`` whatever text surrounds it) and ``tests/delivery/test_secret_echo.py`` (a receiver
that echoes the token in its error body: the token appears nowhere in ``state.sqlite``'s raw
bytes, stdout or stderr).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_LENGTH", "RedactFilter", "clear", "read_env_secret", "redact", "redact_bytes", "redact_value", "register", "registered_count"]

MASK = "***"
MIN_LENGTH = 6

_lock = threading.Lock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    """The value and the encodings in which it commonly shows up in echoed text."""
    raw = value.encode("utf-8", "surrogatepass")
    forms = {value, quote(value, safe=""), quote_plus(value, safe="")}
    for enc in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = enc.decode("ascii")
        forms.add(text)
        forms.add(text.rstrip("="))
    return {f for f in forms if len(f) >= MIN_LENGTH}


def register(*values: str | None) -> None:
    """Remember secret values so :func:`redact` hides them; ``None``/short values are ignored."""
    global _pattern
    added = False
    with _lock:
        for value in values:
            if value is None:
                continue
            for form in (value, value.strip()):
                if len(form) >= MIN_LENGTH and form not in _values:
                    _values.add(form)
                    added = True
        if added:
            forms: set[str] = set()
            for v in _values:
                forms |= _forms(v)
            # Longest first so a value that contains another is masked whole.
            _pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))


def registered_count() -> int:
    """How many distinct secret values are registered (for tests and diagnostics, never the values)."""
    with _lock:
        return len(_values)


def clear() -> None:
    """Forget every registered value (tests only: a process never un-learns a secret)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None


def redact(text: str, *, mask: str = MASK) -> str:
    """``text`` with every registered secret (and its base64/URL encodings) replaced by ``mask``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(lambda _: mask, text)


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, keys too); other values as they are."""
    if _pattern is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def read_env_secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The stripped value of environment variable ``name`` (``None`` when unset or blank), registered."""
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    if not value:
        return None
    register(value)
    return value


def redact_bytes(data: bytes) -> bytes:
    """Raw bytes (an undecodable input line kept as-is) with registered secrets masked; other bytes unchanged."""
    if _pattern is None or not data:
        return data
    text = data.decode("utf-8", "surrogateescape")
    masked = redact(text)
    return data if masked == text else masked.encode("utf-8", "surrogateescape")


class RedactFilter(logging.Filter):
    """A logging filter that masks registered secrets in each record's final message.

    Attach it to a handler (``handler.addFilter(RedactFilter())``): the message is formatted once
    here (``msg % args``) and the record carries the redacted text, so no formatter downstream
    sees the raw arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is not None:
            record.msg = redact(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
        return True
