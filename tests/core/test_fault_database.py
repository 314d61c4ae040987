"""PostgreSQL frozen or down under the production server (OPERATIONS.md, review of
2026-12-07, O2 and O6): real faults, through a TCP relay between gunicorn and PostgreSQL
(tests/support/relay.py) that either drops everything silently (a SIGSTOPped server, whose kernel
still acknowledges TCP; or a dead network path) or refuses (a server that is down).

gunicorn runs with production settings and persistent connections (CONN_MAX_AGE), the
case where only a client-side deadline helps. Every request must end within a few
seconds (the French error page, or /healthz's 503 JSON), not after gunicorn's 30 s, and
the service must come back by itself once the relay forwards again.
"""

import json
import subprocess
import sys
import time

import pytest
from django.db import OperationalError, connection
from django.db.utils import load_backend
from django.test import Client

from tests.support.production import (
    ROOT,
    database_url,
    fetch,
    free_port,
    gunicorn,
    production_env,
)
from tests.support.relay import Relay

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the faults are put between gunicorn and a PostgreSQL server (SQLite has none)",
)

# gunicorn's and the test's: the session made here is valid there.
SECRET_KEY = "fault-tests-" + "k" * 50
# "Within a few seconds": far below gunicorn's 30 s, with room for a loaded machine.
FEW_SECONDS = 10


@pytest.fixture(scope="module")
def relay():
    with Relay(int(connection.settings_dict["PORT"] or 5432)) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory, relay, static_root):
    with gunicorn(
        static_root,
        log=tmp_path_factory.mktemp("log") / "gunicorn.log",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url(relay.port),
        CONN_MAX_AGE="60",
        DB_RESPONSE_TIMEOUT="2",
    ) as (base, _):
        yield base


@pytest.fixture
def healthy(transactional_db, relay, server):
    """Each test starts with the relay forwarding, and leaves it so whatever happens (the
    database's flush after the test must reach PostgreSQL)."""
    relay.forward()
    wait_until_healthy(server)
    yield
    relay.forward()
    wait_until_healthy(server)


def wait_until_healthy(base: str) -> float:
    """Seconds until /healthz says 200 again."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        if fetch(f"{base}/healthz")[0] == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    pytest.fail("the server did not recover")


@pytest.fixture
def session_cookie(healthy, settings, manager) -> str:
    settings.SECRET_KEY = SECRET_KEY
    client = Client()
    client.force_login(manager)
    return f"sessionid={client.cookies['sessionid'].value}"


def ads_page(base: str, ads, cookie: str):
    return fetch(f"{base}/ads/{ads.pk}/", headers={"Cookie": cookie}, timeout=40)


def healthz(base: str, method: str = "GET"):
    return fetch(f"{base}/healthz", method=method, timeout=40)


def test_a_frozen_database_gives_the_error_page_within_seconds_then_recovers(
    server, relay, session_cookie, complete_ads
):
    status, _, body, _ = ads_page(server, complete_ads, session_cookie)
    assert status == 200 and "Taxi Arènes SARL" in body.decode()  # the persistent connection

    relay.drop()
    status, _, body, waited = ads_page(server, complete_ads, session_cookie)
    assert status == 500
    assert "Erreur technique" in body.decode()  # the French error page
    assert waited < FEW_SECONDS, waited

    status, headers, body, waited = healthz(server)
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["database"] == "error"
    assert waited < FEW_SECONDS, waited
    status, _, body, waited = healthz(server, "HEAD")
    assert (status, body) == (503, b"")
    assert waited < FEW_SECONDS, waited

    relay.forward()
    assert wait_until_healthy(server) < FEW_SECONDS  # without restarting anything
    status, _, body, _ = ads_page(server, complete_ads, session_cookie)
    assert status == 200 and "Taxi Arènes SARL" in body.decode()


def test_healthz_keeps_its_own_short_deadline_on_a_frozen_database(server, relay, healthy):
    assert healthz(server)[0] == 200  # its persistent connection is open

    relay.drop()
    status, _, body, waited = healthz(server)
    assert status == 503 and json.loads(body)["database"] == "error"
    assert waited < 5, waited  # about 2 s: less than a load balancer's probe timeout


def test_a_database_that_refuses_connections_gives_503_json_at_once(
    server, relay, session_cookie, complete_ads
):
    relay.refuse()
    status, headers, body, waited = healthz(server)
    assert status == 503, body  # was the request transaction's 500 HTML
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "status": "error",
        "database": "error",
        "cache": "error",  # the cache of the tests is a table of the database
        "storage": "ok",
    }
    assert waited < 3, waited
    status, _, body, waited = ads_page(server, complete_ads, session_cookie)
    assert status == 500 and "Erreur technique" in body.decode()
    assert waited < 3, waited

    relay.forward()
    assert wait_until_healthy(server) < FEW_SECONDS
    assert ads_page(server, complete_ads, session_cookie)[0] == 200


def test_healthz_answers_head_and_names_each_dependency(server, healthy):
    status, headers, body, _ = healthz(server)
    assert status == 200
    body = json.loads(body)
    assert set(body.pop("worker")) == {"default", "emails", "imports"}  # seconds, or None
    assert body == {"status": "ok", "database": "ok", "cache": "ok", "storage": "ok"}
    assert "Set-Cookie" not in headers
    status, headers, body, _ = healthz(server, "HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Type"] == "application/json"


# --- the backend itself, in this process ------------------------------------------------


def web_connection(port: int, response_timeout: float = 1.0):
    """A connection configured as gunicorn's (a response timeout), through ``port``."""
    config = {**connection.settings_dict, "PORT": port, "CONN_MAX_AGE": 0}
    config["OPTIONS"] = {**config["OPTIONS"], "response_timeout": response_timeout}
    return load_backend(config["ENGINE"]).DatabaseWrapper(config, "web")


def run(wrapper, sql: str) -> tuple[object, float]:
    started = time.monotonic()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute(sql)
            result = cursor.fetchone()[0]
    except OperationalError as error:
        result = error
    return result, time.monotonic() - started


def test_a_slow_query_on_a_live_server_is_not_cut(transactional_db):
    """Silence is not death: a query longer than the response timeout goes on as long as
    the server still answers a new connection (the statement timeout bounds it)."""
    wrapper = web_connection(connection.settings_dict["PORT"] or 5432)
    try:
        result, waited = run(wrapper, "SELECT pg_sleep(2.5)::text")
        assert result == "" and waited >= 2.5
    finally:
        wrapper.close()


def test_a_connection_left_silent_is_thrown_away_and_the_next_one_works(transactional_db):
    with Relay(int(connection.settings_dict["PORT"] or 5432)) as relay:
        wrapper = web_connection(relay.port)
        try:
            assert run(wrapper, "SELECT 1")[0] == 1
            relay.drop()
            result, waited = run(wrapper, "SELECT 1")
            assert isinstance(result, OperationalError), result
            assert waited < FEW_SECONDS, waited
            assert wrapper.connection.closed  # never reused
            # Meanwhile, new connections to it fail at once rather than waiting.
            wrapper.close()
            result, waited = run(wrapper, "SELECT 1")
            assert isinstance(result, OperationalError) and waited < 1
            relay.forward()
            time.sleep(2 * 1.0)  # the short hold after a server was found silent
            wrapper.close()
            assert run(wrapper, "SELECT 1")[0] == 1
        finally:
            wrapper.close()


def test_only_web_requests_get_the_response_timeout(transactional_db):
    """The worker, imports and migrations may wait as long as their work takes."""
    code = (
        "import django; django.setup();"
        "from django.db import connection as c;"
        "print(c.settings_dict['ENGINE'], c.settings_dict['OPTIONS'].get('response_timeout'),"
        " c.settings_dict['OPTIONS']['keepalives'])"
    )
    env = {**production_env(free_port()), "DJANGO_SETTINGS_MODULE": "mesads.settings"}
    web = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "MESADS_WEB_SERVER": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    command = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert web.stdout.split() == ["mesads.core.db", "2.0", "1"], web.stderr
    assert command.stdout.split() == ["mesads.core.db", "None", "1"], command.stderr
