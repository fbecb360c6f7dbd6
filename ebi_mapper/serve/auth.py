"""Who may send: API keys, bearer tokens and webhook signature schemes, verified per request.

``make_verifier(spec)`` turns a source's ``serve.sources[].auth`` mapping section into a
:class:`Verifier`; ``verifier.verify(headers, body, now)`` answers a :class:`Verdict` (rejections
as data: ``reason`` is a stable metric label, never an exception). Schemes:

===================  ==========================================================================
``none``             everyone may send (must be said explicitly in the mapping)
``api_key``          ``header`` (default ``x-api-key``) equals one of the tokens
``bearer``           ``Authorization: Bearer <token>``
``hmac_sha256``      ``header`` (default ``x-hub-signature-256``) = ``sha256=<hex>`` or bare hex
                     of HMAC-SHA256(secret, body) (GitHub's scheme and many others)
``hmac``             any platform's recipe, described: ``header``, ``algorithm`` (sha1, sha256,
                     sha512), ``encoding`` (hex, base64), ``prefix``, ``signed`` (a template over
                     ``{body}``, ``{timestamp}``, ``{id}``), ``timestamp_header``
``stripe``           ``Stripe-Signature: t=<ts>,v1=<hex>[,v1=…]``, HMAC-SHA256 of ``{t}.{body}``
``shopify``          ``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256(secret, body)
``woocommerce``      ``X-WC-Webhook-Signature``, same as Shopify's
``standard_webhooks`` ``webhook-signature: v1,<base64> …`` over ``{id}.{timestamp}.{body}``,
                     secret ``whsec_<base64>``
===================  ==========================================================================

Secrets come from environment variables named by ``secret_env`` (or its synonym ``token_env``);
a list of names allows rotation (any one matching is enough). A missing or blank variable raises
:class:`~ebi_mapper.errors.ConfigError` naming the variable, never a value; every secret read is
registered with :mod:`ebi_mapper.secrets` so ``redact`` hides it wherever text leaves the process.
Timestamps (Stripe, Standard Webhooks) must be within ``tolerance_seconds`` (default 300) of
``now`` in either direction: a replayed request older than that is refused (``stale_timestamp``);
replays inside the window are stopped by intake dedup on ``Verdict.webhook_id``. The signature is
checked before the clock, so the labels say what happened: a forgery is ``bad_signature`` whatever
its timestamp, and ``stale_timestamp`` means a genuine request that is old (a replay) or a sender
whose clock is off.

Comparisons are constant-time (``hmac.compare_digest`` on bytes) and exact: signatures are
compared as the canonical text the sender produces (lower-case hex, padded base64), so a
different text is a different signature. Verdicts, exceptions and reprs carry reason labels and
header *names* only, never a secret or a signature.

Why hand-written on the standard library rather than each platform's SDK: each scheme is about
fifteen lines of ``hmac``, while the SDKs (stripe, shopify, standardwebhooks) would bring HTTP
clients and their own dependency trees into a service that uses none of the rest; the official
test vectors pin the result instead (Standard Webhooks' published vector, GitHub's
``X-Hub-Signature-256`` example).

Proof: ``tests/serve/test_auth.py`` (the published vectors; every scheme's refusals by reason;
rotation; tolerance both ways; the missing-variable message; Hypothesis: whatever body and secret,
what the scheme's signer signs verifies, and any single-bit change of body, signature or
timestamp is refused). The signers live in :mod:`ebi_mapper.serve.signers`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from .. import secrets
from ..errors import ConfigError

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "MAX_WEBHOOK_ID_LENGTH", "REASONS", "SCHEMES", "Verdict", "Verifier", "make_verifier"]

DEFAULT_TOLERANCE_SECONDS = 300.0
# A sender's id longer than this is not used for dedup (it would be stored per request).
MAX_WEBHOOK_ID_LENGTH = 256

REASONS = ("missing_credentials", "bad_credentials", "missing_signature", "malformed_signature",
           "bad_signature", "stale_timestamp")

_DIGITS = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class Verdict:
    """The answer for one request: ``ok``, else ``reason`` (a stable metric label)."""

    ok: bool
    reason: str = ""
    webhook_id: str | None = None  # the sender's own delivery/event id, for intake dedup


class Verifier(Protocol):
    """Checks one request's credentials; ``headers`` have lower-case names."""

    @property
    def scheme(self) -> str: ...

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict: ...


def _refuse(reason: str) -> Verdict:
    return Verdict(False, reason)


def _b(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _any_equal(given: bytes, candidates: Sequence[bytes]) -> bool:
    """Constant-time membership: every candidate is compared (no early exit that times the index)."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(given, candidate)
    return found


def _hmac(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.digest()


def _clean_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_WEBHOOK_ID_LENGTH or not value.isprintable():
        return None
    return value


def _stale(timestamp: str, now: float, tolerance: float) -> bool:
    """Whether ``timestamp`` (already checked to be digits) is more than ``tolerance`` from ``now``."""
    return abs(now - int(timestamp)) > tolerance


@dataclass(frozen=True)
class _NoAuth:
    id_header: str | None = None
    scheme: str = "none"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        return Verdict(True, "", _clean_id(headers.get(self.id_header)) if self.id_header else None)


@dataclass(frozen=True)
class _ApiKey:
    tokens: tuple[bytes, ...] = field(repr=False)
    header: str = "x-api-key"
    id_header: str | None = None
    scheme: str = "api_key"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        given = headers.get(self.header)
        if given is None or not given.strip():
            return _refuse("missing_credentials")
        if not _any_equal(_b(given.strip()), self.tokens):
            return _refuse("bad_credentials")
        return Verdict(True, "", _clean_id(headers.get(self.id_header)) if self.id_header else None)


@dataclass(frozen=True)
class _Bearer:
    tokens: tuple[bytes, ...] = field(repr=False)
    id_header: str | None = None
    scheme: str = "bearer"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        given = headers.get("authorization")
        if given is None or not given.strip():
            return _refuse("missing_credentials")
        kind, _, token = given.strip().partition(" ")
        if kind.lower() != "bearer" or not _any_equal(_b(token.strip()), self.tokens):
            return _refuse("bad_credentials")
        return Verdict(True, "", _clean_id(headers.get(self.id_header)) if self.id_header else None)


@dataclass(frozen=True)
class _HmacBody:
    """HMAC-SHA256 of the raw body in one header: hex (``sha256=`` optional) or base64."""

    keys: tuple[bytes, ...] = field(repr=False)
    header: str
    encoding: str  # "hex" or "base64"
    id_header: str | None
    scheme: str

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        given = headers.get(self.header)
        if given is None or not given.strip():
            return _refuse("missing_signature")
        given = given.strip()
        if self.encoding == "hex" and given.startswith("sha256="):
            given = given[len("sha256="):]
        expected = [self._encode(_hmac(key, body)) for key in self.keys]
        if not _any_equal(_b(given), expected):
            return _refuse("bad_signature")
        return Verdict(True, "", _clean_id(headers.get(self.id_header)) if self.id_header else None)

    def _encode(self, digest: bytes) -> bytes:
        return digest.hex().encode() if self.encoding == "hex" else base64.b64encode(digest)


_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_PLACEHOLDER = re.compile(r"(\{body\}|\{timestamp\}|\{id\})")


@dataclass(frozen=True)
class _HmacGeneric:
    """Any platform's HMAC recipe, described: which header, which hash, hex or base64, what is signed.

    ``signed`` is a template over ``{body}`` (the raw body, required), ``{timestamp}`` (the
    ``timestamp_header``'s text, checked against the tolerance) and ``{id}`` (the ``id_header``'s
    text): Slack is ``v0:{timestamp}:{body}`` with prefix ``v0=``, Paystack sha512 hex of
    ``{body}``, Zendesk base64 of ``{timestamp}{body}``. The signature is compared as the digest it
    encodes (hex in either case, base64 with or without padding, URL-safe or not), constant-time.
    """

    keys: tuple[bytes, ...] = field(repr=False)
    header: str
    algorithm: str
    encoding: str  # "hex" or "base64"
    prefix: str
    signed: tuple[str, ...]  # the template split into literals and placeholders
    timestamp_header: str | None
    tolerance: float
    id_header: str | None
    scheme: str = "hmac"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        given = headers.get(self.header)
        if given is None or not given.strip():
            return _refuse("missing_signature")
        given = given.strip()
        if self.prefix and given.startswith(self.prefix):
            given = given[len(self.prefix):]
        digest = _decode_digest(given, self.encoding)
        if digest is None:
            return _refuse("malformed_signature")
        values = {"{body}": body}
        moment: float | None = None
        if self.timestamp_header is not None:
            stamp = (headers.get(self.timestamp_header) or "").strip()
            moment = _moment(stamp)
            if moment is None:
                return _refuse("missing_signature" if not stamp else "malformed_signature")
            values["{timestamp}"] = _b(stamp)
        webhook_id = _clean_id(headers.get(self.id_header)) if self.id_header else None
        if "{id}" in self.signed:
            if webhook_id is None:
                return _refuse("missing_signature")
            values["{id}"] = _b(webhook_id)
        message = b"".join(values.get(part, _b(part)) for part in self.signed)
        expected = [hmac.new(key, message, _ALGORITHMS[self.algorithm]).digest() for key in self.keys]
        if not _any_equal(digest, expected):
            return _refuse("bad_signature")
        if moment is not None and abs(now - moment) > self.tolerance:
            return _refuse("stale_timestamp")
        return Verdict(True, "", webhook_id)


def _decode_digest(text: str, encoding: str) -> bytes | None:
    """The digest a signature's text encodes, or ``None`` if it is not such a text."""
    try:
        if encoding == "hex":
            return bytes.fromhex(text) if re.fullmatch(r"[0-9A-Fa-f]+", text) and len(text) % 2 == 0 else None
        if not re.fullmatch(r"[A-Za-z0-9+/_-]+=*", text):
            return None
        core = text.rstrip("=").replace("-", "+").replace("_", "/")
        return base64.b64decode(core + "=" * (-len(core) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _moment(stamp: str) -> float | None:
    """A timestamp header as epoch seconds: digits (seconds, or milliseconds past 10^11) or ISO 8601."""
    if _DIGITS.fullmatch(stamp):
        value = int(stamp)
        return value / 1000.0 if value > 10**11 else float(value)
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class _Stripe:
    keys: tuple[bytes, ...] = field(repr=False)
    tolerance: float = DEFAULT_TOLERANCE_SECONDS
    header: str = "stripe-signature"
    scheme: str = "stripe"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        given = headers.get(self.header)
        if given is None or not given.strip():
            return _refuse("missing_signature")
        timestamp: str | None = None
        signatures: list[bytes] = []
        for item in given.split(","):
            name, sep, value = item.strip().partition("=")
            if not sep:
                return _refuse("malformed_signature")
            if name == "t":
                if timestamp is not None:
                    return _refuse("malformed_signature")
                timestamp = value
            elif name == "v1":
                signatures.append(_b(value))
            # other schemes (v0: test mode) are not signatures we check, as in Stripe's libraries
        if timestamp is None or not signatures or not _DIGITS.fullmatch(timestamp):
            return _refuse("malformed_signature")
        expected = [_hmac(key, _b(timestamp), b".", body).hex().encode() for key in self.keys]
        if not any(_any_equal(sig, expected) for sig in signatures):
            return _refuse("bad_signature")
        if _stale(timestamp, now, self.tolerance):  # genuine but old (a replay) or from a skewed clock
            return _refuse("stale_timestamp")
        return Verdict(True, "", _stripe_event_id(body))


def _stripe_event_id(body: bytes) -> str | None:
    """Stripe's event id (``evt_…``) is the body's top-level ``id``: the same across Stripe's retries."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("id") if isinstance(doc, dict) else None
    return _clean_id(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class _StandardWebhooks:
    keys: tuple[bytes, ...] = field(repr=False)
    tolerance: float = DEFAULT_TOLERANCE_SECONDS
    scheme: str = "standard_webhooks"

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> Verdict:
        msg_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        given = headers.get("webhook-signature")
        if not msg_id or not timestamp or not given:
            return _refuse("missing_signature")
        timestamp = timestamp.strip()
        if not _DIGITS.fullmatch(timestamp):
            return _refuse("malformed_signature")
        signatures = []
        for item in given.split():
            version, sep, value = item.partition(",")
            if not sep:
                return _refuse("malformed_signature")
            if version == "v1":  # v1a (asymmetric) and future versions are not ours to check
                signatures.append(_b(value))
        if not signatures:
            return _refuse("malformed_signature")
        signed = (_b(msg_id), b".", _b(timestamp), b".", body)
        expected = [base64.b64encode(_hmac(key, *signed)) for key in self.keys]
        if not any(_any_equal(sig, expected) for sig in signatures):
            return _refuse("bad_signature")
        if _stale(timestamp, now, self.tolerance):
            return _refuse("stale_timestamp")
        return Verdict(True, "", _clean_id(msg_id))


# -- building a verifier from the mapping's spec -------------------------------------------------

_ALLOWED = {
    "none": {"id_header"},
    "api_key": {"secret_env", "token_env", "header", "id_header"},
    "bearer": {"secret_env", "token_env", "id_header"},
    "hmac_sha256": {"secret_env", "token_env", "header", "id_header"},
    "hmac": {"secret_env", "token_env", "header", "id_header", "algorithm", "encoding", "prefix", "signed",
             "timestamp_header", "tolerance_seconds"},
    "stripe": {"secret_env", "token_env", "tolerance_seconds"},
    "shopify": {"secret_env", "token_env"},
    "woocommerce": {"secret_env", "token_env"},
    "standard_webhooks": {"secret_env", "token_env", "tolerance_seconds"},
}
SCHEMES = tuple(_ALLOWED)


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _env_names(spec: Mapping[str, Any], where: str) -> list[str]:
    if "secret_env" in spec and "token_env" in spec:
        raise _fail(where, "give secret_env or token_env, not both")
    names = spec.get("secret_env", spec.get("token_env"))
    if names is None:
        raise _fail(where, f"scheme {spec['scheme']!r} needs secret_env: the environment variable(s) holding the secret")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise _fail(where, "secret_env must be a variable name or a non-empty list of names")
    return [n.strip() for n in names]


def _read_secrets(names: list[str], environ: Mapping[str, str], where: str) -> list[str]:
    values = []
    for name in names:
        value = secrets.read_env_secret(name, environ)
        if value is None:
            raise _fail(where, f"environment variable {name!r} is not set or empty; it must hold the secret")
        values.append(value)
    return values


def _whsec_key(value: str, name: str, where: str) -> bytes:
    text = value.removeprefix("whsec_")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(where, f"environment variable {name!r} is not a Standard Webhooks secret "
                           f"('whsec_' followed by base64)") from None
    if not key:
        raise _fail(where, f"environment variable {name!r} holds an empty key")
    secrets.register(text)
    return key


def _header_name(spec: Mapping[str, Any], key: str, default: str | None, where: str) -> str | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise _fail(where, f"{key} must be an HTTP header name, got {value!r}")
    return value.lower()


def _tolerance(spec: Mapping[str, Any], where: str) -> float:
    value = spec.get("tolerance_seconds", DEFAULT_TOLERANCE_SECONDS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
        raise _fail(where, f"tolerance_seconds must be a number of seconds in (0, 86400], got {value!r}")
    return float(value)


def _generic(spec: Mapping[str, Any], raw: tuple[bytes, ...], id_header: str | None, where: str) -> _HmacGeneric:
    header = _header_name(spec, "header", None, where)
    if header is None:
        raise _fail(where, "scheme 'hmac' needs header: the header the signature comes in")
    algorithm = spec.get("algorithm", "sha256")
    if not isinstance(algorithm, str) or algorithm not in _ALGORITHMS:  # a list in the YAML must not end in a traceback
        raise _fail(where, f"algorithm must be one of {', '.join(_ALGORITHMS)}, got {algorithm!r}")
    encoding = spec.get("encoding", "hex")
    if encoding not in ("hex", "base64"):
        raise _fail(where, f"encoding must be hex or base64, got {encoding!r}")
    prefix = spec.get("prefix", "")
    if not isinstance(prefix, str):
        raise _fail(where, f"prefix must be a string (e.g. 'sha256=' or 'v0='), got {prefix!r}")
    template = spec.get("signed", "{body}")
    if not isinstance(template, str) or "{body}" not in template:
        raise _fail(where, f"signed must be a text with {{body}} in it (e.g. 'v0:{{timestamp}}:{{body}}'), got {template!r}")
    stray = re.sub(_PLACEHOLDER, "", template)
    if "{" in stray or "}" in stray:
        raise _fail(where, f"signed may hold {{body}}, {{timestamp}} and {{id}} only, got {template!r}")
    timestamp_header = _header_name(spec, "timestamp_header", None, where)
    if ("{timestamp}" in template) != (timestamp_header is not None):
        raise _fail(where, "{timestamp} in signed and timestamp_header go together: give both or neither")
    if "{id}" in template and id_header is None:
        raise _fail(where, "{id} in signed needs id_header: the header holding the sender's delivery id")
    if "tolerance_seconds" in spec and timestamp_header is None:
        raise _fail(where, "tolerance_seconds needs timestamp_header (nothing else carries a time)")
    parts = tuple(p for p in _PLACEHOLDER.split(template) if p)
    return _HmacGeneric(raw, header, algorithm, encoding, prefix, parts, timestamp_header, _tolerance(spec, where), id_header)


def make_verifier(spec: Mapping[str, Any], environ: Mapping[str, str] = os.environ, *, where: str = "serve auth") -> Verifier:
    """The verifier a source's ``auth`` section describes; ``ConfigError`` names what is wrong.

    ``where`` prefixes messages (e.g. ``"mapping acme.yaml serve.sources[0].auth"``).
    """
    if not isinstance(spec, Mapping):
        raise _fail(where, "must be a mapping with a 'scheme' (e.g. {scheme: none})")
    scheme = spec.get("scheme")
    if scheme not in _ALLOWED:
        raise _fail(where, f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    unknown = set(spec) - {"scheme"} - _ALLOWED[scheme]
    if unknown:
        raise _fail(where, f"scheme {scheme!r} does not take {', '.join(sorted(map(str, unknown)))} "
                           f"(it takes {', '.join(sorted(_ALLOWED[scheme])) or 'nothing else'})")
    id_header = _header_name(spec, "id_header", None, where)
    if scheme == "none":
        return _NoAuth(id_header)
    names = _env_names(spec, where)
    values = _read_secrets(names, environ, where)
    raw = tuple(_b(v) for v in values)
    build: dict[str, Callable[[], Verifier]] = {
        "api_key": lambda: _ApiKey(raw, _header_name(spec, "header", "x-api-key", where) or "x-api-key", id_header),
        "bearer": lambda: _Bearer(raw, id_header),
        "hmac_sha256": lambda: _HmacBody(raw, _header_name(spec, "header", "x-hub-signature-256", where) or "",
                                         "hex", id_header, "hmac_sha256"),
        "hmac": lambda: _generic(spec, raw, id_header, where),
        "stripe": lambda: _Stripe(raw, _tolerance(spec, where)),
        "shopify": lambda: _HmacBody(raw, "x-shopify-hmac-sha256", "base64", "x-shopify-webhook-id", "shopify"),
        "woocommerce": lambda: _HmacBody(raw, "x-wc-webhook-signature", "base64", "x-wc-webhook-delivery-id", "woocommerce"),
        "standard_webhooks": lambda: _StandardWebhooks(
            tuple(_whsec_key(v, n, where) for v, n in zip(values, names, strict=True)), _tolerance(spec, where)),
    }
    return build[scheme]()
