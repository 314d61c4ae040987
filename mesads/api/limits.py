"""Rate limits shared by every app server: « at most N calls per period », as GCRA (the
generic cell rate algorithm, a token bucket kept as one number).

A limit of N calls per period P lets a burst of N calls through, then one call every P/N
seconds: however the calls fall, no span of s seconds lets more than N + s·N/P through (a
fixed window of P lets 2N through across its boundary: OPERATIONS.md, L8). Its state is one
number per limit, the « theoretical arrival time » (TAT): when the limit will be entirely
free again. A call is let through when, counted, it leaves the TAT at most P ahead of now.

Where the state lives, so that the limit holds in total across servers:

- in Redis when the cache is Redis and answers: one Lua script per call (atomic, with
  Redis's own clock, so that the servers' clocks do not matter);
- otherwise in the database (``RateLimit``): one atomic INSERT … ON CONFLICT DO UPDATE …
  RETURNING per call (PostgreSQL locks the row for the statement; SQLite writes one at a
  time), with this server's clock. When Redis fails the limits go on there, never
  unlimited; when it answers again they go back to it. At either switch a limit starts
  afresh on the other side: a key may get up to its N calls once more, no more.

The API's views run outside the request's transaction (``views.base.KeyedView``): each
statement commits at once and a refused call (an error response) keeps its count.
"""

import time
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection

from mesads.core.cache import CacheUnavailable, ResilientRedisCache

# GCRA in Lua. A call is let through when it leaves the TAT at most `period` ahead of now.
# A tenth of an interval of slack absorbs the rounding of N intervals adding up to P (the
# N-th call of a burst passes; the N+1-th, a whole interval over, cannot).
GCRA_LUA = """
local function gcra(key, interval, period, apply)
    local clock = redis.call('TIME')
    local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
    local tat = tonumber(redis.call('GET', key))
    if not tat or tat < now then tat = now end
    local new = tat + interval
    if new - now > period + interval / 10 then
        return {0, string.format('%.6f', new - period - now)}
    end
    if apply then
        redis.call('SET', key, string.format('%.17g', new), 'PX', math.ceil((new - now) * 1000))
    end
    return {1, '0'}
end
"""
HIT_SCRIPT = GCRA_LUA + "return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), true)"
PEEK_SCRIPT = GCRA_LUA + "return gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), false)"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    wait: float  # seconds before a call would be let through (0 when it is)


def redis_cache() -> ResilientRedisCache | None:
    """The shared cache when it is Redis; None when it is the database's table."""
    cache = caches["default"]
    return cache if isinstance(cache, ResilientRedisCache) else None


_scripts: dict[str, object] = {}


def run_script(cache: ResilientRedisCache, source: str, keys: list[str], args: list) -> list:
    """A Lua script on the cache's Redis (EVALSHA, loaded again after a Redis restart),
    under its breaker: ``CacheUnavailable`` when Redis fails. ``keys`` are cache names
    (the cache's prefix is added)."""
    from redis.commands.core import Script

    names = [cache.make_and_validate_key(key) for key in keys]

    def call(client):
        script = _scripts.get(source)
        if script is None:
            script = _scripts[source] = Script(client, source)
        return script(keys=names, args=args, client=client)

    return cache.client_call(call)


def hit(name: str, limit: int, period: float) -> Decision:
    """One call more under the limit ``name``: let through or not."""
    interval = period / max(limit, 1)
    cache = redis_cache()
    if cache is not None:
        try:
            allowed, wait = run_script(cache, HIT_SCRIPT, [f"limit:{name}"], [interval, period])
            return Decision(bool(allowed), float(wait))
        except CacheUnavailable:
            pass
    return _hit_in_database(name, interval, period)


def wait_before_next(name: str, limit: int, period: float) -> float:
    """Seconds before a call would be let through under ``name`` (0: now), counting
    nothing."""
    interval = period / max(limit, 1)
    cache = redis_cache()
    if cache is not None:
        try:
            _, wait = run_script(cache, PEEK_SCRIPT, [f"limit:{name}"], [interval, period])
            return float(wait)
        except CacheUnavailable:
            pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT tat FROM api_ratelimit WHERE name = %s", [name])
        row = cursor.fetchone()
    if row is None:
        return 0.0
    now = time.time()
    over = row[0] + interval - now - period
    return over if over > interval / 10 else 0.0


# The same rule in one statement: the SET expressions all read the row as it was, locked.
_NEXT_TAT = (
    "(CASE WHEN api_ratelimit.tat > %(now)s THEN api_ratelimit.tat ELSE %(now)s END + %(interval)s)"
)
_ALLOWED = f"({_NEXT_TAT} - %(now)s <= %(period)s + %(interval)s / 10)"
# Built from the constants above only: every value is a parameter.
HIT_SQL = f"""
INSERT INTO api_ratelimit (name, tat, allowed) VALUES (%(name)s, %(first)s, TRUE)
ON CONFLICT (name) DO UPDATE SET
    allowed = {_ALLOWED},
    tat = CASE WHEN {_ALLOWED} THEN {_NEXT_TAT} ELSE api_ratelimit.tat END
RETURNING allowed, tat
"""  # noqa: S608


def _hit_in_database(name: str, interval: float, period: float) -> Decision:
    now = time.time()
    params = {
        "name": name,
        "now": now,
        "first": now + interval,
        "interval": interval,
        "period": period,
    }
    with connection.cursor() as cursor:
        cursor.execute(HIT_SQL, params)
        allowed, tat = cursor.fetchone()
    if allowed:
        return Decision(True, 0.0)
    return Decision(False, tat + interval - period - now)


def purge(today) -> str:
    """Daily step: the database's limits that are entirely free again are forgotten (a
    client that failed once, a key no longer called while Redis was down)."""
    from .models import RateLimit

    deleted, _ = RateLimit.objects.filter(tat__lt=time.time()).delete()
    return f"{deleted} limite(s) d’appels libérée(s) supprimée(s)"
