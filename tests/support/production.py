"""Helpers of the tests that run the production server for real: gunicorn with
gunicorn.conf.py and production settings, against the test database (PostgreSQL)."""

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from tests.support.relay import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

__all__ = ["free_port", "production_env", "get", "fetch", "collect_static", "gunicorn"]


def database_url(port: int | None = None) -> str:
    """The test database's address (through another port, e.g. a relay's, if given)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{port or db['PORT']}/{db['NAME']}"


def production_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MESADS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(45),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "DATABASE_URL": database_url(),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DB_STATEMENT_TIMEOUT": "7",
    }


def fetch(
    url: str, method: str = "GET", headers: dict | None = None, timeout: float = 10
) -> tuple[int, dict, bytes, float]:
    """(status, headers, body, seconds taken)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            status, head, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, dict(error.headers), error.read()
    return status, head, body, time.monotonic() - started


def get(url: str) -> tuple[int, bytes]:
    status, _, body, _ = fetch(url)
    return status, body


def collect_static(root: Path) -> Path:
    """What `make serve` does first: the hashed, compressed static files."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**production_env(free_port()), "STATIC_ROOT": str(root)},
        check=True,
        timeout=120,
    )
    return root


@contextmanager
def gunicorn(
    static_root: Path, log: Path | None = None, **env: str
) -> Iterator[tuple[str, subprocess.Popen]]:
    """The server's output goes to a pipe the test reads after stopping it, or to ``log``
    for a server that lives long (an unread pipe fills up and blocks the server)."""
    port = free_port()
    output = log.open("w") if log else subprocess.PIPE
    process = subprocess.Popen(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "mesads.wsgi"],
        cwd=ROOT,
        env={**production_env(port), "STATIC_ROOT": str(static_root), **env},
        stdout=output,
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
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            output.close()
