"""Prometheus metrics of ``serve`` (one CollectorRegistry per app, so tests and apps never share).

Two kinds of figures:

* what only the process sees, counted as it happens: requests received/accepted/refused by
  reason, accept latency, send latency, Optimove 429s, limiter holds (:class:`ServeMetrics`, fed
  by the app and by :class:`ServeObserver`, the delivery loop's observer);
* durable outcomes, read from the state at scrape time (:class:`StateCollector`), so /metrics
  agrees with ``ebi-mapper state stats`` and survives restarts: records by outcome, events by
  outcome, rejections by code, dead letters, backlog.

Secrets never appear: labels are mapping, source and rate-class names and fixed reason codes.
Proof: tests/serve/test_e2e.py::test_accepts_delivers_and_reads_beside (the state's numbers),
::test_status_codes (refusals by reason).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["ServeMetrics", "ServeObserver", "StateCollector", "TimedSink"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    """The process-side counters of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("ebi_mapper_serve_requests", "Webhook requests received, by outcome (accepted, duplicate, refused)",
                                ["mapping", "source", "outcome"], registry=r)
        self.records = Counter("ebi_mapper_serve_records_accepted", "Records committed to the intake queue (2xx given)",
                               ["mapping", "source"], registry=r)
        self.refused = Counter("ebi_mapper_serve_refused", "Requests refused, by reason", ["mapping", "source", "reason"], registry=r)
        self.accept_seconds = Histogram("ebi_mapper_serve_accept_seconds", "Request arrival to durable 2xx",
                                        ["mapping"], buckets=_LATENCY_BUCKETS, registry=r)
        self.send_seconds = Histogram("ebi_mapper_send_seconds", "Send to answer of one request to the sink",
                                      ["mapping", "rate_class"], buckets=_LATENCY_BUCKETS, registry=r)
        self.forwarded = Counter("ebi_mapper_serve_records_forwarded", "Intake records queued to the cluster's Redis (serve --queue)",
                                 ["mapping"], registry=r)
        self.sends = Counter("ebi_mapper_sends", "Requests to the sink answered, by result", ["mapping", "result"], registry=r)
        self.throttled = Counter("ebi_mapper_optimove_throttled", "429 answers from the receiver", ["mapping"], registry=r)
        self.limiter_held = Counter("ebi_mapper_limiter_held", "Dispatch passes in which a rate class's window was full",
                                    ["mapping", "rate_class"], registry=r)


class ServeObserver:
    """The delivery loop's observer (delivery/observer.py) for one served mapping.

    Runs on the loop's thread inside its transactions: it only counts in memory, and never raises.
    """

    def __init__(self, metrics: ServeMetrics, mapping: str, note: Callable[..., None],
                 received_at: Callable[[str], float | None], clock: Callable[[], float] = time.time):
        self.metrics = metrics
        self.mapping = mapping
        self.note = note  # IntakeQueue.note: the per-minute timeline
        self.received_at = received_at
        self.clock = clock
        self.lags: deque[tuple[float, float]] = deque(maxlen=20_000)  # (when, accept → delivered seconds)
        self._lock = threading.Lock()
        self.last_answer = clock()

    def sent(self, rate_class: str, seconds: float, result: Any) -> None:
        try:
            self.last_answer = self.clock()
            self.metrics.send_seconds.labels(self.mapping, rate_class).observe(seconds)
            status = getattr(result, "status", None) or ("error" if isinstance(result, BaseException) else "?")
            self.metrics.sends.labels(self.mapping, str(status)).inc()
            if getattr(result, "http_status", None) == 429:
                self.metrics.throttled.labels(self.mapping).inc()
                self.note("throttled", "429")
        except Exception:  # noqa: BLE001 - an observer never changes an outcome
            pass

    def limiter_held(self, rate_class: str) -> None:
        try:
            self.metrics.limiter_held.labels(self.mapping, rate_class).inc()
        except Exception:  # noqa: BLE001
            pass

    def settled(self, outcome: str, events: Sequence[Any]) -> None:
        try:
            now = self.clock()
            if outcome == "events_delivered":
                by_event: dict[str, int] = {}
                for body in events:
                    name = str(body.get("event", "?")) if isinstance(body, dict) else "?"
                    by_event[name] = by_event.get(name, 0) + 1
                for name, n in by_event.items():
                    self.note("delivered", name, n, now)
            elif outcome.endswith("_dead_lettered"):
                self.note("dead_lettered", "", len(events), now)
        except Exception:  # noqa: BLE001
            pass

    def records_settled(self, settled: Sequence[tuple[str, str]]) -> None:
        """The loop's ``on_settled`` (after the commit): records whose outcome is durable, for the lag."""
        try:
            now = self.clock()
            with self._lock:
                for source, outcome in settled:
                    at = self.received_at(source) if outcome == "records_delivered" else None
                    if at is not None:
                        self.lags.append((now, max(0.0, now - at)))
        except Exception:  # noqa: BLE001
            pass

    def lag(self, window: float = 300.0) -> dict[str, float | None]:
        """p50/p99 of accept → delivered over the last ``window`` seconds (``None`` when none)."""
        since = self.clock() - window
        with self._lock:
            values = sorted(v for t, v in self.lags if t >= since)
        if not values:
            return {"p50": None, "p99": None}
        return {"p50": round(values[len(values) // 2], 4), "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 4)}


class TimedSink:
    """The events sink, timed: each ``send`` (on the loop's send threads) reports its latency and
    result to :meth:`ServeObserver.sent`; everything else is the wrapped sink's."""

    def __init__(self, sink: Any, observer: ServeObserver, class_of: Callable[[str], str]):
        self._sink = sink
        self._observer = observer
        self._class_of = class_of

    def send(self, batch: list[Any]) -> Any:
        first = batch[0] if batch else {}
        cls = self._class_of(str(first.get("event", ""))) if isinstance(first, dict) else "?"
        t0 = time.monotonic()
        try:
            result = self._sink.send(batch)
        except Exception as exc:
            self._observer.sent(cls, time.monotonic() - t0, exc)
            raise
        self._observer.sent(cls, time.monotonic() - t0, result)
        return result

    def __getattr__(self, name: str) -> Any:  # inline, writes_stdout, close, name, ...
        return getattr(self._sink, name)


class StateCollector:
    """Reads durable outcomes at scrape time: ``figures()`` gives, per mapping, the state's numbers."""

    def __init__(self, figures: Callable[[], Iterable[tuple[str, dict[str, Any]]]]):
        self.figures = figures

    def describe(self) -> list:
        return []  # collected lazily: nothing is read when the collector is registered

    def collect(self) -> Iterable[Any]:
        records = CounterMetricFamily("ebi_mapper_records", "Records by outcome (from the state)", labels=["mapping", "outcome"])
        events = CounterMetricFamily("ebi_mapper_events", "Events by outcome (from the state)", labels=["mapping", "outcome"])
        rejected = CounterMetricFamily("ebi_mapper_rejections_by_code", "Dead letters by reason code (from the state)",
                                       labels=["mapping", "kind", "code"])
        backlog = GaugeMetricFamily("ebi_mapper_backlog", "Work waiting: intake records not yet ingested, outbox batches and events",
                                    labels=["mapping", "what"])
        dead = GaugeMetricFamily("ebi_mapper_dead_letters", "Dead letters waiting (not replayed)", labels=["mapping"])
        for name, fig in self.figures():
            for key, value in fig.get("totals", {}).items():
                family, _, outcome = key.partition("_")
                if family == "records":
                    records.add_metric([name, outcome], value)
                elif family == "events":
                    events.add_metric([name, outcome], value)
            for (kind, code), n in fig.get("codes", {}).items():
                rejected.add_metric([name, kind, code], n)
            for what, n in fig.get("backlog", {}).items():
                backlog.add_metric([name, what], n)
            dead.add_metric([name], fig.get("dead_letters", 0))
        return [records, events, rejected, backlog, dead]
