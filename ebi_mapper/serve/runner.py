"""Run the service: uvicorn in the main thread, one delivery thread per mapping, signals handled here.

uvicorn's own signal capture is switched off (it would re-raise SIGTERM after shutdown and the
process would die by the signal instead of exiting 143 after its drain). SIGTERM/SIGINT:

1. stop accepting: ``/readyz`` says stopping, new intake requests get 503 + Retry-After, and
   uvicorn closes its listening socket;
2. uvicorn lets requests in flight finish (each one's 2xx follows its COMMIT);
3. the intake queues commit what was handed to them and stop;
4. each delivery loop stops (``request_stop``): no new sends, the answers of those in flight are
   settled (up to ``stop_grace`` seconds); what was not ingested stays in intake.sqlite;
5. exit 143 (SIGTERM) or 130 (SIGINT). A second signal stops at once.

A delivery thread that dies (its state unusable) stops the service with exit 3 (or 4 for a
bug), so a supervisor restarts it rather than leaving a service that accepts and never delivers.
Proof: tests/serve/test_e2e.py::test_sigterm_drains_and_loses_nothing, tests/serve/test_kill_e2e.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from ..errors import EbiMapperError, StateError
from .app import ServiceState, make_app
from .logs import log

__all__ = ["Service", "ListenError"]


class ListenError(StateError):
    """The address cannot be listened on (in use, not allowed)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # signals are ours (see the module docstring)
        yield


class Service:
    def __init__(self, svc: ServiceState, *, host: str, port: int, stop_grace: float = 10.0):
        self.svc = svc
        self.host = host
        self.port = port
        self.stop_grace = stop_grace
        self.received: list[int] = []
        self.failure: BaseException | None = None
        self.server: _Server | None = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
        # without it every keep-alive answer (headers and body are two writes) waits ~40 ms for the
        # client's delayed ACK (measured: p50 44 ms -> under 2 ms; bench/bench_serve.py).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ListenError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(1024)
        sock.set_inheritable(True)
        return sock

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.received:
            raise KeyboardInterrupt  # asked twice: stop now
        self.received.append(signum)
        log("stopping", signal=signal.Signals(signum).name)
        self.svc.stopping = True
        if self.server is not None:
            self.server.should_exit = True

    def _watch(self, stop: threading.Event) -> None:
        tick = 0
        while not stop.wait(1.0):
            tick += 1
            for sm in self.svc.served:
                if sm.delivery is not None and not sm.delivery.alive() and not self.svc.stopping:
                    self.failure = sm.delivery.error or RuntimeError("delivery stopped")
                    log("delivery_failed", mapping=sm.client, error=str(self.failure))
                    self.svc.stopping = True
                    if self.server is not None:
                        self.server.should_exit = True
                if tick % 5 == 0:
                    try:
                        sm.note_durable_changes()
                    except Exception:  # noqa: BLE001 - figures only
                        pass

    def run(self) -> int:
        """Serve until a signal (or a dead delivery thread); the exit code."""
        sock = self._bind()
        served = self.svc.served
        opened = []
        try:
            for sm in served:
                sm.open()
                opened.append(sm)
        except BaseException:
            for sm in opened:
                sm.close()
            sock.close()
            raise
        app = make_app(self.svc)
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=max(1, round(self.stop_grace)),
                                timeout_keep_alive=30, limit_concurrency=4096, server_header=False)
        self.server = _Server(config)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        for sm in served:
            sm.start()
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(stop,), name="ebi-mapper-watch", daemon=True)
        watcher.start()
        host, port = sock.getsockname()[:2]
        log("listening", host=host, port=port, mappings=[sm.client for sm in served],
            paths=[s.path for sm in served for s in sm.config.sources])
        started = time.monotonic()
        try:
            asyncio.run(self.server.serve(sockets=[sock]))
        finally:
            self.svc.stopping = True
            stop.set()
            statuses = [sm.stop(self.stop_grace) for sm in served]
            sock.close()
            log("stopped", seconds=round(time.monotonic() - started, 3), statuses=statuses)
        if self.failure is not None:
            if isinstance(self.failure, EbiMapperError):
                raise self.failure
            raise RuntimeError(f"delivery failed: {self.failure}") from self.failure
        return 128 + int(self.received[0]) if self.received else 0
