"""The generic ``hmac`` auth scheme: other platforms' recipes, described in the mapping and verified.

Each platform's expected header is computed here from its documented recipe with ``hmac`` and
``hashlib`` directly, not with the project's signer, so a mistake shared by the verifier and the
signer cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ebi_mapper.errors import ConfigError
from ebi_mapper.serve.auth import make_verifier
from ebi_mapper.serve.signers import sign_headers

NOW = 1_765_000_000
SECRET = "platform-signing-secret"
BODY = b'{"event": "deposit.completed", "data": {"player": "p-1", "amount": "10.00"}}'


def _mac(algorithm: str, message: bytes) -> bytes:
    return hmac.new(SECRET.encode(), message, getattr(hashlib, algorithm)).digest()


def _verifier(**recipe):
    return make_verifier({"scheme": "hmac", "secret_env": "S", **recipe}, {"S": SECRET})


# name, recipe (as in the mapping), the headers the platform sends (its documented recipe)
PLATFORMS = [
    ("github-legacy-sha1", {"header": "X-Hub-Signature", "algorithm": "sha1", "prefix": "sha1="},
     {"x-hub-signature": "sha1=" + _mac("sha1", BODY).hex()}),
    ("slack", {"header": "X-Slack-Signature", "prefix": "v0=", "signed": "v0:{timestamp}:{body}",
               "timestamp_header": "X-Slack-Request-Timestamp"},
     {"x-slack-signature": "v0=" + _mac("sha256", f"v0:{NOW}:".encode() + BODY).hex(), "x-slack-request-timestamp": str(NOW)}),
    ("paystack-sha512", {"header": "X-Paystack-Signature", "algorithm": "sha512"},
     {"x-paystack-signature": _mac("sha512", BODY).hex()}),
    ("zendesk-iso-time-base64", {"header": "X-Zendesk-Webhook-Signature", "encoding": "base64", "signed": "{timestamp}{body}",
                                 "timestamp_header": "X-Zendesk-Webhook-Signature-Timestamp"},
     {"x-zendesk-webhook-signature": base64.b64encode(_mac("sha256", b"2025-12-06T05:46:40Z" + BODY)).decode(),
      "x-zendesk-webhook-signature-timestamp": "2025-12-06T05:46:40Z"}),
    ("pam-ms-time-and-id", {"header": "X-Pam-Signature", "signed": "{id}.{timestamp}.{body}", "timestamp_header": "X-Pam-Time",
                            "id_header": "X-Pam-Delivery"},
     {"x-pam-signature": _mac("sha256", f"d-42.{NOW * 1000}.".encode() + BODY).hex(), "x-pam-time": str(NOW * 1000),
      "x-pam-delivery": "d-42"}),
]


@pytest.mark.parametrize(("name", "recipe", "headers"), PLATFORMS, ids=[p[0] for p in PLATFORMS])
def test_each_platforms_own_recipe_verifies_and_refuses_what_it_should(name, recipe, headers):
    v = _verifier(**recipe)
    verdict = v.verify(headers, BODY, NOW)
    assert verdict.ok, verdict
    assert verdict.webhook_id == ("d-42" if "id_header" in recipe else None)
    assert v.verify(headers, BODY + b" ", NOW).reason == "bad_signature"
    sig = recipe["header"].lower()
    assert v.verify({k: w for k, w in headers.items() if k != sig}, BODY, NOW).reason == "missing_signature"
    assert v.verify({**headers, sig: "not a signature!"}, BODY, NOW).reason == "malformed_signature"
    if "timestamp_header" in recipe:
        stamp = recipe["timestamp_header"].lower()
        assert v.verify(headers, BODY, NOW + 301).reason == "stale_timestamp"
        assert v.verify(headers, BODY, NOW - 301).reason == "stale_timestamp"
        assert v.verify({k: w for k, w in headers.items() if k != stamp}, BODY, NOW).reason == "missing_signature"
        assert v.verify({**headers, stamp: "yesterday"}, BODY, NOW).reason == "malformed_signature"
    if "id_header" in recipe:  # the id is signed: another id is another message
        assert v.verify({**headers, "x-pam-delivery": "d-43"}, BODY, NOW).reason == "bad_signature"


def test_a_signature_is_its_digest_whatever_the_case_or_padding():
    hexed = _verifier(header="X-Sig")
    digest = _mac("sha256", BODY)
    assert hexed.verify({"x-sig": digest.hex().upper()}, BODY, NOW).ok
    b64 = _verifier(header="X-Sig", encoding="base64")
    for text in (base64.b64encode(digest).decode(), base64.b64encode(digest).decode().rstrip("="),
                 base64.urlsafe_b64encode(digest).decode()):
        assert b64.verify({"x-sig": text}, BODY, NOW).ok, text


@pytest.mark.parametrize(("recipe", "words"), [
    ({}, ["needs header"]),
    ({"header": "X-Sig", "algorithm": "md5"}, ["algorithm must be one of", "sha256"]),
    ({"header": "X-Sig", "algorithm": ["sha256"]}, ["algorithm must be one of"]),
    ({"header": "X-Sig", "encoding": "base32"}, ["encoding must be hex or base64"]),
    ({"header": "X-Sig", "signed": "{timestamp}"}, ["{body}"]),
    ({"header": "X-Sig", "signed": "{body}{nonce}"}, ["{body}, {timestamp} and {id} only"]),
    ({"header": "X-Sig", "signed": "{timestamp}.{body}"}, ["timestamp_header go together"]),
    ({"header": "X-Sig", "timestamp_header": "X-Time"}, ["timestamp_header go together"]),
    ({"header": "X-Sig", "signed": "{id}{body}"}, ["needs id_header"]),
    ({"header": "X-Sig", "tolerance_seconds": 60}, ["needs timestamp_header"]),
    ({"header": "X-Sig", "prefix": 7}, ["prefix must be a string"]),
    ({"header": "X-Sig", "nonce_header": "X-N"}, ["does not take nonce_header"]),
])
def test_a_recipe_that_cannot_work_stops_serve_at_start_saying_why(recipe, words):
    with pytest.raises(ConfigError) as info:
        make_verifier({"scheme": "hmac", "secret_env": "S", **recipe}, {"S": SECRET}, where="serve.sources[0].auth")
    for word in words:
        assert word in str(info.value)
    assert SECRET not in str(info.value)


recipes = st.fixed_dictionaries({
    "header": st.sampled_from(["X-Signature", "X-Webhook-Signature"]),
    "algorithm": st.sampled_from(["sha1", "sha256", "sha512"]),
    "encoding": st.sampled_from(["hex", "base64"]),
    "prefix": st.sampled_from(["", "sha256=", "v1="]),
    "signed": st.sampled_from(["{body}", "{timestamp}.{body}", "v0:{timestamp}:{body}", "{id}.{timestamp}.{body}"]),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recipe=recipes, body=st.binary(max_size=200), skew=st.integers(-300, 300), data=st.data())
def test_what_the_signer_signs_verifies_and_a_flipped_bit_does_not(recipe, body, skew, data):
    if "{timestamp}" in recipe["signed"]:
        recipe = {**recipe, "timestamp_header": "X-Time"}
    if "{id}" in recipe["signed"]:
        recipe = {**recipe, "id_header": "X-Delivery"}
    v = _verifier(**recipe)
    headers = sign_headers("hmac", SECRET, body, now=NOW + skew, webhook_id="wh-1", options=recipe)
    assert v.verify(headers, body, NOW).ok
    name = data.draw(st.sampled_from(sorted(headers)), label="header")
    value = headers[name]
    i = data.draw(st.integers(0, len(value) - 1), label="index")
    bit = data.draw(st.integers(0, 6), label="bit")
    flipped = value[:i] + chr(ord(value[i]) ^ (1 << bit)) + value[i + 1:]
    if name == recipe["header"].lower() and recipe["encoding"] == "hex" and flipped.lower() == value.lower():
        return  # the same hex digest in the other case: the same signature
    note(f"{name}: {value!r} -> {flipped!r}")
    assert not v.verify({**headers, name: flipped}, body, NOW).ok
