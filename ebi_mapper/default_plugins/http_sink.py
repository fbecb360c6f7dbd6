"""HTTP sinks: POST each batch as a JSON array and turn the answer into a :class:`SendResult`.

Response mapping (shared by the ``optimove`` and ``api_attributes`` sinks):

* 2xx → ``ok``.
* 429 → ``retry`` with ``retry_after`` from ``Retry-After`` (seconds or an HTTP date).
* 408, 5xx, timeouts, refused/dropped connections → ``retry``.
* 401 / 403 (the token is refused), 404 / 405 (wrong URL) and 3xx → :class:`DeliveryError`:
  no event is at fault, so dead-lettering every batch one by one would be wrong; the run stops
  with a message that names the setting to fix (recorded choice, ``docs/sinks.md``).
* any other 4xx → ``rejected`` with the server's reason (``message``/``error`` of a JSON body)
  and ``rejected_index`` when the body names the bad item's ``index``.

The token is read from an environment variable once, kept only in the HTTP client's default
headers, registered with :mod:`ebi_mapper.secrets`, and scrubbed from every reason and error text
(with its base64 and URL encodings, and before a server's text is cut to 300 characters, so no
part of an echoed token survives the cut; tests/delivery/test_secret_echo.py); reprs show the
variable's name only.

Requests go over a small pool of keep-alive HTTP/1.1 connections of the standard library
(``http.client``), one per sending thread at a time: a request costs about a third of the CPU of
``httpx.Client`` (measured in bench/bench_run.py, where sending is the loop's largest cost), and
the loop and its senders share one core's worth of interpreter. ``httpx`` still carries the
requests when a proxy is configured in the environment (its proxy rules are not re-implemented
here) or a test hands in a transport; TLS uses the context ``httpx`` would build, so certificate
checks are the same either way. Proven by tests/sinks/test_sink_optimove.py (every answer class,
faults, one reused connection, secrets) and tests/sinks/test_http_pool.py (stale and closed
connections, many threads).
"""

from __future__ import annotations

import http.client
import logging
import math
import os
import select
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx
import orjson

from ..errors import DeliveryError
from ..extensions import SendResult
from ..secrets import redact, register

__all__ = ["DEFAULT_AUTH_HEADER", "HttpJsonSink", "parse_retry_after", "result_from_response", "read_token", "safe_url"]

log = logging.getLogger("ebi_mapper.delivery.http")

# Same default as the sandbox (the real header name is not in the stored Optimove docs).
DEFAULT_AUTH_HEADER = "X-Api-Key"
_REDACTED = "[redacted]"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; ``None`` if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def safe_url(url: str) -> str:
    """``url`` as messages show it: without user:password and query (either may hold a credential,
    e.g. a URL taken from ``${OPTIMOVE_URL}``); the scheme, host, port and path stay for diagnosis."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    if not parts.scheme or not host:
        return "<not an http(s) URL>" if ("@" in url or "?" in url) else url
    return f"{parts.scheme}://{host}{port}{parts.path}"


def read_token(sink: str, env_var: str) -> str:
    """The token held by ``env_var``; a missing or empty variable names the variable, never a value."""
    value = os.environ.get(env_var, "")
    if not value.strip():
        raise DeliveryError(f"sink {sink!r}: environment variable {env_var!r} is not set or empty; "
                            f"it must hold the token")
    register(value.strip())
    return value.strip()


def _reason_from_body(response: httpx.Response) -> tuple[str, int | None]:
    """The server's reason text and the index of the bad item, if its JSON body gives them."""
    index = None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = redact(response.content.decode("utf-8", "replace").strip(), mask=_REDACTED)
        return (text[:300] or response.reason_phrase), None
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message")
        parts = [redact(str(p), mask=_REDACTED) for p in (error, message) if p not in (None, "")]
        raw_index = body.get("index")
        if isinstance(raw_index, int) and not isinstance(raw_index, bool):
            index = raw_index
        return (": ".join(parts) if parts else redact(orjson.dumps(body).decode(), mask=_REDACTED)[:300]), index
    return redact(orjson.dumps(body).decode(), mask=_REDACTED)[:300], None


def result_from_response(response: httpx.Response, *, batch_size: int, sink: str = "http") -> SendResult:
    """Map an HTTP answer to ``ok`` / ``retry`` / ``rejected`` (or raise for a configuration fault)."""
    status = response.status_code
    if 200 <= status < 300:
        return SendResult("ok", http_status=status)
    reason, index = _reason_from_body(response)
    reason = f"HTTP {status}: {reason}"
    if status == 429:
        return SendResult("retry", reason=reason, http_status=status,
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status == 408 or status >= 500:
        return SendResult("retry", reason=reason, http_status=status,
                          retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise DeliveryError(f"sink {sink!r}: the endpoint refused the token ({reason}); "
                            f"check the token variable and the auth header name")
    if status in (404, 405) or 300 <= status < 400:
        where = response.headers.get("Location", "")
        hint = f" (redirects to {where})" if where else ""
        raise DeliveryError(f"sink {sink!r}: {reason}{hint}; check the endpoint URL {safe_url(str(response.request.url))!r}")
    if index is not None and not 0 <= index < batch_size:
        index = None  # a server index outside the batch cannot be trusted to isolate anything
    return SendResult("rejected", reason=reason, http_status=status, rejected_index=index)


_POOL = httpx.Limits(max_connections=None, max_keepalive_connections=256, keepalive_expiry=30.0)
_KEEPALIVE = 30.0  # seconds an idle connection is kept (as httpx's keepalive_expiry)


class _SendError(Exception):
    """A request failed on the wire; ``kind`` names it as httpx would (ConnectError, ReadTimeout...)."""

    def __init__(self, kind: str, detail: str, timeout: bool):
        super().__init__(detail)
        self.kind = kind
        self.timeout = timeout


class _ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one origin, shared by the sending threads (one request each at a time)."""

    def __init__(self, url: str, timeout: float, headers: dict[str, str], context: Any) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._headers = {**headers, "User-Agent": "ebi-mapper", "Connection": "keep-alive"}
        self._context = context
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        now = time.monotonic()
        while True:
            # The lock guards the list only: the check below is a system call, and a thread that
            # held the lock through it (and then waited for the interpreter) stalled every other
            # sender behind it (measured: a third of the senders' time in bench/bench_run.py).
            with self._lock:
                if not self._idle:
                    break
                conn, since = self._idle.pop()
            sock = conn.sock
            # Reuse only a connection the server has not closed meanwhile (it would be readable:
            # EOF), nor kept idle past the expiry: a request on it would fail for nothing.
            if sock is not None and now - since < _KEEPALIVE and not select.select([sock], [], [], 0)[0]:
                return conn
            conn.close()
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._context)
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise _SendError("ConnectTimeout", str(exc), True) from exc
        except OSError as exc:
            conn.close()
            raise _SendError("ConnectError", str(exc), False) from exc
        return conn

    def post(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """POST ``body``: the answer's status, headers and body; :class:`_SendError` on the wire's faults."""
        conn = self._connection()
        try:
            conn.request("POST", self._target, body=body, headers=self._headers)
            response = conn.getresponse()
            content = response.read()
        except TimeoutError as exc:
            conn.close()
            raise _SendError("ReadTimeout", str(exc), True) from exc
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            kind = "RemoteProtocolError" if isinstance(exc, http.client.HTTPException) else "ReadError"
            raise _SendError(kind, str(exc) or type(exc).__name__, False) from exc
        if response.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append((conn, time.monotonic()))
        return response.status, response.getheaders(), content

    def connections(self) -> int:
        """Idle connections kept (for tests)."""
        return len(self._idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _proxied(trust_env: bool) -> bool:
    """Whether the environment names a proxy that httpx would use (then httpx carries every request)."""
    return trust_env and any(getproxies().get(k) for k in ("http", "https", "all"))


class HttpJsonSink:
    """POSTs each batch as a JSON array over one reused ``httpx.Client`` (keep-alive)."""

    def __init__(self, *, name: str, url: str, token: str | None = None, token_env: str | None = None,
                 auth_header: str = DEFAULT_AUTH_HEADER, timeout: float = 10.0, trust_env: bool = True,
                 prepare: Callable[[list[dict]], tuple[list, SendResult | None]] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DeliveryError(f"sink {name!r}: url must be an http(s) URL, got {safe_url(url)!r}")
        if timeout <= 0:
            raise DeliveryError(f"sink {name!r}: timeout must be positive, got {timeout!r}")
        self.name = name
        self.url = url
        self.token_env = token_env
        self.auth_header = auth_header
        self.timeout = timeout
        self._prepare = prepare
        self._secret = token or ""
        register(self._secret)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers[auth_header] = token
        # One pool shared by every sending thread: each keeps its keep-alive connection (no cap on
        # connections, so `concurrency` requests are in flight, never waiting for a free one).
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout), trust_env=trust_env,
                                    transport=transport, limits=_POOL)
        self._pool: _ConnectionPool | None = None
        if transport is None and not _proxied(trust_env) and not parts.username:  # credentials in the URL: httpx sends them
            context = httpx.create_ssl_context(trust_env=trust_env) if parts.scheme == "https" else None
            self._pool = _ConnectionPool(url, timeout, headers, context)
        self._closed = False

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, url={safe_url(self.url)!r}, auth_header={self.auth_header!r}, "
                f"token_env={self.token_env!r}, timeout={self.timeout!r})")

    def _scrub(self, text: str) -> str:
        return redact(text.replace(self._secret, _REDACTED) if self._secret else text, mask=_REDACTED)

    def send(self, batch: list[dict]) -> SendResult:
        """POST ``batch``; never raises for transient faults or bad data, only for configuration faults."""
        if self._closed:
            raise DeliveryError(f"sink {self.name!r} is closed")
        payload = batch
        if self._prepare is not None:
            payload, refused = self._prepare(batch)
            if refused is not None:
                return refused
        try:
            body = orjson.dumps(payload)
        except TypeError as exc:
            raise DeliveryError(f"sink {self.name!r}: batch is not JSON-serialisable: {exc}") from exc
        if self._pool is not None:
            result = self._post_pooled(body, len(batch))
        else:
            result = self._post_httpx(body, len(batch))
        if result.status != "ok":
            log.debug("sink %s: %s (%d items): %s", self.name, result.status, len(batch), result.reason)
        return result

    def _post_pooled(self, body: bytes, size: int) -> SendResult:
        try:
            status, headers, content = self._pool.post(body)  # type: ignore[union-attr]
        except _SendError as exc:
            if exc.timeout:
                return SendResult("retry", reason=self._scrub(f"timeout after {self.timeout:g} s ({exc.kind})"))
            return SendResult("retry", reason=self._scrub(f"connection error ({exc.kind}): {exc}"))
        if 200 <= status < 300:
            return SendResult("ok", http_status=status)
        # Anything else is read exactly as the httpx path reads it (one mapping of answers).
        response = httpx.Response(status, headers=headers, content=content, request=httpx.Request("POST", self.url))
        return self._judge(response, size)

    def _judge(self, response: httpx.Response, size: int) -> SendResult:
        try:
            result = result_from_response(response, batch_size=size, sink=self.name)
        except DeliveryError as exc:
            raise DeliveryError(self._scrub(str(exc))) from None
        if result.reason:
            result = SendResult(result.status, self._scrub(result.reason), result.retry_after,
                                result.http_status, result.rejected_index)
        return result

    def _post_httpx(self, body: bytes, size: int) -> SendResult:
        try:
            response = self._client.post(self.url, content=body)
        except httpx.TimeoutException as exc:
            result = SendResult("retry", reason=self._scrub(f"timeout after {self.timeout:g} s ({type(exc).__name__})"))
        except httpx.TransportError as exc:
            result = SendResult("retry", reason=self._scrub(f"connection error ({type(exc).__name__}): {exc}"))
        else:
            result = self._judge(response, size)
        return result

    def close(self) -> None:
        """Close the connection pool; idempotent."""
        if not self._closed:
            self._closed = True
            self._client.close()
            if self._pool is not None:
                self._pool.close()

    def __enter__(self) -> HttpJsonSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
