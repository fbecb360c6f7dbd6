"""The example plugin package: found by entry point, webhook sink over real loopback HTTP, conversion guard."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ebi_mapper import DeliveryError, compile_mapping, load_mapping, make_registry


class _Receiver(BaseHTTPRequestHandler):
    status = 200
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_plugins_are_found_through_the_entry_point_group():
    registry = make_registry()
    assert registry.sinks["webhook"].kind == "events"
    assert registry.provided_by[("sinks", "webhook")] == "webhook"
    assert registry.provided_by[("guards", "convert_currency")] == "convert_currency"
    assert registry.guards["convert_currency"].default_on is False


def test_webhook_posts_a_signed_json_array(receiver, monkeypatch):
    server, url = receiver
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    sink = make_registry().sink("webhook").factory({"url": url, "secret_env": "HOOK_SECRET"})
    batch = [{"event": "ootb_deposit", "customer": "1"}, {"event": "ootb_deposit", "customer": "2"}]
    assert sink.send(batch).status == "ok"
    sink.close()
    [(headers, body)] = _Receiver.received
    assert json.loads(body) == batch
    assert headers["X-Signature-SHA256"] == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert "s3cret" not in repr(sink)


@pytest.mark.parametrize("status, expected", [(500, "retry"), (429, "retry"), (400, "rejected")], ids=["500", "429", "400"])
def test_webhook_maps_answers_to_send_results(receiver, status, expected):
    server, url = receiver
    _Receiver.status = status
    sink = make_registry().sink("webhook").factory({"url": url})
    assert sink.send([{"x": 1}]).status == expected
    sink.close()


def test_webhook_needs_a_url_and_a_set_secret(monkeypatch):
    factory = make_registry().sink("webhook").factory
    with pytest.raises(DeliveryError):
        factory({})
    monkeypatch.delenv("NOPE_SECRET", raising=False)
    with pytest.raises(DeliveryError, match="NOPE_SECRET"):
        factory({"url": "http://127.0.0.1:9/", "secret_env": "NOPE_SECRET"})


MAPPING = """
ebi_mapping: 1
client: conv
vertical: casino
tenant: 1
site_currency: EUR
guards:
  currency: false
  convert_currency: {rates: {USD: 0.5}}
rules:
  - name: deposit
    event: ootb_deposit
    customer: id
    timestamp: at
    currency: cur
    context:
      ootb_transaction_id: tx
      ootb_deposit_timestamp: at
      ootb_deposit_amount: amount
"""


def test_conversion_guard_converts_with_the_rates_table_and_rejects_unknown_currencies(tmp_path):
    path = tmp_path / "conv.yaml"
    path.write_text(MAPPING)
    mapper = compile_mapping(load_mapping(path))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    base = {"id": 1, "at": "2026-12-10T10:00:00Z", "tx": "t1", "amount": "10.00"}
    [event] = mapper.map_record({**base, "cur": "USD"}, now=now).events
    assert event.context["ootb_deposit_amount"] == 5.0
    [event] = mapper.map_record({**base, "cur": "EUR"}, now=now).events
    assert event.context["ootb_deposit_amount"] == 10.0
    [rej] = mapper.map_record({**base, "cur": "JPY"}, now=now).rejections
    assert rej.code == "no_rate" and "JPY" in rej.message
