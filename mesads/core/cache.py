"""The shared cache on Redis, which degrades instead of failing when Redis does not answer.

Redis only ever holds copies (figures, the discovery document of ProConnect) and the API's
counters, never anything the service cannot do without: when it is stopped or unreachable,
a page must still be served from PostgreSQL (OPERATIONS.md, O1). So this backend is
Django's Redis cache with three differences:

- short socket timeouts (``REDIS_TIMEOUT``): a Redis that does not answer costs a request
  a fraction of a second, not gunicorn's timeout;
- a circuit breaker per process and Redis: after a failure, Redis is left alone for
  ``REDIS_RETRY_AFTER`` seconds (no request pays a timeout meanwhile), then the next call
  tries again; once Redis answers, everything goes on without a restart;
- while Redis is failing, the cache behaves as Django's DummyCache, a cache that keeps
  nothing: reads are misses, writes are dropped, ``add`` says it added (a lock taken by
  nobody else, so that each caller does the work itself), ``incr`` finds no key. A ``set``
  followed by a ``get`` answers a miss: the health check sees the cache is down.

One warning is logged when Redis starts failing, and at most one per ``LOG_EVERY``
seconds while it goes on failing (with how many calls were skipped), per process; one
line again when it answers again. Code that needs Redis's own commands (the API's rate
limits) goes through ``client_call``, which raises ``CacheUnavailable`` instead, so that
it can fall back to the database.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger("mesads.cache")

LOG_EVERY = 60.0  # seconds between two warnings of one outage, per process


class CacheUnavailable(Exception):
    """Redis did not answer, or failed a moment ago (the breaker is open)."""


class Breaker:
    """The state of one Redis as this process sees it: closed (calls go through) or open
    until ``open_until`` (calls are skipped)."""

    def __init__(self, name: str, retry_after: float) -> None:
        self.name = name
        self.retry_after = retry_after
        self.open_until = 0.0
        self.failing = False
        self.last_logged = 0.0
        self.skipped = 0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        if time.monotonic() >= self.open_until:
            return True
        with self._lock:
            self.skipped += 1
        return False

    def failed(self, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self.open_until = now + self.retry_after
            first = not self.failing
            self.failing = True
            if not first and now - self.last_logged < LOG_EVERY:
                return
            self.last_logged, skipped, self.skipped = now, self.skipped, 0
        logger.warning(
            "Redis cache %s unreachable (%s: %s): served without it, retried every %s s%s",
            self.name,
            type(error).__name__,
            error,
            self.retry_after,
            "" if first else f"; {skipped} call(s) skipped since the last warning",
        )

    def succeeded(self) -> None:
        if not self.failing:
            return
        with self._lock:
            if not self.failing:
                return
            self.failing = False
        logger.info("Redis cache %s answers again", self.name)


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, retry_after: float) -> Breaker:
    """One breaker per Redis and process, whichever thread or cache alias uses it."""
    with _breakers_lock:
        if location not in _breakers:
            _breakers[location] = Breaker(location.rpartition("@")[2], retry_after)
        return _breakers[location]


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, degraded to a cache that keeps nothing while Redis fails.

    OPTIONS: ``RETRY_AFTER`` (seconds the breaker stays open, default 5); the others go
    to redis-py's connection pool as with Django's backend (``socket_timeout``,
    ``socket_connect_timeout``…)."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        retry_after = float(options.pop("RETRY_AFTER", 5))
        super().__init__(server, {**params, "OPTIONS": options})
        self.breaker = breaker_for(";".join(self._servers), retry_after)

    def _guarded(self, call: Callable[[], Any], fallback: Any) -> Any:
        import redis

        if not self.breaker.allows():
            return fallback
        try:
            result = call()
        except redis.RedisError as error:
            self.breaker.failed(error)
            return fallback
        self.breaker.succeeded()
        return result

    def client_call(self, call: Callable[[Any], Any]) -> Any:
        """``call(client)`` with a redis-py client of this cache (write side), under the
        breaker; ``CacheUnavailable`` if Redis fails or failed a moment ago."""
        import redis

        if not self.breaker.allows():
            raise CacheUnavailable(self.breaker.name)
        try:
            result = call(self._cache.get_client(None, write=True))
        except redis.RedisError as error:
            self.breaker.failed(error)
            raise CacheUnavailable(self.breaker.name) from error
        self.breaker.succeeded()
        return result

    @property
    def available(self) -> bool:
        """False while the breaker is open (Redis failed less than RETRY_AFTER ago)."""
        return time.monotonic() >= self.breaker.open_until

    # Each of Django's operations, with what DummyCache answers when Redis fails.

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(lambda: super(__class__, self).add(key, value, timeout, version), True)

    def get(self, key, default=None, version=None):
        return self._guarded(lambda: super(__class__, self).get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._guarded(lambda: super(__class__, self).set(key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(lambda: super(__class__, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._guarded(lambda: super(__class__, self).delete(key, version), False)

    def get_many(self, keys, version=None):
        return self._guarded(lambda: super(__class__, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._guarded(lambda: super(__class__, self).has_key(key, version), False)

    def incr(self, key, delta=1, version=None):
        missing = object()
        result = self._guarded(lambda: super(__class__, self).incr(key, delta, version), missing)
        if result is missing:
            raise ValueError(f"Key '{key}' not found")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # The keys that could not be set (Django's contract): all of them when Redis fails.
        return self._guarded(
            lambda: super(__class__, self).set_many(data, timeout, version), list(data)
        )

    def delete_many(self, keys, version=None):
        self._guarded(lambda: super(__class__, self).delete_many(keys, version), None)

    def clear(self):
        return self._guarded(lambda: super(__class__, self).clear(), False)
