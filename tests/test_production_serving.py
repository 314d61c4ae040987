"""The production server for real: gunicorn with gunicorn.conf.py and production settings,
against the test database, answering the health check and the login page, one JSON log
line per request, and a statement timeout on web requests only."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="gunicorn serves the test database only when it can be shared (PostgreSQL; CI)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(port: int) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "MESADS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(45),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DB_STATEMENT_TIMEOUT": "7",
    }


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    """What `make serve` does first: the hashed, compressed static files."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**production_env(free_port()), "STATIC_ROOT": str(root)},
        check=True,
        timeout=120,
    )
    return root


@pytest.fixture
def server(transactional_db, static_root):
    port = free_port()
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "mesads.wsgi"],
        cwd=ROOT,
        env={**production_env(port), "STATIC_ROOT": str(static_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(f"{base}/healthz")[0] in (200, 503):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


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
