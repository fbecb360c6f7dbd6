"""The shared limiter (ebi_mapper/scaleout/limiter.py) against real Redis, from several processes.

Each process admits requests as fast as it can, holds each for a random latency, and notes the
moment its request "arrives" at the server (a random instant between admission and answer, read
from the host clock all processes share). Counted at that receiver side, no window of the limit's
length holds more than the limit, per class and globally, while the limiter still lets most of the
allowed rate through.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time

import pytest

from ebi_mapper.delivery.ratelimit import Limit
from ebi_mapper.scaleout.limiter import RedisRateLimiter, headroom

CLASS_A = Limit(6, 0.5)
GLOBAL = Limit(10, 0.5)
RUN_SECONDS = 2.5


def _make(url: str, prefix: str) -> RedisRateLimiter:
    import redis

    return RedisRateLimiter(redis.Redis.from_url(url), prefix=prefix, tenant=7,
                            classes={"a": CLASS_A, "b": None}, global_limit=GLOBAL)


def _hammer(url: str, prefix: str, seed: int, barrier, out) -> None:
    lim = _make(url, prefix)
    rng = random.Random(seed)
    arrivals = []
    barrier.wait(60)  # every process imported and connected before the race starts
    start = time.time()
    while time.time() < start + RUN_SECONDS:
        cls = rng.choice("ab")
        wait = lim.try_admit(cls)
        if wait > 0:
            time.sleep(min(wait, 0.01) * rng.random())
            continue
        latency = rng.random() * 0.03
        arrive = rng.random() * latency
        time.sleep(arrive)
        arrivals.append((cls, time.time()))
        time.sleep(latency - arrive)
        lim.complete(cls)
    out.put(arrivals)


def _max_in_window(times: list[float], width: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - width:  # closed window [t - width, t]
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.slow
def test_no_window_over_the_limit_across_processes(redis_url, prefix):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_hammer, args=(redis_url, prefix, seed, barrier, out)) for seed in range(4)]
    for p in procs:
        p.start()
    arrivals = [a for _ in procs for a in out.get(timeout=90)]
    for p in procs:
        p.join(10)
    a = [t for c, t in arrivals if c == "a"]
    every = [t for _, t in arrivals]
    assert _max_in_window(a, CLASS_A.per_seconds) <= CLASS_A.requests
    assert _max_in_window(every, GLOBAL.per_seconds) <= GLOBAL.requests
    # ... and it is a limiter, not a wall: most of the allowed rate went through.
    assert len(every) >= 0.6 * GLOBAL.per_second * RUN_SECONDS
    assert len(a) >= 0.5 * CLASS_A.per_second * RUN_SECONDS * 0.5


def test_admits_into_both_or_neither(rclient, prefix):
    lim = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": Limit(3, 10), "b": Limit(100, 10)},
                           global_limit=Limit(4, 10))
    assert [lim.try_admit("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.try_admit("a") > 0  # class full
    assert lim.try_admit("b") == 0.0  # global has one place left
    assert lim.try_admit("b") > 0  # global full: b refused, and a refusal adds nothing to b's log
    zs = {k.decode(): rclient.zcard(k) for k in rclient.scan_iter(match=prefix + "*")}
    assert zs == {f"{prefix}lim:1:a": 3, f"{prefix}lim:1:b": 1, f"{prefix}lim:1:global": 4}


def test_in_flight_places_are_held_until_the_answer_then_count_from_it(rclient, prefix):
    lim = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": Limit(2, 0.3)}, global_limit=None, safety=0)
    assert lim.try_admit("a") == 0.0 and lim.try_admit("a") == 0.0
    time.sleep(0.4)  # longer than the window: still refused, both places are in flight
    assert 0 < lim.try_admit("a") <= 0.01
    lim.complete("a")
    wait = lim.try_admit("a")
    assert 0.25 <= wait <= 0.31  # the answered one counts from its answer, a full window
    time.sleep(wait)
    assert lim.try_admit("a") == 0.0


def test_a_dead_workers_places_expire_after_lease_and_window(rclient, prefix):
    dead = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": Limit(1, 0.2)}, global_limit=None,
                            safety=0, lease=0.3)
    assert dead.try_admit("a") == 0.0  # never completed: the worker died
    other = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": Limit(1, 0.2)}, global_limit=None, safety=0)
    assert other.try_admit("a") > 0
    time.sleep(0.55)
    assert other.try_admit("a") == 0.0


def test_pause_after_429_is_shared(rclient, prefix):
    one = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": None}, global_limit=None)
    two = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": None}, global_limit=None)
    one.pause("a", 0.5)
    assert 0.3 < two.try_admit("a") <= 0.5
    assert two.wait_time("a") > 0.3  # remembered without a round trip


def test_headroom(rclient, prefix):
    lim = RedisRateLimiter(rclient, prefix=prefix, tenant=1, classes={"a": Limit(5, 10)}, global_limit=Limit(100, 1))
    lim.try_admit("a")
    lim.try_acquire("a")
    rows = {r["class"]: r for r in headroom(rclient, prefix=prefix, tenant=1, classes={"a": Limit(5, 10)},
                                            global_limit=Limit(100, 1))}
    assert rows["a"]["used"] == 2 and rows["a"]["in_flight"] == 1 and rows["a"]["headroom"] == 3
    assert rows["global"]["used"] == 2
