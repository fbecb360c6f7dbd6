"""The HTTP side of ``serve`` (Starlette): intake paths, health, metrics and the status page.

An intake request is checked in this order, cheapest first, and answered (docs/serve.md
"Status codes"): unknown path 404; wrong method 405; service stopping 503; Content-Type not one
of the source's formats 415; ``Content-Length`` over ``max_body_bytes`` 413; backlog over
``max_backlog`` 429 / disk under ``min_free_disk_mb`` 503 (both with ``Retry-After``); then the
body is read with a deadline (408) and counted while it streams (413); then auth (401, nothing
stored); then the body is parsed (400 with the reason; the body is kept as an ``intake`` dead
letter); then its records go to the intake queue and the 2xx (202 stored, 200 duplicate) is sent
only after their COMMIT. Proof: tests/serve/test_e2e.py::test_status_codes, ::test_backlog_and_disk_bounds,
::test_accepts_delivers_and_reads_beside, ::test_admin_endpoints_need_the_token.

Admin endpoints (``/``, ``/status.json``, ``/metrics``) need ``Authorization: Bearer <admin
token>``; with no token configured they answer loopback clients only. ``/healthz`` and
``/readyz`` are open (a load balancer asks them).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .bodies import format_of, parse_body
from .intake import IntakeClosed
from .logs import log
from .metrics import ServeMetrics, StateCollector
from .snapshot import snapshot
from .status_page import render

__all__ = ["ServiceState", "make_app"]

_RETRY_AFTER = "5"  # seconds a refused sender waits (backlog, disk, stopping)


@dataclass
class ServiceState:
    served: list[Any]
    metrics: ServeMetrics
    admin_token: str | None = None
    started_at: float = field(default_factory=time.time)
    version: str = ""
    stopping: bool = False


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _is_woo_ping(request: Request) -> bool:
    """WooCommerce pings a new webhook with a form-encoded ``webhook_id=<n>`` body (tiny: read it)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return False
    body = await _read_body(request, 64)
    return re.fullmatch(rb"webhook_id=\d{1,20}", body.strip()) is not None


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_app(svc: ServiceState) -> Starlette:
    metrics = svc.metrics
    metrics.registry.register(StateCollector(lambda: [(sm.client, sm.figures()) for sm in svc.served]))

    def refuse(sm: Any, source: str, status: int, reason: str, message: str, retry: bool = False) -> Response:
        metrics.refused.labels(sm.client, source, reason).inc()
        metrics.requests.labels(sm.client, source, "refused").inc()
        if sm.intake is not None:
            sm.intake.note("refused", reason)
        log("refused", mapping=sm.client, source=source, status=status, reason=reason)
        headers = {"Retry-After": _RETRY_AFTER} if retry else {}
        if status in (408, 413):
            headers["Connection"] = "close"  # the rest of the body is not read
        return _json(status, {"error": reason, "message": message}, headers)

    def intake_endpoint(sm: Any, src: Any) -> Any:
        cfg = sm.config

        async def endpoint(request: Request) -> Response:
            t0 = time.perf_counter()
            name = src.name
            if svc.stopping or sm.intake is None or not sm.intake.alive():
                return refuse(sm, name, 503, "unavailable", "the service is stopping or its queue is not writable", True)
            fmt = format_of(request.headers.get("content-type"))
            if fmt is None and src.scheme == "woocommerce" and await _is_woo_ping(request):
                return _json(200, {"status": "ping"})  # WooCommerce's save-time check: nothing to store
            if fmt is None or fmt not in src.formats:
                allowed = ", ".join(t for f in src.formats for t in {"json": ["application/json"],
                                                                     "ndjson": ["application/x-ndjson"]}[f])
                return refuse(sm, name, 415, "unsupported_media_type", f"send Content-Type {allowed}")
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cfg.max_body_bytes:
                return refuse(sm, name, 413, "too_large", f"the body is over {cfg.max_body_bytes} bytes")
            if sm.intake.backlog() >= cfg.max_backlog:
                return refuse(sm, name, 429, "backlog_full", f"{sm.intake.backlog()} records wait for delivery", True)
            if not sm.disk_ok():
                return refuse(sm, name, 503, "disk_full", f"under {cfg.min_free_disk_mb} MB free for the queue", True)
            try:
                body = await asyncio.wait_for(_read_body(request, cfg.max_body_bytes), cfg.body_timeout)
            except _TooLarge:
                return refuse(sm, name, 413, "too_large", f"the body is over {cfg.max_body_bytes} bytes")
            except TimeoutError:
                return refuse(sm, name, 408, "body_timeout", f"the body did not arrive within {cfg.body_timeout:g}s")
            except ClientDisconnect:
                return refuse(sm, name, 400, "client_disconnected", "the body was cut off")
            headers = {k.lower(): v for k, v in request.headers.items()}
            verdict = src.verifier.verify(headers, body, time.time())
            if not verdict.ok:
                return refuse(sm, name, 401, verdict.reason or "unauthorized", "authentication failed")
            parsed = parse_body(body, fmt)
            try:
                if parsed.code:
                    fut = sm.intake.submit(name, verdict.webhook_id, [body[:65536]], error=(parsed.code, parsed.message))
                else:
                    fut = sm.intake.submit(name, verdict.webhook_id, parsed.records)
                done = await asyncio.wrap_future(fut)
            except IntakeClosed as exc:
                return refuse(sm, name, 503, "unavailable", str(exc), True)
            except Exception:  # noqa: BLE001 - the queue could not commit: the sender must retry
                return refuse(sm, name, 503, "queue_error", "the intake queue could not commit; retry", True)
            if parsed.code:
                refused = refuse(sm, name, 400, parsed.code, parsed.message)
                return refused
            metrics.accept_seconds.labels(sm.client).observe(time.perf_counter() - t0)
            if done.status == "duplicate":
                metrics.requests.labels(sm.client, name, "duplicate").inc()
                return _json(200, {"status": "duplicate", "records": 0})
            n = len(parsed.records)
            metrics.requests.labels(sm.client, name, "accepted").inc()
            metrics.records.labels(sm.client, name).inc(n)
            sm.intake.note("received", name, n)
            return _json(202, {"status": "accepted", "records": n})

        return endpoint

    def admin(handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            if svc.admin_token:
                auth = request.headers.get("authorization", "")
                kind, _, token = auth.partition(" ")
                if kind.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), svc.admin_token.encode()):
                    return _json(401, {"error": "unauthorized", "message": "admin endpoints need the admin bearer token"},
                                 {"WWW-Authenticate": "Bearer"})
            elif not _is_loopback(request):
                return _json(403, {"error": "forbidden", "message": "no admin token is set: admin endpoints answer loopback only"})
            return await handler(request)

        return guarded

    async def healthz(request: Request) -> Response:
        return _json(200, {"status": "alive"})

    async def readyz(request: Request) -> Response:
        problems = []
        for sm in svc.served:
            ok, why = await run_in_threadpool(sm.ready)
            if not ok:
                problems.append(why)
        if svc.stopping:
            problems.append("stopping")
        return _json(503 if problems else 200, {"status": "not ready" if problems else "ready", "problems": problems})

    async def metrics_endpoint(request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    def _snapshot() -> dict[str, Any]:
        return snapshot(svc.served, started_at=svc.started_at, version=svc.version)

    async def status_json(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(_snapshot))

    async def status_page(request: Request) -> Response:
        snap = await run_in_threadpool(_snapshot)
        return HTMLResponse(render(snap))

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", admin(metrics_endpoint), methods=["GET"]),
        Route("/status.json", admin(status_json), methods=["GET"]),
        Route("/", admin(status_page), methods=["GET"]),
    ]
    for sm in svc.served:
        for src in sm.config.sources:
            routes.append(Route(src.path, intake_endpoint(sm, src), methods=["POST"]))

    async def not_found(request: Request, exc: Exception) -> Response:
        metrics.refused.labels("", "", "unknown_path").inc()
        return _json(404, {"error": "unknown_path", "message": f"nothing is served at {request.url.path}"})

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _json(405, {"error": "method_not_allowed", "message": "intake paths take POST"}, {"Allow": "POST"})

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
