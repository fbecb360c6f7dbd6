"""The sandbox's HTTP side: a threading HTTP/1.1 server (keep-alive) over :class:`SandboxApp`.

Routes: ``POST <path>`` (events), ``POST <attributes_path>`` (bespoke rows), ``GET /events``,
``GET /attributes``, ``GET /stats``, ``GET|POST /_faults``, ``POST /_reset``, ``GET /health``.
The control routes need no token: the sandbox is a local rehearsal tool bound to loopback.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import orjson

from ..catalog.model import Catalog
from .app import Reply, SandboxApp, make_sandbox_app
from .config import SandboxConfig, SandboxConfigError, make_sandbox_config
from .faults import FaultError, FaultPlan
from .headers import HeaderError, read_headers

__all__ = ["SandboxServer", "SandboxHandle", "make_sandbox_server", "start_sandbox"]

log = logging.getLogger("ebi_mapper.sandbox")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections
    server: SandboxServer
    server_version = "ebi-mapper-sandbox"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's delayed
    # ACK would stall every answer by ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        # Per connection, from the server's config; typeshed declares it a class variable.
        self.timeout = self.server.app.config.idle_timeout  # type: ignore[misc]
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def parse_request(self) -> bool:
        """The common request line (``METHOD target HTTP/1.x``) with its headers read by headers.py;
        anything else is the standard library's to parse (and refuse)."""
        line: bytes = self.raw_requestline.rstrip(b"\r\n")  # type: ignore[attr-defined]  # set by handle_one_request (not in typeshed)
        words = line.split()
        if len(words) != 3 or words[2] not in (b"HTTP/1.1", b"HTTP/1.0") or words[1].startswith(b"//"):
            return super().parse_request()
        self.requestline = line.decode("iso-8859-1")
        self.command, self.path, self.request_version = (w.decode("iso-8859-1") for w in words)
        self.close_connection = words[2] != b"HTTP/1.1"
        try:
            self.headers = read_headers(self.rfile, self.MessageClass)
        except HeaderError as exc:
            self.close_connection = True
            self.send_error(exc.status, str(exc))
            return False
        connection = self.headers.get("Connection", "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if self.headers.get("Expect", "").lower() == "100-continue" and words[2] == b"HTTP/1.1":
            return self.handle_expect_100()
        return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        log.debug("%s %s", self.address_string(), format % args)

    # ---- plumbing --------------------------------------------------------------------------

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(Reply(411, {"status": 411, "error": "length_required",
                                   "message": "send a Content-Length; chunked bodies are not accepted"}), close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        limit = self.server.app.config.max_body_bytes
        if length < 0 or length > limit:
            self._send(Reply(413, {"status": 413, "error": "payload_too_large",
                                   "message": f"body must be 0..{limit} bytes"}), close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply, *, close: bool = False) -> None:
        if reply.delay and reply.action != "hang":
            self.server.stopping.wait(reply.delay)  # a slow receiver: the work is done, the answer late
        if reply.action == "drop":
            self.close_connection = True
            _abort(self.connection)
            return
        if reply.action == "hang":
            self.close_connection = True
            self.server.stopping.wait(reply.delay)
            _abort(self.connection)
            return
        payload = orjson.dumps(reply.body) if reply.body is not None else b""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    # ---- routes ----------------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 (stdlib's name)
        app = self.server.app
        route = urlsplit(self.path).path
        body = self._body()
        if body is None:
            return
        if route == app.config.path:
            self._send(app.handle_events(self.headers, body))
        elif route == app.config.attributes_path:
            self._send(app.handle_attributes(self.headers, body))
        elif route == "/_faults":
            self._send(self._set_faults(body))
        elif route == "/_reset":
            app.reset()
            self._send(Reply(200, {"status": 200, "reset": True}))
        else:
            self._send(_not_found(route))

    def do_GET(self) -> None:  # noqa: N802
        app = self.server.app
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/stats":
            self._send(Reply(200, app.stats()))
        elif parts.path == "/events":
            try:
                limit = int(query["limit"]) if "limit" in query else None
            except ValueError:
                self._send(Reply(400, {"status": 400, "error": "bad_request", "message": "limit must be an integer"}))
                return
            events = app.events(event=query.get("event"), customer=query.get("customer"), limit=limit)
            self._send(Reply(200, {"count": len(events), "events": events}))
        elif parts.path == "/attributes":
            rows = app.store.attributes(customer=query.get("customer"))
            self._send(Reply(200, {"count": len(rows), "rows": rows}))
        elif parts.path == "/_faults":
            self._send(Reply(200, app.faults.plan.to_dict()))
        elif parts.path == "/health":
            self._send(Reply(200, {"status": "ok"}))
        else:
            self._send(_not_found(parts.path))

    def _set_faults(self, body: bytes) -> Reply:
        try:
            settings = orjson.loads(body or b"{}")
            if not isinstance(settings, dict):
                raise FaultError("fault settings must be a JSON object")
            plan = self.server.app.set_faults(settings)
        except (orjson.JSONDecodeError, FaultError) as exc:
            return Reply(400, {"status": 400, "error": "bad_faults", "message": str(exc)})
        return Reply(200, plan.to_dict())


def _not_found(route: str) -> Reply:
    return Reply(404, {"status": 404, "error": "not_found", "message": f"no route {route!r}"})


def _abort(sock: socket.socket) -> None:
    """Close a connection without a response (the client sees a dropped connection)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class SandboxServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its app and its open connections (closed on stop)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, is_open: bool) -> None:
        """Remember open connections so stop can close idle keep-alive ones."""
        with self._conns_lock:
            (self._conns.add if is_open else self._conns.discard)(conn)
        if is_open:
            self.app.counters.add("connections", "opened")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test, dropped socket) is normal here, not an error.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_all(self) -> None:
        """Stop serving, wake held requests, close every open connection and the store."""
        self.stopping.set()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            _abort(conn)
        self.server_close()

    @property
    def url(self) -> str:
        """``http://host:port`` of the listening socket."""
        host, port = cast(tuple[str, int], self.server_address)[:2]  # a TCP server's address
        return f"http://{host}:{port}"


def make_sandbox_server(config: SandboxConfig | None = None, *, catalog: Catalog | None = None,
                        **options: Any) -> SandboxServer:
    """Bind a sandbox server (not yet serving) from a config or keyword options."""
    config = config or make_sandbox_config(**options)
    app = make_sandbox_app(config, catalog)
    try:
        return SandboxServer((config.host, config.port), app)
    except OSError as exc:
        app.close()
        raise SandboxConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}") from exc


class SandboxHandle:
    """A sandbox serving on a background thread; a context manager that stops it on exit."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.app = server.app
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="ebi-mapper-sandbox", daemon=True)
        self._thread.start()
        self._stopped = False

    def __repr__(self) -> str:
        return f"SandboxHandle(url={self.url!r})"

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:40123``."""
        return self.server.url

    @property
    def endpoint(self) -> str:
        """The events endpoint a sink posts to."""
        return self.url + self.app.config.path

    @property
    def attributes_endpoint(self) -> str:
        """The bespoke attributes endpoint."""
        return self.url + self.app.config.attributes_path

    @property
    def auth_header(self) -> str:
        """The header that carries the token."""
        return self.app.config.auth_header

    @property
    def token(self) -> str | None:
        """The token the sandbox expects (``None``: no authentication)."""
        return self.app.config.token

    def stats(self) -> dict[str, Any]:
        """Same as ``GET /stats``."""
        return self.app.stats()

    def events(self, *, event: str | None = None, customer: str | None = None,
               limit: int | None = None) -> list[dict]:
        """Same as ``GET /events``."""
        return self.app.events(event=event, customer=customer, limit=limit)

    def attributes(self, *, customer: str | None = None) -> list[dict]:
        """Same as ``GET /attributes``."""
        return self.app.store.attributes(customer=customer)

    def set_faults(self, settings: dict | FaultPlan | None = None, **kw: Any) -> FaultPlan:
        """Same as ``POST /_faults``: ``set_faults({"500": 0.1, "seed": 1})``."""
        merged: dict[str, Any] | FaultPlan = dict(settings or {}) if not isinstance(settings, FaultPlan) else settings
        if kw:  # keywords change a plan too (a FaultPlan is not a mapping: start from its dict form)
            merged = {**(merged.to_dict() if isinstance(merged, FaultPlan) else merged), **kw}
        return self.app.set_faults(merged)

    def reset(self) -> None:
        """Same as ``POST /_reset``."""
        self.app.reset()

    def stop(self) -> None:
        """Stop serving, close connections and the database; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.close_all()
        self._thread.join()
        self.app.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_sandbox(config: SandboxConfig | None = None, *, catalog: Catalog | None = None,
                  **options: Any) -> SandboxHandle:
    """Start a sandbox on a background thread; options are those of :class:`SandboxConfig`.

    >>> with start_sandbox(vertical="casino", rate_limits={"profile": (5, 1)}) as sandbox:
    ...     sandbox.endpoint  # doctest: +SKIP
    """
    return SandboxHandle(make_sandbox_server(config, catalog=catalog, **options))
