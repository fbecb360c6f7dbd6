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
import time

from ..errors import UnknownNameError

__all__ = ["sign_headers"]


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _whsec_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign_headers(scheme: str, secret: str, body: bytes, *, now: float | None = None,
                 webhook_id: str | None = None, header: str | None = None) -> dict[str, str]:
    """Headers (lower-case names) that make ``body`` pass ``scheme`` with ``secret``.

    ``now`` is the timestamp signed by Stripe and Standard Webhooks (default: the clock);
    ``webhook_id`` goes into the scheme's id header when it has one (Stripe's id is in the body);
    ``header`` overrides the header name for ``api_key`` and ``hmac_sha256``.
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
