"""Webhook auth: published vectors, refusals by reason, rotation, tolerance, config errors, properties."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ebi_mapper import secrets
from ebi_mapper.errors import ConfigError, EbiMapperError
from ebi_mapper.serve.auth import SCHEMES, Verdict, make_verifier
from ebi_mapper.serve.signers import sign_headers

NOW = 1_765_000_000.0
SECRET = "s3cret-value-for-tests"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SIGNED = ("hmac_sha256", "stripe", "shopify", "woocommerce", "standard_webhooks")


def _secret_for(scheme: str) -> str:
    return WHSEC if scheme == "standard_webhooks" else SECRET


# The generic scheme needs its recipe; this one is Slack's.
HMAC_RECIPE = {"header": "X-Slack-Signature", "prefix": "v0=", "signed": "v0:{timestamp}:{body}",
               "timestamp_header": "X-Slack-Request-Timestamp"}


def _verifier(scheme: str, **extra):
    return make_verifier({"scheme": scheme, "secret_env": "HOOK_SECRET", **extra}, {"HOOK_SECRET": _secret_for(scheme)})


# -- published test vectors ------------------------------------------------------------------------

def test_standard_webhooks_published_vector():
    """The vector of the Standard Webhooks specification and its reference libraries."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    body = b'{"test": 2432232314}'
    v = make_verifier({"scheme": "standard_webhooks", "secret_env": "SW"}, {"SW": secret})
    assert v.verify(headers, body, 1614265330.0) == Verdict(True, "", "msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert sign_headers("standard_webhooks", secret, body, now=1614265330,
                        webhook_id="msg_p5jXN8AQM9LWM0D4loKWxJek") == headers
    # several signatures (a rotation on the sender's side): any v1 matching is enough
    rotated = dict(headers, **{"webhook-signature": "v1,bm9wZQ== v1a,abc " + headers["webhook-signature"]})
    assert v.verify(rotated, body, 1614265330.0).ok
    assert v.verify(headers, body, 1614265330.0 + 301).reason == "stale_timestamp"


def test_github_published_hub_signature_256_example():
    """GitHub's documented example for X-Hub-Signature-256 (the generic sha256= scheme)."""
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    v = make_verifier({"scheme": "hmac_sha256", "secret_env": "GH", "id_header": "X-GitHub-Delivery"}, {"GH": secret})
    assert sign_headers("hmac_sha256", secret, body) == {"x-hub-signature-256": sig}
    verdict = v.verify({"x-hub-signature-256": sig, "x-github-delivery": "72d3162e-cc78"}, body, NOW)
    assert verdict == Verdict(True, "", "72d3162e-cc78")
    assert v.verify({"x-hub-signature-256": sig[len("sha256="):]}, body, NOW).ok  # bare hex
    assert v.verify({"x-hub-signature-256": sig.upper()}, body, NOW).reason == "bad_signature"


# -- each scheme's answers ---------------------------------------------------------------------

def test_none_accepts_everyone_and_reads_an_optional_id_header():
    assert make_verifier({"scheme": "none"}, {}).verify({}, b"{}", NOW) == Verdict(True)
    v = make_verifier({"scheme": "none", "id_header": "Idempotency-Key"}, {})
    assert v.verify({"idempotency-key": "k-1"}, b"{}", NOW).webhook_id == "k-1"


@pytest.mark.parametrize("headers, reason", [
    ({}, "missing_credentials"),
    ({"x-api-key": "  "}, "missing_credentials"),
    ({"x-api-key": "nope-nope"}, "bad_credentials"),
    ({"x-api-key": SECRET + "x"}, "bad_credentials"),
    ({"x-api-key": SECRET}, ""),
    ({"x-api-key": "ünïcödé-kéy"}, "bad_credentials"),  # non-ASCII compares as bytes, no TypeError
], ids=["absent", "blank", "wrong", "longer", "right", "non-ascii"])
def test_api_key(headers, reason):
    verdict = make_verifier({"scheme": "api_key", "token_env": "K"}, {"K": SECRET}).verify(headers, b"", NOW)
    assert (verdict.ok, verdict.reason) == (reason == "", reason)


def test_api_key_custom_header():
    v = make_verifier({"scheme": "api_key", "token_env": "K", "header": "X-Partner-Key"}, {"K": SECRET})
    assert v.verify({"x-partner-key": SECRET}, b"", NOW).ok
    assert v.verify({"x-api-key": SECRET}, b"", NOW).reason == "missing_credentials"


@pytest.mark.parametrize("value, reason", [
    (None, "missing_credentials"),
    (f"Bearer {SECRET}", ""),
    (f"bearer   {SECRET}", ""),
    (f"Basic {SECRET}", "bad_credentials"),
    (f"Bearer {SECRET[:-1]}", "bad_credentials"),
    ("Bearer", "bad_credentials"),
], ids=["absent", "right", "case-and-spaces", "basic", "wrong", "no-token"])
def test_bearer(value, reason):
    headers = {} if value is None else {"authorization": value}
    verdict = make_verifier({"scheme": "bearer", "token_env": "T"}, {"T": SECRET}).verify(headers, b"", NOW)
    assert (verdict.ok, verdict.reason) == (reason == "", reason)


def test_stripe_signature_parsing_and_event_id():
    v = _verifier("stripe")
    body = orjson.dumps({"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "charge.succeeded"})
    good = sign_headers("stripe", SECRET, body, now=NOW)["stripe-signature"]
    t, v1 = good.split(",")
    assert v.verify({"stripe-signature": good}, body, NOW) == Verdict(True, "", "evt_1NG8Du2eZvKYlo2CUI79vXWy")
    # extra v1 (Stripe sends one per active secret while rolling) and a v0 (test mode) are fine
    assert v.verify({"stripe-signature": f"{t},v1={'0' * 64},{v1},v0=abc"}, body, NOW).ok
    cases = {
        "": "missing_signature",
        t: "malformed_signature",                      # no v1
        v1: "malformed_signature",                     # no t
        f"{t},{t},{v1}": "malformed_signature",        # two timestamps
        f"t=abc,{v1}": "malformed_signature",
        f"{t},v1": "malformed_signature",
        f"t={int(NOW) - 301},{v1}": "bad_signature",    # a forgery is a forgery, whatever its time
        f"t={int(NOW) - 1},{v1}": "bad_signature",      # inside the window, but signed for another t
        sign_headers("stripe", SECRET, body, now=NOW - 301)["stripe-signature"]: "stale_timestamp",
        sign_headers("stripe", SECRET, body, now=NOW + 301)["stripe-signature"]: "stale_timestamp",  # clock ahead
    }
    for header, reason in cases.items():
        assert v.verify({"stripe-signature": header}, body, NOW).reason == reason, header
    assert v.verify({"stripe-signature": good}, b"[1]", NOW).reason == "bad_signature"
    # a body with no top-level id verifies, with no id for dedup
    other = b"[1, 2]"
    assert v.verify(sign_headers("stripe", SECRET, other, now=NOW), other, NOW) == Verdict(True, "", None)


def test_stripe_tolerance_is_configurable_and_two_sided():
    v = _verifier("stripe", tolerance_seconds=10)
    body = b'{"id": "evt_1"}'
    for skew, ok in ((-10, True), (10, True), (-11, False), (11, False)):
        verdict = v.verify(sign_headers("stripe", SECRET, body, now=NOW + skew), body, NOW)
        assert verdict.ok is ok and (ok or verdict.reason == "stale_timestamp"), skew


@pytest.mark.parametrize("scheme, sig_header, id_header", [
    ("shopify", "x-shopify-hmac-sha256", "x-shopify-webhook-id"),
    ("woocommerce", "x-wc-webhook-signature", "x-wc-webhook-delivery-id"),
])
def test_shopify_and_woocommerce(scheme, sig_header, id_header):
    v = _verifier(scheme)
    body = b'{"id": 820982911946154508, "email": "jon@example.com"}'
    headers = sign_headers(scheme, SECRET, body, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert set(headers) == {sig_header, id_header}
    assert v.verify(headers, body, NOW) == Verdict(True, "", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert v.verify({sig_header: headers[sig_header]}, body, NOW) == Verdict(True, "", None)
    assert v.verify({}, body, NOW).reason == "missing_signature"
    assert v.verify({sig_header: "not base64!"}, body, NOW).reason == "bad_signature"
    assert v.verify(headers, body + b" ", NOW).reason == "bad_signature"


def test_standard_webhooks_refusals():
    v = _verifier("standard_webhooks")
    body = b'{"type": "user.created"}'
    h = sign_headers("standard_webhooks", WHSEC, body, now=NOW, webhook_id="msg_1")
    assert v.verify(h, body, NOW).webhook_id == "msg_1"
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert v.verify({k: x for k, x in h.items() if k != missing}, body, NOW).reason == "missing_signature"
    assert v.verify(dict(h, **{"webhook-id": "msg_2"}), body, NOW).reason == "bad_signature"  # id is signed
    assert v.verify(dict(h, **{"webhook-signature": "v1a,xyz"}), body, NOW).reason == "malformed_signature"
    assert v.verify(dict(h, **{"webhook-signature": "garbage"}), body, NOW).reason == "malformed_signature"
    assert v.verify(dict(h, **{"webhook-timestamp": "soon"}), body, NOW).reason == "malformed_signature"
    assert v.verify(h, body, NOW - 301).reason == "stale_timestamp"
    assert v.verify(h, body, NOW + 301).reason == "stale_timestamp"


def test_an_oversized_or_unprintable_sender_id_is_not_used_for_dedup():
    v = _verifier("shopify")
    body = b"{}"
    for bad in ("x" * 257, "a\x00b", "   "):
        h = sign_headers("shopify", SECRET, body, webhook_id=bad)
        assert v.verify(h, body, NOW) == Verdict(True, "", None)


# -- secrets: rotation, configuration errors, nothing leaked ------------------------------------

@pytest.mark.parametrize("scheme", SIGNED + ("api_key", "bearer"))
def test_rotation_any_listed_secret_verifies(scheme):
    old, new = _secret_for(scheme), ("whsec_" + base64.b64encode(b"another key!").decode()
                                      if scheme == "standard_webhooks" else "the-new-secret")
    v = make_verifier({"scheme": scheme, "secret_env": ["OLD", "NEW"]}, {"OLD": old, "NEW": new})
    body = b'{"id": "evt_9"}'
    for secret in (old, new):
        assert v.verify(sign_headers(scheme, secret, body, now=NOW), body, NOW).ok, secret
    stranger = "whsec_" + base64.b64encode(b"nobody's").decode() if scheme == "standard_webhooks" else "a-stranger"
    assert not v.verify(sign_headers(scheme, stranger, body, now=NOW), body, NOW).ok


@pytest.mark.parametrize("spec, env, words", [
    ({"scheme": "stripe", "secret_env": "STRIPE_WH"}, {}, ["'STRIPE_WH'", "not set"]),
    ({"scheme": "stripe", "secret_env": ["A", "B"]}, {"A": "aaaaaaaa", "B": "  "}, ["'B'", "not set or empty"]),
    ({"scheme": "stripe"}, {}, ["secret_env"]),
    ({"scheme": "hmac_md5"}, {}, ["scheme must be one of", "hmac_sha256"]),
    ({}, {}, ["scheme must be one of"]),
    ("stripe", {}, ["must be a mapping"]),
    ({"scheme": "none", "secret_env": "X"}, {}, ["does not take secret_env"]),
    ({"scheme": "stripe", "secret_env": "X", "token_env": "Y"}, {}, ["not both"]),
    ({"scheme": "stripe", "secret_env": []}, {}, ["non-empty list"]),
    ({"scheme": "stripe", "secret_env": "S", "tolerance_seconds": -1}, {"S": "xxxxxxxx"}, ["tolerance_seconds"]),
    ({"scheme": "api_key", "secret_env": "S", "header": "bad header"}, {"S": "xxxxxxxx"}, ["header name"]),
    ({"scheme": "standard_webhooks", "secret_env": "S"}, {"S": "whsec_%%%not-b64"}, ["'S'", "whsec_"]),
], ids=["unset", "one-of-list-blank", "no-env", "unknown-scheme", "no-scheme", "not-a-mapping", "extra-key",
        "both-names", "empty-list", "bad-tolerance", "bad-header", "bad-whsec"])
def test_configuration_errors_name_the_setting_never_the_value(spec, env, words):
    with pytest.raises(ConfigError) as info:
        make_verifier(spec, env, where="mapping acme.yaml serve.sources[0].auth")
    message = str(info.value)
    assert isinstance(info.value, EbiMapperError) and isinstance(info.value, ValueError)
    assert message.startswith("mapping acme.yaml serve.sources[0].auth: ") and "\n" not in message
    for word in words:
        assert word in message
    for value in env.values():
        if value.strip():
            assert value not in message


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_secret_in_reprs_or_verdicts_and_every_secret_registered(scheme):
    secrets.clear()
    secret = _secret_for(scheme)
    recipe = HMAC_RECIPE if scheme == "hmac" else {}
    spec = {"scheme": scheme} if scheme == "none" else {"scheme": scheme, "secret_env": "S", **recipe}
    v = make_verifier(spec, {"S": secret})
    body = b'{"id": "evt_1"}'
    headers = sign_headers(scheme, secret, body, now=NOW, options=recipe)
    texts = [repr(v), repr(v.verify(headers, body, NOW)), repr(v.verify({}, body, NOW)),
             repr(v.verify(headers, b"tampered", NOW))]
    for text in texts:
        assert secret not in text and secret[len("whsec_"):] not in text
        for name, value in headers.items():
            if name not in ("webhook-id", "webhook-timestamp", "x-slack-request-timestamp"):  # ids and times are no secret
                assert value not in text and value.removeprefix("sha256=").removeprefix("v0=") not in text
    if scheme != "none":
        assert secrets.redact(f"echo {secret} echo") == "echo *** echo"
    secrets.clear()


# -- properties ------------------------------------------------------------------------------

_secret_text = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
                       min_size=6, max_size=40)


def _secret_strategy(scheme: str):
    if scheme == "standard_webhooks":
        return st.binary(min_size=1, max_size=64).map(lambda k: "whsec_" + base64.b64encode(k).decode())
    return _secret_text


def _flip(text: str, index: int, bit: int) -> str:
    i = index % len(text)
    return text[:i] + chr(ord(text[i]) ^ (1 << (bit % 7))) + text[i + 1:]


@pytest.mark.parametrize("scheme", SIGNED)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), body=st.binary(max_size=300), skew=st.integers(-300, 300))
def test_what_the_signer_signs_verifies_and_any_bit_flip_is_refused(scheme, data, body, skew):
    secret = data.draw(_secret_strategy(scheme), label="secret")
    v = make_verifier({"scheme": scheme, "secret_env": "S"}, {"S": secret})
    headers = sign_headers(scheme, secret, body, now=NOW + skew, webhook_id="wh_1")
    assert v.verify(headers, body, NOW).ok
    part = data.draw(st.sampled_from(["body", "signature", "timestamp"] if scheme in ("stripe", "standard_webhooks")
                                     else ["body", "signature"]), label="part")
    index, bit = data.draw(st.integers(0, 10_000), label="index"), data.draw(st.integers(0, 7), label="bit")
    sig_header = {"hmac_sha256": "x-hub-signature-256", "stripe": "stripe-signature", "shopify": "x-shopify-hmac-sha256",
                  "woocommerce": "x-wc-webhook-signature", "standard_webhooks": "webhook-signature"}[scheme]
    changed = dict(headers)
    if part == "body":
        if not body:
            body2 = bytes([1 << bit])  # an empty body's "flip" is one extra byte
        else:
            i = index % len(body)
            body2 = body[:i] + bytes([body[i] ^ (1 << bit)]) + body[i + 1:]
        note(f"body {body!r} -> {body2!r}")
        assert not v.verify(headers, body2, NOW).ok
        return
    if part == "signature":
        value = headers[sig_header]
        if scheme == "stripe":  # flip inside the v1 value, not the t= part (that is "timestamp")
            head, _, sig = value.partition(",v1=")
            changed[sig_header] = f"{head},v1={_flip(sig, index, bit)}"
        else:
            changed[sig_header] = _flip(value, index, bit)
    else:
        if scheme == "stripe":
            t, _, rest = headers[sig_header].partition(",")
            changed[sig_header] = f"t={_flip(t[2:], index, bit)},{rest}"
        else:
            changed["webhook-timestamp"] = _flip(headers["webhook-timestamp"], index, bit)
    note(f"{headers} -> {changed}")
    verdict = v.verify(changed, body, NOW)
    assert not verdict.ok and verdict.reason in {"bad_signature", "malformed_signature", "stale_timestamp",
                                                 "missing_signature"}
