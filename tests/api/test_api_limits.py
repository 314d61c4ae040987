"""The API's limits (OPERATIONS.md, review of 2026-12-07): a key's calls as a token bucket
(L8: a fixed window let 19 calls of a 10-a-minute key through in 2.5 s across a minute's
boundary); failed authentications limited per client address, unknown and known prefixes
alike (L10); both shared by every server, in Redis or, when it fails, in the database."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesads.api import keys, limits
from mesads.api.models import RateLimit

pytestmark = pytest.mark.django_db

LIST = reverse("api:ads_list")


class Clock:
    """The clock of this process (``time.time``), as the database's limits read it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    # Two seconds before a minute's boundary.
    fake = Clock(1_800_000_058.0)
    monkeypatch.setattr(time, "time", fake.time)
    return fake


def _call(client, key: str, address: str = "127.0.0.1"):
    return client.get(LIST, HTTP_X_API_KEY=key, REMOTE_ADDR=address)


@pytest.mark.parametrize("shared_cache", ["database", "redis-down"], indirect=True)
def test_a_burst_across_a_minutes_boundary_gets_the_limit_and_no_more(
    client, make_key, complete_ads, clock, shared_cache
):
    """L8, as found: a key of 10 calls a minute, a call every 0.1 s for 2.5 s across the
    boundary of a minute. A fixed window let 10 through before it and 9 after."""
    raw, _ = make_key(rate_limit=10)
    statuses = []
    for _ in range(25):
        statuses.append(_call(client, raw).status_code)
        clock.now += 0.1
    assert statuses == [200] * 10 + [429] * 15


@pytest.mark.parametrize("shared_cache", ["database", "redis-down"], indirect=True)
def test_no_span_of_time_lets_more_through_than_the_bucket_holds(clock, shared_cache):
    """A call every half second for five minutes against 10 a minute: 10 at once, then one
    every 6 s, wherever the minutes begin."""
    allowed = []
    for step in range(600):
        if limits.hit("test-key", 10, 60).allowed:
            allowed.append(step * 0.5)
        clock.now += 0.5
    for start in allowed:
        assert len([t for t in allowed if start <= t < start + 2.5]) <= 10
        assert len([t for t in allowed if start <= t < start + 60]) <= 20
    # After the first burst, about one call every 6 s: 10 + 300 / 6 in five minutes.
    assert 10 + 300 // 6 - 1 <= len(allowed) <= 10 + 300 // 6 + 1


def test_after_a_burst_calls_come_back_one_at_a_time_not_with_the_next_minute(
    client, make_key, complete_ads, shared_cache
):
    """With Redis's clock (or the database's, Redis failing): 60 a minute is a burst of
    60, then one call a second, and Retry-After says so (a fixed window answered « wait
    for the next minute », then let the whole burst through again)."""
    raw, _ = make_key(rate_limit=60)
    started = time.monotonic()
    allowed = 0
    while (response := _call(client, raw)).status_code == 200:
        allowed += 1
    assert 60 <= allowed <= 60 + (time.monotonic() - started) + 1
    assert response.status_code == 429
    assert response["Retry-After"] in ("1", "2")  # a second and its rounding up
    assert response.json()["erreur"] == "trop_d_appels"

    let_through = []
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < 2.5:
        if _call(client, raw).status_code == 200:
            let_through.append(elapsed)
        time.sleep(0.05)
    # About one a second (the calls' own durations blur the edges); a fixed window would
    # have let none through, or the whole burst again.
    assert 1 <= len(let_through) <= 4, let_through


def test_a_client_that_keeps_failing_is_locked_out_whatever_key_it_sends(
    client, make_key, complete_ads, shared_cache
):
    """L10: 200 wrong secrets went through in 1.1 s. Unknown prefixes, wrong secrets and
    keys that are not ours count alike; beyond the limit the client gets 429 before any
    key is looked at, even a valid one; another address is not concerned."""
    raw, _ = make_key()
    prefix = raw.partition(".")[0]
    wrong = [f"{prefix}.{'x' * 32}", "Inconnu1.secret", "pas-une-clé"]
    statuses = [_call(client, wrong[n % 3]).status_code for n in range(keys.FAILED_AUTH_LIMIT)]
    assert statuses == [401] * keys.FAILED_AUTH_LIMIT

    with CaptureQueriesContext(connection) as queries:
        locked = _call(client, raw)
    assert locked.status_code == 429
    assert locked.json()["erreur"] == "trop_de_tentatives"
    assert "votre adresse" in locked.json()["message"]
    # One failure frees itself every FAILED_AUTH_PERIOD / FAILED_AUTH_LIMIT seconds.
    interval = keys.FAILED_AUTH_PERIOD / keys.FAILED_AUTH_LIMIT
    assert interval - 2 <= int(locked["Retry-After"]) <= interval
    assert not [q for q in queries.captured_queries if "api_apikey" in q["sql"]]
    assert _call(client, wrong[1]).status_code == 429

    assert _call(client, raw, address="10.0.0.2").status_code == 200


def test_an_unknown_prefix_costs_what_a_known_one_does(client, make_key, complete_ads):
    """L10: an unknown prefix answered in 12 ms, a known one in 3 ms (from the key's
    cache): the prefixes could be told apart. Now both read the key's row by the same
    query and compare a hash; a successful call reads it the same way."""
    raw, _ = make_key()
    prefix = raw.partition(".")[0]

    def key_queries(key: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            _call(client, key)
        return [q["sql"] for q in queries.captured_queries if "api_apikey" in q["sql"]]

    known = key_queries(f"{prefix}.{'x' * 32}")
    unknown = key_queries(f"Inconnu1.{'x' * 32}")
    assert len(known) == len(unknown) == 1
    assert known[0].replace(prefix, "Inconnu1") == unknown[0]


def test_the_daily_step_forgets_limits_that_are_free_again(clock):
    limits._hit_in_database("api-rate:ancienne", 10, 60)
    limits._hit_in_database("api-rate:active", 10, 60)
    clock.now += 61
    limits._hit_in_database("api-rate:active", 10, 60)
    assert limits.purge(None) == "1 limite(s) d’appels libérée(s) supprimée(s)"
    assert list(RateLimit.objects.values_list("name", flat=True)) == ["api-rate:active"]
