"""The sandbox's request logic, independent of the HTTP plumbing.

Order of work for ``POST <path>`` (recorded in ``docs/sandbox.md``): authenticate → parse →
measure (arrivals per rate class, events per request) → injected pre-store fault → refuse a
malformed or oversized body (400) → rate limit (429 + Retry-After) → validate every event (one
invalid event refuses the whole request, 400) → store idempotently by PK → injected after-store
fault → 200.
"""

from __future__ import annotations

import hmac
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from ..catalog.model import Catalog
from .checks import EventChecker, row_errors
from .config import SandboxConfig, SandboxConfigError
from .faults import FaultInjector, FaultPlan, make_fault_plan
from .limits import RateLimiter, WindowLimit
from .store import SandboxStore

__all__ = ["Headers", "Reply", "SandboxApp", "make_sandbox_app"]


class Headers(Protocol):
    """Request headers looked up by name: a dict, or http.server's message (case-insensitive)."""

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True)
class Reply:
    """What to do with one request: answer (``respond``), close silently (``drop``), or
    hold it ``delay`` seconds and then close silently (``hang``: the client times out).
    A ``respond`` or ``drop`` with a ``delay`` waits that long first (a slow receiver)."""

    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    action: str = "respond"
    delay: float = 0.0


def _error(status: int, error: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"status": status, "error": error, "message": message, **extra})


class _Counters:
    """Thread-safe counters for ``/stats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.requests: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.by_event: dict[str, Counter[str]] = {}
        self.faults: Counter[str] = Counter()
        self.attributes: Counter[str] = Counter()
        self.connections: Counter[str] = Counter()
        self.max_events_per_request = 0

    def add(self, table: str, key: str, n: int = 1) -> None:
        with self._lock:
            getattr(self, table)[key] += n

    def add_event(self, name: Any, outcome: str) -> None:
        with self._lock:
            self.events[outcome] += 1
            self.by_event.setdefault(str(name), Counter())[outcome] += 1

    def saw_request(self, n_events: int) -> None:
        with self._lock:
            if n_events > self.max_events_per_request:
                self.max_events_per_request = n_events

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "by_status": dict(sorted(self.by_status.items())),
                "events": dict(self.events),
                "by_event": {k: dict(v) for k, v in sorted(self.by_event.items())},
                "faults": dict(self.faults),
                "attributes": dict(self.attributes),
                "connections": self.connections["opened"],
                "max_events_per_request": self.max_events_per_request,
            }


class SandboxApp:
    """Holds the sandbox's state (store, limiter, faults, counters) and answers requests."""

    def __init__(self, config: SandboxConfig, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog
        if config.vertical not in catalog.verticals:
            raise SandboxConfigError(f"unknown vertical {config.vertical!r} "
                                     f"(known: {', '.join(catalog.verticals)})")
        self.checker = EventChecker(catalog, config.vertical, config.tenant)
        self.limiter = RateLimiter(_window_limits(catalog, config), enabled=config.rate_limit)
        self.store = SandboxStore(config.db)  # last: nothing above can leave it open on an error
        self.faults = FaultInjector(config.faults)
        self.counters = _Counters()
        self._profile_classes = sorted(
            name for name, rc in catalog.rate_classes.items() if rc.events)

    # ---- ingestion -------------------------------------------------------------------------

    def handle_events(self, headers: Headers, body: bytes) -> Reply:
        """Answer ``POST <path>`` carrying a JSON array of 1..max_events events."""
        reply = self._handle(headers, body, kind="events")
        self.counters.add("by_status", str(reply.status) if reply.action == "respond" else reply.action)
        return reply

    def handle_attributes(self, headers: Headers, body: bytes) -> Reply:
        """Answer ``POST <attributes_path>`` carrying a JSON array of bespoke attribute rows."""
        reply = self._handle(headers, body, kind="attributes")
        self.counters.add("by_status", str(reply.status) if reply.action == "respond" else reply.action)
        return reply

    def _handle(self, headers: Headers, body: bytes, *, kind: str) -> Reply:
        counters = self.counters
        counters.add("requests", "total")
        if not self._authorised(headers):
            counters.add("requests", "unauthorized")
            return _error(401, "unauthorized", f"missing or invalid token in header {self.config.auth_header!r}")

        items, problem = _parse(body)
        n = len(items) if items is not None else 0
        counters.saw_request(n)
        # Only string names can have a rate class (an unhashable one must not break the lookup).
        names = [e["event"] for e in items or () if isinstance(e, dict) and isinstance(e.get("event"), str)] if kind == "events" else []
        classes = self.limiter.classes_of(names)
        if items is not None:
            self.limiter.observe(classes)

        fault = self.faults.draw()
        if fault is not None and not fault.endswith("_after_store"):
            counters.add("faults", fault)
            counters.add("requests", "faulted")
            return self._fault_reply(fault)

        if problem is not None or items is None:  # _parse gives the items or the problem
            counters.add("requests", "bad_request")
            return _error(400, "bad_request", problem or "no items")
        if n > self.config.max_events:
            counters.add("requests", "too_many_events")
            return _error(400, "too_many_events",
                          f"{n} {kind} in one request; at most {self.config.max_events} are accepted",
                          count=n, max=self.config.max_events)

        admitted, retry_after, cls = self.limiter.admit(classes)
        if not admitted:
            counters.add("requests", "rate_limited")
            if kind == "events":
                counters.add("events", "rate_limited", n)
            reply = _error(429, "Too Many Requests",
                           f"rate limit of rate class {cls!r} exceeded; retry after {retry_after} s")
            return Reply(reply.status, reply.body, (("Retry-After", str(retry_after)),))

        if kind == "events":
            reply = self._store_events(items)
        else:
            reply = self._store_attributes(items)
        if reply.status != 200:
            return reply

        delay = self.faults.plan.reply_delay  # a slow receiver: stored now, answered later
        if fault is not None:  # an after-store fault: stored, then fails anyway
            counters.add("faults", fault)
            counters.add("requests", "faulted")
            late = self._fault_reply(fault.removesuffix("_after_store"))
            return replace(late, delay=late.delay + delay)
        counters.add("requests", "ok")
        return replace(reply, delay=delay) if delay else reply

    def _authorised(self, headers: Headers) -> bool:
        token = self.config.token
        if token is None:
            return True
        given = headers.get(self.config.auth_header)
        return given is not None and hmac.compare_digest(given.encode(), token.encode())

    def _fault_reply(self, fault: str) -> Reply:
        plan = self.faults.plan
        if fault == "500":
            return _error(500, "Internal Server Error", "injected fault: internal server error")
        if fault == "429":
            reply = _error(429, "Too Many Requests", "injected fault: 429 storm")
            return Reply(429, reply.body, (("Retry-After", str(plan.retry_after)),))
        if fault == "timeout":
            return Reply(action="hang", delay=plan.timeout_delay)
        return Reply(action="drop")

    def _store_events(self, events: list) -> Reply:
        counters = self.counters
        invalid: list[dict[str, Any]] = []
        for i, event in enumerate(events):
            errors = self.checker.errors(event)
            if errors:
                invalid.append({"index": i, "event": _name(event), "errors": errors})
        if invalid:
            counters.add("requests", "invalid")
            for bad in invalid:
                counters.add_event(bad["event"], "invalid")
            counters.add("events", "refused", len(events) - len(invalid))
            first = invalid[0]
            message = (f"event {first['index']} ({first['event']}) is invalid: "
                       f"{first['errors'][0]['field']}: {first['errors'][0]['message']}")
            return _error(400, "invalid_event", message, index=first["index"], errors=first["errors"],
                          invalid=invalid)
        items = [(e["event"], self.checker.pk(e), e) for e in events]
        outcomes = self.store.store_events(items)
        for (name, _, _), outcome in zip(items, outcomes, strict=True):
            counters.add_event(name, outcome)
        tally = Counter(outcomes)
        return Reply(200, {"status": 200, "received": len(events), "accepted": tally["accepted"],
                           "duplicates": tally["duplicate"], "updates": tally["update"]})

    def _store_attributes(self, rows: list) -> Reply:
        for i, row in enumerate(rows):
            errors = row_errors(row)
            if errors:
                self.counters.add("attributes", "invalid_rows")
                self.counters.add("requests", "invalid")
                return _error(400, "invalid_row", f"row {i} is invalid: {errors[0]['message']}",
                              index=i, errors=errors)
        written = self.store.store_attributes(rows)
        self.counters.add("attributes", "rows", len(rows))
        self.counters.add("attributes", "values_written", written)
        return Reply(200, {"status": 200, "received": len(rows), "written": written})

    # ---- control and inspection ------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts by outcome and event, faults injected, limits observed, rows stored."""
        out = self.counters.snapshot()
        limits = self.limiter.stats()
        out["rate_classes"] = limits
        profile = [limits[c]["max_received_in_window"] for c in self._profile_classes if c in limits]
        out["max_profile_requests_per_window"] = max(profile, default=0)
        out["stored"] = self.store.counts()
        out["faults_plan"] = self.faults.plan.to_dict()
        return out

    def events(self, *, event: str | None = None, customer: str | None = None,
               limit: int | None = None) -> list[dict]:
        """Stored events (see :meth:`SandboxStore.events`)."""
        return self.store.events(event=event, customer=customer, limit=limit)

    def set_faults(self, settings: Mapping[str, Any] | FaultPlan) -> FaultPlan:
        """Change fault settings; keys not given keep their current value."""
        plan = settings if isinstance(settings, FaultPlan) else make_fault_plan(settings, self.faults.plan)
        self.faults.set_plan(plan)
        return plan

    def reset(self) -> None:
        """Clear stored events and attributes, counters and rate windows (the fault plan stays)."""
        self.store.clear()
        self.counters.clear()
        self.limiter.reset()

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def _name(event: Any) -> str:
    return str(event.get("event")) if isinstance(event, dict) else "?"


def _parse(body: bytes) -> tuple[list | None, str | None]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return None, f"body is not JSON: {exc}"
    if not isinstance(data, list):
        return None, f"body must be a JSON array of events, got {type(data).__name__}"
    if not data:
        return data, "body is an empty array; send 1 or more events"
    return data, None


def _window_limits(catalog: Catalog, config: SandboxConfig) -> list[WindowLimit]:
    overrides = {name: (req, per) for name, req, per in config.rate_limits}
    unknown = sorted(set(overrides) - set(catalog.rate_classes))
    if unknown:
        raise SandboxConfigError(f"unknown rate class(es) {', '.join(unknown)} "
                                 f"(catalog has: {', '.join(sorted(catalog.rate_classes))})")
    out = []
    for name, rc in catalog.rate_classes.items():
        requests, per = overrides.get(name, (rc.requests, rc.per_seconds))
        out.append(WindowLimit(name, requests, per, tuple(rc.events)))
    return out


def make_sandbox_app(config: SandboxConfig, catalog: Catalog | None = None) -> SandboxApp:
    """Build the request logic over the bundled catalog (or a given one)."""
    if catalog is None:
        from ..catalog import load_catalog

        catalog = load_catalog()
    return SandboxApp(config, catalog)
