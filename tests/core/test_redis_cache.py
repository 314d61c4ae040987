"""The shared cache when Redis fails (OPERATIONS.md, O1): a real redis-server of the test's
own, stopped, frozen and started again. The cache answers as an empty one at once, warns
once per outage, and uses Redis again by itself."""

import logging
import time

import pytest

from mesads.core.cache import CacheUnavailable, ResilientRedisCache
from tests.support.redis_server import needs_redis_server, running_redis_server

pytestmark = needs_redis_server

RETRY_AFTER = 0.5


@pytest.fixture(scope="module")
def redis_server():
    with running_redis_server() as server:
        yield server


@pytest.fixture
def cache(redis_server):
    return ResilientRedisCache(
        redis_server.url,
        {
            "KEY_PREFIX": "test-cache",
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "RETRY_AFTER": RETRY_AFTER,
            },
        },
    )


def _wait_for_retry() -> None:
    time.sleep(RETRY_AFTER + 0.1)


def _outage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mesads.cache"]


def _as_an_empty_cache(cache) -> None:
    """What every caller sees while Redis fails: Django's DummyCache."""
    cache.set("figures", {"ads": 12})
    assert cache.get("figures") is None  # what the health check's set-then-get sees
    assert cache.get("figures", "défaut") == "défaut"
    assert cache.get_many(["figures", "other"]) == {}
    assert cache.add("lock", 1) is True  # nobody else can hold it: do the work
    assert cache.has_key("lock") is False
    with pytest.raises(ValueError):
        cache.incr("counter")
    assert cache.delete("figures") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.get_or_set("computed", lambda: 42) == 42
    with pytest.raises(CacheUnavailable):
        cache.client_call(lambda client: client.ping())


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_a_failing_redis_is_an_empty_cache_warned_once_then_used_again(
    cache,
    redis_server,
    caplog,
    fault,
):
    caplog.set_level(logging.INFO, logger="mesads.cache")
    cache.set("figures", {"ads": 12})
    assert cache.get("figures") == {"ads": 12}

    if fault == "stopped":
        redis_server.stop()
    else:
        redis_server.freeze()
    try:
        started = time.monotonic()
        _as_an_empty_cache(cache)
        for _ in range(200):
            assert cache.get("figures") is None
        # A frozen Redis costs one timeout (0.5 s), not one per call: the breaker skips it.
        assert time.monotonic() - started < 5
        _wait_for_retry()
        _as_an_empty_cache(cache)  # tried once more, failed again: still the same outage
        warnings = _outage_warnings(caplog)
        assert len(warnings) == 1, warnings
        assert "unreachable" in warnings[0]
    finally:
        if fault == "stopped":
            redis_server.start()  # on the same port, empty
        else:
            redis_server.thaw()

    _wait_for_retry()
    cache.set("figures", {"ads": 13})
    assert cache.get("figures") == {"ads": 13}
    assert cache.client_call(lambda client: client.ping()) is True
    warnings = _outage_warnings(caplog)
    assert len(warnings) == 2 and "answers again" in warnings[1], warnings
