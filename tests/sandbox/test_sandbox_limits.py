"""The sandbox's sliding-window limiter, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebi_mapper.sandbox.config import SandboxConfigError, make_sandbox_config, parse_rate_limit
from ebi_mapper.sandbox.limits import RateLimiter, SlidingWindow, WindowLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Clock, **kw) -> RateLimiter:
    return RateLimiter([WindowLimit("profile", 3, 10.0, ("ootb_registration",)),
                        WindowLimit("default", 1000, 1.0, ())], clock=clock, **kw)


def test_a_class_is_strictly_limited_by_a_sliding_window():
    clock = Clock()
    limiter = _limiter(clock)
    classes = limiter.classes_of(["ootb_registration"])
    assert classes == ["default", "profile"]
    for t in (0.0, 4.0, 9.0):
        clock.now = 100 + t
        assert limiter.admit(classes)[0]
    clock.now = 109.99
    assert limiter.admit(classes) == (False, 1, "profile")  # 0.01 s until the first leaves
    clock.now = 110.0  # the request at t=0 is now exactly 10 s old: out of the window
    assert limiter.admit(classes)[0]
    clock.now = 113.5
    assert limiter.admit(classes) == (False, 1, "profile")  # until t=14 (the request at t=4)


def test_retry_after_rounds_up_to_whole_seconds():
    clock = Clock()
    limiter = _limiter(clock)
    classes = limiter.classes_of(["ootb_registration"])
    for _ in range(3):
        limiter.admit(classes)
    clock.now += 2.5
    assert limiter.admit(classes) == (False, 8, "profile")


def test_refused_requests_do_not_use_up_the_window_but_are_measured():
    clock = Clock()
    limiter = _limiter(clock)
    classes = limiter.classes_of(["ootb_registration"])
    for _ in range(5):
        limiter.observe(classes)
        limiter.admit(classes)
    stats = limiter.stats()["profile"]
    assert (stats["max_admitted_in_window"], stats["max_received_in_window"], stats["rate_limited"]) == (3, 5, 2)


def test_events_outside_every_class_count_only_against_the_catch_all():
    limiter = _limiter(Clock())
    assert limiter.classes_of(["ootb_deposit"]) == ["default"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), max_size=60))
def test_max_seen_is_the_most_arrivals_in_any_window(offsets):
    window = SlidingWindow(5.0)
    times = sorted(offsets)
    for t in times:
        window.add(t)
    brute = max((sum(1 for u in times if t - 5.0 < u <= t) for t in times), default=0)
    assert window.max_seen == brute


@pytest.mark.parametrize("text, expected", [("50/10", (50, 10.0)), ("5 / 0.5s", (5, 0.5))])
def test_rate_limit_text(text, expected):
    assert parse_rate_limit(text) == expected


@pytest.mark.parametrize("options", [
    {"rate_limits": ["profile=0/1"]}, {"rate_limits": {"profile": "x"}}, {"path": "v2"}, {"port": -1},
    {"bogus": 1}, {"tenant": "abc"},
], ids=["zero-requests", "bad-text", "relative-path", "bad-port", "unknown-option", "bad-tenant"])
def test_config_refuses_nonsense(options):
    with pytest.raises(SandboxConfigError):
        make_sandbox_config(**options)


def test_unknown_rate_class_is_refused_when_the_server_is_made():
    from ebi_mapper.sandbox import make_sandbox_app

    with pytest.raises(SandboxConfigError, match="unknown rate class"):
        make_sandbox_app(make_sandbox_config(rate_limits={"profiles": (5, 1)}))


def test_unknown_vertical_lists_the_known_ones():
    from ebi_mapper.sandbox import make_sandbox_app

    with pytest.raises(SandboxConfigError, match="known: multi_sport_casino"):
        make_sandbox_app(make_sandbox_config(vertical="casinos"))


def test_a_port_in_use_is_a_config_error():
    import socket

    from ebi_mapper.sandbox import start_sandbox

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(SandboxConfigError, match="cannot listen"):
            start_sandbox(port=busy.getsockname()[1])
