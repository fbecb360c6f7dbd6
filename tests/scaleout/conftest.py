"""Real Redis for the scale-out tests: the server in EBI_MAPPER_TEST_REDIS_URL (scripts/test-services
sets it: the machine's 127.0.0.1:6379 db 15, or a redis-server it started), each test under its own
key prefix, deleted afterwards."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("EBI_MAPPER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:  # pragma: no cover - scripts/test starts one
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); run the tests through scripts/test, which starts one")
    return REDIS_URL


@pytest.fixture
def rclient(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(rclient):
    """A key prefix of this test only; its keys are deleted at the end."""
    p = f"ebitest:{uuid.uuid4().hex[:10]}:"
    yield p
    keys = list(rclient.scan_iter(match=p + "*", count=1000))
    for start in range(0, len(keys), 500):
        rclient.delete(*keys[start:start + 500])
