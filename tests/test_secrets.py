"""The secret registry: registered values and their encodings never survive ``redact``."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper import secrets


@pytest.fixture(autouse=True)
def _fresh_registry():
    secrets.clear()
    yield
    secrets.clear()


def test_nothing_registered_leaves_text_alone():
    assert secrets.redact("token abc123456") == "token abc123456"
    assert secrets.redact_bytes(b"\xff token") == b"\xff token"


def test_value_and_its_encodings_are_masked():
    token = "sk_live/Zx+9 q&=ä"
    secrets.register(token)
    raw = token.encode()
    for form in (token, quote(token, safe=""), quote_plus(token), base64.b64encode(raw).decode(),
                 base64.urlsafe_b64encode(raw).decode(), base64.b64encode(raw).decode().rstrip("=")):
        assert secrets.redact(f"upstream said <{form}>!") == "upstream said <***>!", form


def test_short_and_missing_values_are_not_registered():
    secrets.register(None, "", "abc", "     ")
    assert secrets.registered_count() == 0
    assert secrets.redact("abc abc") == "abc abc"


def test_longest_value_wins_when_one_contains_another():
    secrets.register("secret-one", "secret-one-two")
    assert secrets.redact("x secret-one-two y secret-one") == "x *** y ***"


def test_read_env_secret_registers_and_strips():
    assert secrets.read_env_secret("NOPE", {}) is None
    assert secrets.read_env_secret("T", {"T": "  tok-123456\n"}) == "tok-123456"
    assert secrets.redact("Bearer tok-123456") == "Bearer ***"


def test_redact_value_and_bytes():
    secrets.register("hunter2-hunter2")
    doc = {"hunter2-hunter2": ["a", {"k": "x hunter2-hunter2 y"}], "n": 3, "b": None}
    assert secrets.redact_value(doc) == {"***": ["a", {"k": "x *** y"}], "n": 3, "b": None}
    assert secrets.redact_bytes(b"\xff\xfehunter2-hunter2\x00") == b"\xff\xfe***\x00"


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(secret=st.text(st.characters(blacklist_categories=("Cs",)), min_size=secrets.MIN_LENGTH, max_size=40)
       .filter(lambda s: s == s.strip()), before=_text, after=_text,
       encoding=st.sampled_from(["plain", "b64", "b64url", "url", "url_plus"]))
def test_a_registered_secret_never_survives_whatever_surrounds_it(secret, before, after, encoding):
    secrets.clear()
    secrets.register(secret)
    raw = secret.encode("utf-8", "surrogatepass")
    form = {"plain": secret, "b64": base64.b64encode(raw).decode(), "b64url": base64.urlsafe_b64encode(raw).decode(),
            "url": quote(secret, safe=""), "url_plus": quote_plus(secret, safe="")}[encoding]
    assert form not in secrets.redact(before + form + after)


def test_log_records_are_redacted_by_the_filter():
    secrets.register("log-secret-123")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(secrets.RedactFilter())
    log = logging.getLogger("test.secrets.filter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("sink said %s", "bad key log-secret-123")
        try:
            raise ValueError("log-secret-123 in an exception")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    assert records[0] == "sink said bad key ***"
    assert "log-secret-123" not in records[1] and "*** in an exception" in records[1]
