"""The HTTP sink's keep-alive pool against real loopback servers: a connection the server closed is
never used again (no request fails for it), a server that closes after each answer gets a new
connection each time, many threads share the pool without mixing answers, and a proxy named in
the environment leaves every request to httpx (whose proxy rules are not re-implemented)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from ebi_mapper.default_plugins.http_sink import HttpJsonSink


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, close_after_answer: bool = False, idle_close: float | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.close_after_answer = close_after_answer
        self.idle_close = idle_close
        self.bodies: list[list] = []
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v2/reportServer"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.connections += 1  # type: ignore[attr-defined]
        if self.server.idle_close is not None:  # type: ignore[attr-defined]
            self.request.settimeout(self.server.idle_close)  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.bodies.append(body)  # type: ignore[attr-defined]
        answer = orjson.dumps({"stored": len(body), "first": body[0]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if self.server.close_after_answer:  # type: ignore[attr-defined]
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except TimeoutError:  # the idle timeout: the server closes the kept-alive connection
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request):
    server = _Receiver(**getattr(request, "param", {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _sink(url: str) -> HttpJsonSink:
    return HttpJsonSink(name="optimove", url=url, token="t0ken", timeout=5.0, trust_env=False)


@pytest.mark.parametrize("receiver", [{"idle_close": 0.2}], indirect=True)
def test_a_connection_the_server_closed_while_idle_is_not_used_again(receiver):
    sink = _sink(receiver.url)
    try:
        assert sink.send([{"n": 1}]).status == "ok"
        time.sleep(0.6)  # the server drops the idle connection
        results = [sink.send([{"n": i}]).status for i in range(2, 5)]
    finally:
        sink.close()
    assert results == ["ok"] * 3
    assert [b[0]["n"] for b in receiver.bodies] == [1, 2, 3, 4]  # each sent once, none failed
    assert receiver.connections == 2


@pytest.mark.parametrize("receiver", [{"close_after_answer": True}], indirect=True)
def test_a_server_that_closes_after_each_answer_gets_a_new_connection_each_time(receiver):
    sink = _sink(receiver.url)
    try:
        assert [sink.send([{"n": i}]).status for i in range(5)] == ["ok"] * 5
    finally:
        sink.close()
    assert receiver.connections == 5 and len(receiver.bodies) == 5


def test_many_threads_share_the_pool_and_every_batch_arrives_once(receiver):
    sink = _sink(receiver.url)
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda i: sink.send([{"n": i}, {"n": -i}]), range(200)))
    finally:
        sink.close()
    assert all(r.status == "ok" and r.http_status == 200 for r in results)
    assert sorted(b[0]["n"] for b in receiver.bodies) == list(range(200))
    assert receiver.connections <= 8  # kept alive and reused, at most one per thread


def test_the_token_goes_in_the_header_of_every_request(receiver):
    seen: list[str] = []
    original = _Handler.do_POST

    def spy(handler: _Handler) -> None:
        seen.append(handler.headers.get("X-Api-Key", ""))
        original(handler)

    _Handler.do_POST = spy  # type: ignore[method-assign]
    try:
        sink = _sink(receiver.url)
        sink.send([{"n": 1}])
        sink.send([{"n": 2}])
        sink.close()
    finally:
        _Handler.do_POST = original  # type: ignore[method-assign]
    assert seen == ["t0ken", "t0ken"]


def test_a_proxy_in_the_environment_leaves_the_requests_to_httpx(monkeypatch, receiver):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    proxied = HttpJsonSink(name="optimove", url=receiver.url, token="t", trust_env=True)
    direct = HttpJsonSink(name="optimove", url=receiver.url, token="t", trust_env=False)
    try:
        assert proxied._pool is None and direct._pool is not None
        assert proxied.send([{"n": 1}]).status == "ok"  # httpx honours NO_PROXY for the loopback receiver
    finally:
        proxied.close()
        direct.close()


def test_checking_an_idle_connection_does_not_hold_up_the_other_senders(monkeypatch, receiver):
    """The pool's lock guards its list only: a sender stuck in the reuse check (a system call after
    which it may wait for the interpreter) must not stall the others taking connections."""
    import ebi_mapper.default_plugins.http_sink as http_sink

    sink = _sink(receiver.url)
    with ThreadPoolExecutor(max_workers=2) as pool:  # two connections, both left idle in the pool
        barrier = threading.Barrier(2)
        list(pool.map(lambda i: (barrier.wait(), sink.send([{"n": i}])), range(2)))
    assert sink._pool is not None and sink._pool.connections() == 2
    held, release = threading.Event(), threading.Event()
    real_select = http_sink.select.select
    calls = []

    def slow_select(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:  # the first check stalls until the test lets it go
            held.set()
            release.wait(10)
        return real_select(*args, **kwargs)

    monkeypatch.setattr(http_sink.select, "select", slow_select)
    taken: list = []
    first = threading.Thread(target=lambda: taken.append(sink._pool._connection()), name="stuck")
    first.start()
    try:
        assert held.wait(5)
        other: list = []
        second = threading.Thread(target=lambda: other.append(sink._pool._connection()), name="free")
        second.start()
        second.join(2)
        assert other, "a sender waited for another sender's reuse check"
        other[0].close()
    finally:
        release.set()
        first.join(5)
        for conn in taken:
            conn.close()
    sink.close()
