"""Redis stopped under two production servers (OPERATIONS.md, O1: login, the ADS page, the
API and « Chiffres clés » answered 500 while Redis was down).

Two gunicorn servers with production settings share the test database and a redis-server
of the test's own. With Redis stopped, a person still logs in and opens an ADS page on
either server, the API still answers and its rate limit still holds in total (in the
database), a logout is final; each server warns once. Redis started again (empty), both
use it again without a restart. Frozen (listening, answering nothing), it costs a request
at most a timeout, and a logout made meanwhile stays final once it answers. Failed keys
sent to both servers lock the address out on both."""

import http.client
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from http.cookies import SimpleCookie

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from mesads.api.models import APIKey
from tests.core.test_production_serving import gunicorn
from tests.support.redis_server import needs_redis_server, running_redis_server

pytestmark = [
    needs_redis_server,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="gunicorn serves the test database only when it can be shared (PostgreSQL; CI)",
    ),
]

PASSWORD = "une phrase de passe de test"  # noqa: S105
LIMIT = 5
RETRY_AFTER = 2  # REDIS_RETRY_AFTER of the servers, seconds


class Visitor:
    """A browser's cookies, sent by hand: production cookies are HTTPS-only, and these
    servers are plain loopback."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(self, base: str, path: str, data: dict | None = None, **headers):
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"{base}{path}"
        started = time.monotonic()
        conn.request("POST" if data is not None else "GET", path, body, headers)
        response = conn.getresponse()
        content = response.read().decode()
        elapsed = time.monotonic() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        conn.close()
        return response.status, content, elapsed, response.headers

    def csrf_token(self, base: str, path: str) -> str:
        status, page, _, _ = self.request(base, path)
        assert status == 200, (path, status)
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def log_in(self, base: str, email: str) -> int:
        token = self.csrf_token(base, "/compte/connexion/")
        data = {"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD}
        return self.request(base, "/compte/connexion/", data)[0]

    def log_out(self, base: str, page: str) -> int:
        token = self.csrf_token(base, page)
        return self.request(base, "/compte/deconnexion/", {"csrfmiddlewaretoken": token})[0]


def _api(base: str, key: str) -> tuple[int, dict, dict]:
    status, body, _, headers = Visitor().request(base, "/api/v1/ads/", **{"X-Api-Key": key})
    return status, json.loads(body), headers


def _key(rate_limit: int) -> str:
    return APIKey.objects.create_key(
        name="Production",
        organisation="le.taxi",
        scope=APIKey.Scope.NATIONAL,
        profile="le_taxi",
        rate_limit=rate_limit,
    )[1]


def _hundred_pages(visitor: Visitor, bases: list[str], page: str) -> list[float]:
    """The ADS page 100 times, on each server in turn: each answer's time."""
    times = []
    for n in range(100):
        status, _, elapsed, _ = visitor.request(bases[n % 2], page)
        assert status == 200, (n, status)
        times.append(elapsed)
    return times


def _hundred_api_calls(bases: list[str], key: str) -> list[float]:
    times = []
    for n in range(100):
        status, _, elapsed, _ = Visitor().request(
            bases[n % 2], "/api/v1/ads/", **{"X-Api-Key": key}
        )
        assert status == 200, (n, status)
        times.append(elapsed)
    return times


def _the_limit_holds_in_total(bases: list[str]) -> str:
    key = _key(LIMIT)
    answers = [_api(bases[n % 2], key) for n in range(LIMIT + 3)]
    assert [status for status, _, _ in answers] == [200] * LIMIT + [429] * 3
    for _, body, headers in answers[LIMIT:]:
        assert body["erreur"] == "trop_d_appels"
        assert 1 <= int(headers["Retry-After"]) <= 60
    return key


class Output:
    """What a server writes (JSON lines), read as it comes so that its pipe never fills."""

    def __init__(self, process) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process) -> None:
        for line in process.stdout:
            self.lines.append(line)

    def records(self) -> list[dict]:
        self.thread.join(timeout=30)
        return [json.loads(line) for line in self.lines if line.startswith("{")]


def test_with_redis_stopped_the_service_keeps_working_then_uses_redis_again(
    transactional_db, static_root, manager, complete_ads
):
    static = static_root
    hasher = PBKDF2PasswordHasher()
    manager.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    manager.save()
    key = _key(10_000)
    page = f"/ads/{complete_ads.pk}/"
    figures: dict[str, float] = {}

    with running_redis_server() as redis_server:
        env = {
            "REDIS_URL": redis_server.url,
            "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "REDIS_RETRY_AFTER": str(RETRY_AFTER),
            # One service: both servers sign and check sessions alike.
            "SECRET_KEY": secrets.token_urlsafe(45),
        }
        with gunicorn(static, **env) as (a, process_a), gunicorn(static, **env) as (b, process_b):
            outputs = [Output(process_a), Output(process_b)]
            bases = [a, b]
            agent = Visitor()
            assert agent.log_in(a, manager.email) == 302
            for base in bases:
                assert agent.request(base, page)[0] == 200
                assert _api(base, key)[0] == 200

            # --- Redis stopped -------------------------------------------------------------
            redis_server.stop()
            times = _hundred_pages(agent, bases, page)
            figures["outage: 1st page"], figures["outage: 100th page"] = times[0], times[99]
            assert max(times) < 10
            times = _hundred_api_calls(bases, key)
            figures["outage: 1st API call"], figures["outage: 100th API call"] = times[0], times[99]
            assert max(times) < 10

            other = Visitor()
            assert other.log_in(b, manager.email) == 302
            for base in bases:
                assert other.request(base, page)[0] == 200
                assert _api(base, key)[0] == 200
                assert other.request(base, "/chiffres-cles/")[0] == 200
            _the_limit_holds_in_total(bases)
            # A logout while Redis is down is final: the old cookie opens nothing, on
            # either server, now or once Redis is back.
            stolen = dict(other.cookies)
            assert other.log_out(a, page) == 302
            thief = Visitor()
            thief.cookies = stolen
            for base in bases:
                assert thief.request(base, page)[0] == 302

            # --- Redis started again (empty), nothing restarted ---------------------------
            redis_server.start()
            time.sleep(RETRY_AFTER + 0.5)
            times = _hundred_pages(agent, bases, page)
            figures["after: 1st page"], figures["after: 100th page"] = times[0], times[99]
            times = _hundred_api_calls(bases, key)
            figures["after: 1st API call"], figures["after: 100th API call"] = times[0], times[99]
            for base in bases:
                assert _api(base, key)[0] == 200
                assert agent.request(base, "/chiffres-cles/")[0] == 200
                assert thief.request(base, page)[0] == 302
            limited = _the_limit_holds_in_total(bases)
            # Counted in Redis again, not in the database.
            prefix = limited.partition(".")[0]
            assert redis_server.client().keys(f"*limit:api-rate:{prefix}")

            # --- Redis frozen: listening, answering nothing -------------------------------
            # Frozen, Redis keeps what it holds: a session it held (with cached_db) and
            # that was ended meanwhile would come back from its copy once it answers.
            third = Visitor()
            assert third.log_in(a, manager.email) == 302
            for base in bases:
                assert third.request(base, page)[0] == 200
            copied = dict(third.cookies)
            redis_server.freeze()
            try:
                assert third.log_out(b, page) == 302
                # The pages no longer read Redis; an API call pays one timeout per server.
                times = _hundred_api_calls(bases, key)
                figures["frozen: 1st API call"] = times[0]
                figures["frozen: 100th API call"] = times[99]
                assert max(times) < 10
                for base in bases:
                    assert agent.request(base, page)[0] == 200
            finally:
                redis_server.thaw()
            time.sleep(RETRY_AFTER + 0.5)
            thief.cookies = copied
            for base in bases:
                assert _api(base, key)[0] == 200
                assert thief.request(base, page)[0] == 302

            # --- Failed keys from one address, spread over both servers (L10) ----------
            prefix = key.partition(".")[0]
            failures = [_api(bases[n % 2], f"{prefix}.faux{n}")[0] for n in range(20)]
            assert failures == [401] * 20
            for base in bases:
                status, body, _ = _api(base, key)
                assert (status, body["erreur"]) == (429, "trop_de_tentatives")

    print("\n" + "\n".join(f"{name}: {seconds * 1000:.1f} ms" for name, seconds in figures.items()))
    for output in outputs:
        records = output.records()
        warnings = [r["message"] for r in records if r["logger"] == "mesads.cache"]
        # One warning per outage (stopped, then frozen) and per server, however many
        # requests met it; one line when Redis answers again.
        assert len([w for w in warnings if "unreachable" in w]) == 2, warnings
        assert len([w for w in warnings if "answers again" in w]) == 2, warnings
        statuses = [r["status"] for r in records if r["logger"] == "mesads.request"]
        assert len(statuses) > 100
        assert 500 not in statuses
