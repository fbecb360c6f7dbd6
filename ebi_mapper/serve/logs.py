"""Structured logs of ``serve``: one JSON object a line on stderr (what a log shipper wants).

Fields are names, counts, codes and reasons we wrote ourselves: never a header, a body or a
secret (text from outside goes through ebi_mapper.secrets.redact when present). Refusals are
logged at most ``_PER_SECOND`` times a second per reason, so a flood cannot fill the disk.
Proof: tests/serve/test_e2e.py::test_sigterm_drains_and_loses_nothing (the lines parse as JSON)
and ::test_admin_endpoints_need_the_token (no secret in the log).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import orjson

from ..secrets import redact

__all__ = ["log", "set_stream"]

_PER_SECOND = 20
_stream: TextIO | None = None
_lock = threading.Lock()
_window: dict[str, tuple[int, int]] = {}  # event+reason -> (second, count)


def set_stream(stream: TextIO | None) -> None:
    """Where log lines go (``None``: sys.stderr at the time of writing)."""
    global _stream
    _stream = stream


def _redact(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def log(event: str, **fields: Any) -> None:
    """Write one line ``{"ts": ..., "event": event, **fields}`` (rate-limited per event and reason)."""
    now = time.time()
    key = f"{event}:{fields.get('reason', '')}"
    with _lock:
        second, count = _window.get(key, (0, 0))
        count = count + 1 if second == int(now) else 1
        _window[key] = (int(now), count)
        if len(_window) > 1000:
            _window.clear()
    if count > _PER_SECOND:
        return
    line = orjson.dumps({"ts": round(now, 3), "event": event, **{k: _redact(v) for k, v in fields.items()}},
                        default=str).decode()
    out = _stream or sys.stderr
    try:
        out.write(line + "\n")
        out.flush()
    except (OSError, ValueError):  # a closed stderr must not break serving
        pass
