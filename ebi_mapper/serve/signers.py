"""What senders do: the headers each auth scheme's sender puts on a request.

The other half of :mod:`ebi_mapper.serve.auth`, for the tests, the load generator, the bench and
anyone pointing a home-made sender at ``serve``. Each signer is the scheme's documented recipe and
nothing more; ``tests/serve/test_auth.py`` checks them against the published test vectors
(Standard Webhooks, GitHub's ``X-Hub-Signature-256`` example) and checks that what they sign
verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from ..errors import UnknownNameError

__all__ = ["sign_headers"]


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _whsec_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign_headers(scheme: str, secret: str, body: bytes, *, now: float | None = None,
                 webhook_id: str | None = None, header: str | None = None,
                 options: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Headers (lower-case names) that make ``body`` pass ``scheme`` with ``secret``.

    ``now`` is the timestamp signed by Stripe and Standard Webhooks (default: the clock);
    ``webhook_id`` goes into the scheme's id header when it has one (Stripe's id is in the body);
    ``header`` overrides the header name for ``api_key`` and ``hmac_sha256``; ``options`` is the
    ``hmac`` scheme's section (``header``, ``algorithm``, ``encoding``, ``prefix``, ``signed``,
    ``timestamp_header``, ``id_header``) as in the mapping.
    """
    ts = str(int(time.time() if now is None else now))
    key = secret.encode()
    if scheme == "none":
        return {}
    if scheme == "api_key":
        return {(header or "x-api-key").lower(): secret}
    if scheme == "bearer":
        return {"authorization": f"Bearer {secret}"}
    if scheme == "hmac_sha256":
        return {(header or "x-hub-signature-256").lower(): "sha256=" + _mac(key, body).hex()}
    if scheme == "hmac":
        return _sign_generic(key, body, ts, webhook_id, dict(options or {}))
    if scheme == "stripe":
        return {"stripe-signature": f"t={ts},v1={_mac(key, ts.encode() + b'.' + body).hex()}"}
    if scheme in ("shopify", "woocommerce"):
        sig = base64.b64encode(_mac(key, body)).decode()
        if scheme == "shopify":
            out = {"x-shopify-hmac-sha256": sig}
            if webhook_id is not None:
                out["x-shopify-webhook-id"] = webhook_id
            return out
        out = {"x-wc-webhook-signature": sig}
        if webhook_id is not None:
            out["x-wc-webhook-delivery-id"] = webhook_id
        return out
    if scheme == "standard_webhooks":
        msg_id = webhook_id or "msg_" + hashlib.sha256(ts.encode() + body).hexdigest()[:24]
        signed = msg_id.encode() + b"." + ts.encode() + b"." + body
        sig = base64.b64encode(_mac(_whsec_key(secret), signed)).decode()
        return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"}
    raise UnknownNameError(f"unknown auth scheme {scheme!r}")


def _sign_generic(key: bytes, body: bytes, ts: str, webhook_id: str | None, opts: dict[str, Any]) -> dict[str, str]:
    values = {"{body}": body, "{timestamp}": ts.encode(), "{id}": (webhook_id or "").encode()}
    template = str(opts.get("signed", "{body}"))
    message = b"".join(values.get(part, part.encode()) for part in re.split(r"(\{body\}|\{timestamp\}|\{id\})", template) if part)
    digest = hmac.new(key, message, getattr(hashlib, str(opts.get("algorithm", "sha256")))).digest()
    text = digest.hex() if opts.get("encoding", "hex") == "hex" else base64.b64encode(digest).decode()
    out = {str(opts["header"]).lower(): str(opts.get("prefix", "")) + text}
    if opts.get("timestamp_header"):
        out[str(opts["timestamp_header"]).lower()] = ts
    if opts.get("id_header") and webhook_id is not None:
        out[str(opts["id_header"]).lower()] = webhook_id
    return out
