"""The production server for real: gunicorn with gunicorn.conf.py and production settings,
against the test database, answering the health check and the login page, one JSON log
line per request, and a statement timeout on web requests only."""

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.db import connection, transaction

from tests.support.production import ROOT, free_port, get, gunicorn, production_env

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gunicorn serves the test database only when it can be shared (PostgreSQL; CI)",
)


@pytest.fixture
def server(transactional_db, static_root):
    with gunicorn(static_root) as running:
        yield running


def test_gunicorn_serves_the_health_check_and_the_login_page(server):
    base, process = server
    status, body = get(f"{base}/healthz")
    assert status == 200
    assert json.loads(body)["database"] == "ok"
    status, body = get(f"{base}/compte/connexion/?next=/secret-name")
    assert status == 200
    assert "Connexion" in body.decode()

    process.terminate()
    output = process.communicate(timeout=30)[0]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("logger") == "mesads.request"]
    assert {"/healthz", "/compte/connexion/"} <= {line["path"] for line in requests}
    login = next(line for line in requests if line["path"] == "/compte/connexion/")
    assert login["status"] == 200 and login["user_id"] is None and login["duration_ms"] >= 0
    assert "secret-name" not in output  # the query string never reaches the logs


def test_web_requests_get_a_statement_timeout_and_commands_do_not():
    """OPERATIONS.md #12: a frozen database must not hold web workers until gunicorn kills
    them; the worker and migrations may run long."""
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"
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
    assert web.stdout.strip() == "7s", web.stderr
    assert command.stdout.strip() == "0", command.stderr


def _login_attempt(base: str) -> tuple[int, str, float]:
    """A visitor opens the login page and signs in: the POST reads the users table. (The
    cookies are HTTPS-only in production: sent back by hand over this plain loopback.)"""
    with urllib.request.urlopen(f"{base}/compte/connexion/", timeout=30) as response:  # noqa: S310
        page = response.read().decode()
        cookies = "; ".join(
            header.split(";", 1)[0] for header in response.headers.get_all("Set-Cookie") or []
        )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "agent@mairie.example", "password": "x"}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{base}/compte/connexion/",
        data=data,
        headers={"Cookie": cookies, "Referer": f"{base}/compte/connexion/"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, body.decode(), time.monotonic() - started


def test_a_database_that_does_not_answer_gives_the_error_page_fast_then_recovers(
    transactional_db, static_root
):
    """OPERATIONS.md #12: PostgreSQL frozen for 45 s held every request until gunicorn
    killed its workers. A table locked by another session is a database that does not
    answer these queries: the statement timeout cancels them, the user gets the French
    error page long before gunicorn's 30 s, and the next request, once the database
    answers again, works without restarting anything."""
    with gunicorn(static_root, DB_STATEMENT_TIMEOUT="2") as (base, _):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE")
            status, page, waited = _login_attempt(base)
        assert status == 500
        assert "Erreur technique" in page  # the French error page
        assert 2 <= waited < 10, waited

        status, page, waited = _login_attempt(base)
        assert status == 200  # the form again, with its message: the service is back
        assert "Connexion" in page


def test_an_unknown_host_and_a_form_without_its_token_get_french_pages(server):
    """Django answers both before any view of ours: « Bad Request (400) » and its English
    CSRF page, unless the project gives its own."""
    base, _ = server

    def call(path: str, method: str = "GET", **headers: str) -> tuple[int, str]:
        request = urllib.request.Request(
            base + path, method=method, headers=headers, data=b"" if method == "POST" else None
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    status, body = call("/", Host="evil.example")
    assert status == 400
    assert "<h1>Requête invalide</h1>" in body and "Bad Request" not in body

    status, body = call("/compte/connexion/", "POST")
    assert status == 403
    assert "<h1>Formulaire expiré</h1>" in body and "CSRF" not in body
