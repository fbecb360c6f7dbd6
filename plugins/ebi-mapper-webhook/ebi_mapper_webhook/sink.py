"""The ``webhook`` sink: POST each batch as a JSON array to any URL, optionally HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

import orjson

from ebi_mapper import DeliveryError, SendResult, SinkDef, hookimpl

__all__ = ["WebhookSink", "register_sinks"]


class WebhookSink:
    """Send batches to ``url``; 2xx ok, 429/5xx/network retry, other 4xx rejected with the body."""

    def __init__(self, options: dict[str, Any]):
        try:
            self.url = str(options["url"])
        except KeyError:
            raise DeliveryError("webhook sink needs the option url=...") from None
        secret_env = options.get("secret_env")
        self._secret = None
        if secret_env:
            value = os.environ.get(str(secret_env))
            if not value:
                raise DeliveryError(f"webhook sink: environment variable {secret_env} is not set")
            self._secret = value.encode()
        self.header = str(options.get("signature_header", "X-Signature-SHA256"))
        # Imported here, not at the top: this module loads whenever the plugin is registered, and
        # httpx would add a seventh to the start-up of every command that never uses this sink.
        import httpx

        self._http_error = httpx.HTTPError
        self._client = httpx.Client(timeout=float(options.get("timeout", 10.0)))

    def __repr__(self) -> str:  # never show the secret
        return f"WebhookSink(url={self.url!r}, signed={self._secret is not None})"

    def send(self, batch: list[dict[str, Any]]) -> SendResult:
        body = orjson.dumps(batch)
        headers = {"Content-Type": "application/json"}
        if self._secret is not None:
            headers[self.header] = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except self._http_error as exc:
            return SendResult("retry", reason=f"{type(exc).__name__}: {exc}")
        code = response.status_code
        if 200 <= code < 300:
            return SendResult("ok", http_status=code)
        if code == 429 or code >= 500 or code == 408:
            retry_after = response.headers.get("Retry-After")
            seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
            return SendResult("retry", reason=f"HTTP {code}", retry_after=seconds, http_status=code)
        return SendResult("rejected", reason=f"HTTP {code}: {response.text[:300]}", http_status=code)

    def close(self) -> None:
        self._client.close()


@hookimpl
def register_sinks(register: Callable[[SinkDef], None]) -> None:
    register(
        SinkDef(
            "webhook",
            WebhookSink,
            kind="events",
            doc="POST batches as a JSON array to any URL (optional HMAC-SHA256 signature)",
            options={"url": "where to POST", "secret_env": "env var with the HMAC secret", "signature_header": "header for the signature", "timeout": "seconds"},
        )
    )
