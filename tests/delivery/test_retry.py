"""The retry policy: backoff with full jitter, Retry-After, give-up, split and isolate."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.delivery.retry import RetryPolicy, backoff_cap, decide, full_jitter_backoff
from ebi_mapper.extensions import SendResult

POLICY = RetryPolicy(max_attempts=4, max_throttled=3, base_delay=0.5, max_delay=8.0, max_retry_after=60.0)


@pytest.mark.parametrize("attempt,cap", [(0, 0.0), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (500, 8.0)])
def test_backoff_cap_doubles_then_caps(attempt, cap):
    assert backoff_cap(POLICY, attempt) == cap


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 2000), seed=st.integers(0, 2**32))
def test_full_jitter_stays_within_the_cap(attempt, seed):
    d = full_jitter_backoff(POLICY, attempt, random.Random(seed))
    assert 0.0 <= d <= backoff_cap(POLICY, attempt)


def test_full_jitter_spreads_delays():
    rng = random.Random(1)
    delays = [full_jitter_backoff(POLICY, 5, rng) for _ in range(1000)]
    assert min(delays) < 1.0 and max(delays) > 7.0  # uniform over [0, 8], not a fixed step


def _decide(result, size=10, attempts=1, throttled=0):
    return decide(result, batch_size=size, attempts=attempts, throttled=throttled, policy=POLICY, rng=random.Random(0))


def test_ok_acknowledges():
    assert _decide(SendResult("ok")).action == "ack"


def test_429_honours_retry_after_and_pauses_the_class():
    d = _decide(SendResult("retry", http_status=429, retry_after=7.0), throttled=1)
    assert (d.action, d.delay, d.pause_class) == ("throttled", 7.0, True)


def test_429_retry_after_is_capped():
    assert _decide(SendResult("retry", http_status=429, retry_after=1e6), throttled=1).delay == 60.0


def test_429_without_retry_after_backs_off():
    d = _decide(SendResult("retry", http_status=429), throttled=3 - 1)
    assert d.action == "throttled" and 0.0 <= d.delay <= backoff_cap(POLICY, 2)


def test_too_many_429s_dead_letter():
    assert _decide(SendResult("retry", http_status=429, retry_after=1), throttled=3).action == "dead_letter"


@pytest.mark.parametrize("result", [SendResult("retry", http_status=500, reason="HTTP 500"),
                                    SendResult("retry", reason="timeout")], ids=["5xx", "timeout"])
def test_transient_failures_retry_until_max_attempts(result):
    for attempt in range(1, POLICY.max_attempts):
        d = _decide(result, attempts=attempt)
        assert d.action == "retry" and 0.0 <= d.delay <= backoff_cap(POLICY, attempt)
    last = _decide(result, attempts=POLICY.max_attempts)
    assert last.action == "dead_letter" and result.reason in last.reason


def test_503_retry_after_is_a_floor():
    assert _decide(SendResult("retry", http_status=503, retry_after=5.0), attempts=1).delay >= 5.0


@pytest.mark.parametrize("size,index,action", [(1, None, "dead_letter"), (1, 0, "dead_letter"), (10, None, "split"),
                                               (10, 3, "isolate"), (10, 42, "split")],
                         ids=["single", "single-indexed", "bisect", "isolate", "bad-index-bisects"])
def test_permanent_rejection(size, index, action):
    d = _decide(SendResult("rejected", reason="bad event", http_status=400, rejected_index=index), size=size)
    assert d.action == action and d.reason == "bad event"
    if action == "isolate":
        assert d.index == index


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=10, max_delay=1)
