"""One served mapping: its state dir, intake queue, delivery thread, metrics and status figures.

With ``queue`` (``serve --queue redis://…``) the delivery thread is a :class:`~.forward.ForwardThread`
that hands the intake rows to the cluster's workers instead (forward.py); the sinks are not built.

Built the way ``run`` builds its loop (settings.py: the ``delivery:`` section, the sinks, the rate
plan), plus the ``serve:`` section (config.py). The state is opened ``synchronous=FULL``: intake
rows are deleted once the checkpoint past them commits, so that commit must survive a power loss
as the 2xx did. Reading figures (metrics, /status.json) uses a read-only connection of its own,
so the HTTP side never waits on the loop's transactions.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from ..app import delivery_setup
from ..delivery.pipeline import DeliveryLoop
from ..delivery.state import open_state
from ..errors import ConfigError, DeliveryError
from .config import ServeConfig, read_serve_config
from .feed import DeliveryThread, input_id_of
from .forward import ForwardThread
from .intake import IntakeQueue
from .metrics import ServeMetrics, ServeObserver, TimedSink

__all__ = ["ServedMapping"]


class ServedMapping:
    def __init__(self, path: Path, metrics: ServeMetrics, overrides: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None):
        """``overrides``: the command line's sink, sink_options, limits, linger_ms, concurrency, state_dir, stop_grace,
        and queue/partitions (``serve --queue``)."""
        o = dict(overrides or {})
        self.path = Path(path)
        # The edge loads the mapping (one registry, --disable-plugin honoured) and merges its delivery
        # settings exactly as for run (app/delivery.py).
        self.setup = delivery_setup(path, disable=o.get("disable", ()), sink=o.get("sink"),
                                    sink_options=o.get("sink_options", ()), limits=o.get("limits", ()),
                                    state_dir=o.get("state_dir"),
                                    overrides={"linger_ms": o.get("linger_ms"), "concurrency": o.get("concurrency")})
        self.loaded = self.setup.loaded
        m = self.loaded.mapping
        self.client = m.client or "default"
        self.tenant = m.tenant
        self.config: ServeConfig = read_serve_config(m, environ)
        self.settings = self.setup.settings
        self.state_dir = self.settings.state_dir
        self.stop_grace = float(o.get("stop_grace") or 10.0)
        self.queue: str | None = o.get("queue")
        self.partitions: int | None = o.get("partitions")
        self.metrics = metrics
        self.state: Any = None
        self.intake: IntakeQueue | None = None
        self.delivery: DeliveryThread | ForwardThread | None = None
        self.observer: ServeObserver | None = None
        self._sinks: tuple[Any, Any] = (None, None)
        self._run_id: int | None = None
        self._ro: sqlite3.Connection | None = None
        self._ro_lock = threading.Lock()
        self._disk_checked = (0.0, True)
        self._last_totals: dict[str, int] | None = None  # set when delivery starts

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> None:
        """Open the state (locked) and the intake queue; build the sinks and the loop (not started)."""
        self.state = open_state(self.state_dir, synchronous="FULL")
        try:
            self.intake = IntakeQueue(self.state_dir, dedup_window=self.config.dedup_window)
            if self.queue is not None:
                self.delivery = ForwardThread(make_producer=self._producer, state=self.state, intake=self.intake,
                                              client=self.client, on_forwarded=self._forwarded)
                self._last_totals = self.totals()
                self._run_id = self.state.start_run(input_id=input_id_of(self.client), mapping=str(self.path), now=time.time())
                return
            events, bespoke = self.setup.make_sinks()
            self._sinks = (events, bespoke)
            feed_holder: dict[str, Any] = {}
            self.observer = ServeObserver(self.metrics, self.client, self.intake.note,
                                          lambda src: feed_holder["feed"].received_at(src))
            options = replace(self.settings.options, progress_interval=3600.0, stop_grace=self.stop_grace)
            timed = TimedSink(events, self.observer, self.settings.plan.class_of)  # send latency, 429s
            loop = DeliveryLoop(state=self.state, mapper=self.loaded.mapper, plan=self.settings.plan,
                                event_sink=timed, bespoke_sink=self._sinks[1],
                                bespoke_route=self.settings.bespoke_route, options=options, observer=self.observer,
                                on_settled=self.observer.records_settled)
            self.delivery = DeliveryThread(loop=loop, state=self.state, intake=self.intake, client=self.client)
            feed_holder["feed"] = self.delivery.feed
            self._last_totals = self.totals()  # the timeline counts rejections from here on
            self._run_id = self.state.start_run(input_id=input_id_of(self.client), mapping=str(self.path), now=time.time())
        except BaseException:
            self.close()
            raise

    def _producer(self) -> Any:
        """The cluster's producer (on the forwarder's thread; DeliveryError while Redis does not answer)."""
        from ..scaleout.queue import Keys, Producer, connect, default_prefix

        assert self.queue is not None
        client = connect(self.queue)  # DeliveryError while Redis does not answer: the forwarder retries
        try:
            return Producer(client, Keys(default_prefix(self.client)), self.loaded.mapper, partitions=self.partitions,
                            patience=2.0)
        except DeliveryError as exc:  # --partitions disagrees with the cluster's: waiting would not help (exit 3)
            client.close()
            raise ConfigError(str(exc)) from None
        except BaseException:
            client.close()
            raise

    def _forwarded(self, n: int) -> None:
        self.metrics.forwarded.labels(self.client).inc(n)
        assert self.intake is not None
        self.intake.note("forwarded", "", n)

    def start(self) -> None:
        assert self.delivery is not None
        self.delivery.start()

    def stop(self, grace: float) -> str:
        """Stop delivering (in-flight answers settled, up to ``grace`` s), close everything; the run's status."""
        status = "interrupted"
        if self.intake is not None:
            self.intake.close()
        if self.delivery is not None:
            self.delivery.stop(grace + 5.0)
            if self.delivery.error is not None:
                status = "failed"
        self.close(status)
        return status

    def close(self, status: str = "failed") -> None:
        stuck = self.delivery is not None and self.delivery.alive()  # a send outlived the grace period
        if self.delivery is not None and self.delivery.loop is not None:
            self.delivery.loop.close()
        if not stuck:  # closing a sink under a request in flight would wait for that request's timeout
            for s in self._sinks:
                if s is not None:
                    s.close()
        self._sinks = (None, None)
        if self.intake is not None:
            self.intake.close()
        if self.state is not None:
            if self._run_id is not None and (self.delivery is None or not self.delivery.alive()):
                try:
                    self.state.end_run(self._run_id, status=status, counts=self.state.totals(input_id_of(self.client)),
                                       now=time.time())
                except Exception:  # noqa: BLE001 - the state may be what failed
                    pass
            if self.delivery is None or not self.delivery.alive():
                self.state.close()
            self.state = None
        if self._ro is not None:
            self._ro.close()
            self._ro = None

    # -- health -------------------------------------------------------------------------------
    def disk_ok(self) -> bool:
        """Free space of the state dir's disk above ``min_free_disk_mb`` (asked at most once a second)."""
        at, ok = self._disk_checked
        now = time.monotonic()
        if now - at >= 1.0:
            try:
                ok = shutil.disk_usage(self.state_dir).free >= self.config.min_free_disk_mb * 1024 * 1024
            except OSError:
                ok = False
            self._disk_checked = (now, ok)
        return ok

    def ready(self, stuck_after: float = 120.0) -> tuple[bool, str]:
        """Intake writable and delivery alive, and not stuck: due work, yet no answer for ``stuck_after`` s."""
        if self.intake is None or not self.intake.alive():
            return False, f"{self.client}: intake queue not writable" + (f" ({self.intake.last_error})" if self.intake and self.intake.last_error else "")
        if not self.disk_ok():
            return False, f"{self.client}: under {self.config.min_free_disk_mb} MB free for the state dir"
        if self.delivery is None or not self.delivery.alive():
            return False, f"{self.client}: delivery stopped" + (f" ({self.delivery.error})" if self.delivery and self.delivery.error else "")
        if isinstance(self.delivery, ForwardThread):
            if self.delivery.waiting is not None:
                return False, f"{self.client}: forwarding to the queue waits ({self.delivery.waiting})"
            return True, ""
        if self.observer is not None and time.time() - self.observer.last_answer > stuck_after:
            due = self._query("SELECT COUNT(*) FROM outbox WHERE sealed = 1 AND next_attempt_at <= ?", (time.time(),))
            if due and due[0][0]:
                return False, f"{self.client}: {due[0][0]} batches due and no answer from the sink for {stuck_after:.0f}s"
        return True, ""

    # -- figures (read-only connection) ---------------------------------------------------------
    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._ro_lock:  # one read-only connection, asked from the server's thread pool
            return self._query_locked(sql, params)

    def _query_locked(self, sql: str, params: tuple) -> list[tuple]:
        try:
            if self._ro is None:
                path = Path(self.state_dir) / "state.sqlite"
                self._ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=5.0,
                                           check_same_thread=False)
            return self._ro.execute(sql, params).fetchall()
        except sqlite3.Error:
            return []

    def totals(self) -> dict[str, int]:
        return {k: v for k, v in self._query("SELECT name, value FROM totals WHERE input_id = ?", (input_id_of(self.client),))}

    def figures(self) -> dict[str, Any]:
        """The durable numbers /metrics reports (metrics.StateCollector)."""
        codes = {(kind, code or "?"): n for kind, code, n in self._query(
            "SELECT kind, json_extract(reason, '$[0].code'), COUNT(*) FROM dlq WHERE replayed_at IS NULL GROUP BY 1, 2")}
        outbox = self._query("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox")
        batches, events = outbox[0] if outbox else (0, 0)
        return {"totals": self.totals(), "codes": codes, "dead_letters": sum(codes.values()),
                "backlog": {"intake_records": self.intake.backlog() if self.intake else 0, "outbox_batches": batches,
                            "outbox_events": events}}

    def note_durable_changes(self) -> None:
        """Count what the state says was rejected since the last call into the timeline (every few seconds)."""
        if self.intake is None:
            return
        totals = self.totals()
        if self._last_totals is not None:  # {} is a fresh state dir: count from zero
            n = totals.get("records_rejected", 0) - self._last_totals.get("records_rejected", 0)
            if n > 0:
                self.intake.note("rejected", "", n)
        self._last_totals = totals

    def dead_letter_groups(self, kinds: tuple[str, ...], limit: int = 20) -> list[dict[str, Any]]:
        """Dead letters of ``kinds`` grouped by reason code, each with its latest example."""
        marks = ",".join("?" * len(kinds))
        rows = self._query(
            f"SELECT json_extract(reason, '$[0].code') AS code, COUNT(*), MAX(id) FROM dlq "
            f"WHERE replayed_at IS NULL AND kind IN ({marks}) GROUP BY code ORDER BY COUNT(*) DESC LIMIT ?", (*kinds, limit))
        out = []
        for code, count, last in rows:
            ex = self._query("SELECT source, reason, created_at FROM dlq WHERE id = ?", (last,))
            example = None
            if ex:
                source, reason, at = ex[0]
                try:
                    message = str((orjson.loads(reason) or [{}])[0].get("message", ""))
                except (orjson.JSONDecodeError, AttributeError, IndexError):
                    message = ""
                example = {"source": source, "message": message, "at": at}
            out.append({"code": code or "?", "count": count, "example": example})
        return out
