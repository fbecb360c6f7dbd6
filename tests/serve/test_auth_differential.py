"""Standard Webhooks: our signer and verifier against the reference library (`standardwebhooks`).

Whatever key, message id and body: both sides compute the same signature, each accepts what the
other signs, and both refuse a changed body. The library is a test-only dependency
(pyproject.toml's ``test`` extra); the service itself stays on the standard library.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ebi_mapper.serve.auth import make_verifier
from ebi_mapper.serve.signers import sign_headers

_ids = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"), min_size=1, max_size=40)
_bodies = st.dictionaries(st.text(max_size=10), st.integers(-(2**53), 2**53) | st.text(max_size=20), max_size=5).map(orjson.dumps)


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=1, max_size=64), msg_id=_ids, body=_bodies, skew=st.integers(-200, 200))
def test_same_signatures_and_each_accepts_the_others(key, msg_id, body, skew):
    secret = "whsec_" + base64.b64encode(key).decode()
    now = int(time.time()) + skew
    reference = Webhook(secret)
    theirs = reference.sign(msg_id, datetime.fromtimestamp(now, tz=UTC), body)
    ours = sign_headers("standard_webhooks", secret, body, now=now, webhook_id=msg_id)
    assert ours["webhook-signature"] == theirs
    verifier = make_verifier({"scheme": "standard_webhooks", "secret_env": "S"}, {"S": secret})
    assert verifier.verify(ours, body, time.time()).ok
    reference.verify(body, dict(ours), json_parse=False)  # raises WebhookVerificationError when refused
    changed = body + b" "
    assert not verifier.verify(ours, changed, time.time()).ok
    try:
        reference.verify(changed, dict(ours), json_parse=False)
    except WebhookVerificationError:
        pass
    else:  # pragma: no cover - the failure to report
        raise AssertionError("the reference library accepted a changed body")
