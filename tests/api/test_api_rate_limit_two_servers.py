"""The rate limit of a key holds in total across app servers: two gunicorn processes on
two ports share one cache, Redis (as production shares REDIS_URL) or, without REDIS_URL,
the database's cache table; calls alternate between them and the key gets exactly its
limit, then 429 with Retry-After, from either server."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from .conftest import REDIS_URL, needs_redis

BASE_DIR = Path(__file__).resolve().parents[2]
LIMIT = 6


CACHES = [
    pytest.param(
        "redis",
        marks=needs_redis,
    ),
    "database",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"X-Api-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


@pytest.fixture(params=CACHES)
def servers(request, tmp_path):
    """Two gunicorn servers (one worker each) on one fresh SQLite database and one shared
    cache, with a key limited to LIMIT calls a minute; yields (urls, key)."""
    env = {
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # A prefix of our own: nothing left in Redis by another run is counted.
        "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "WEB_CONCURRENCY": "1",
        "DJANGO_SETTINGS_MODULE": "mesads.settings",
    }
    if request.param == "redis":
        env["REDIS_URL"] = REDIS_URL
    python = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*python, "migrate", "--verbosity", "0"], env=env, check=True, cwd=BASE_DIR)
    created = subprocess.run(
        [
            *python,
            "shell",
            "--no-imports",
            "-c",
            "from mesads.api.models import APIKey;"
            f"k, raw = APIKey.objects.create_key(name='t', organisation='le.taxi', "
            f"scope='national', profile='le_taxi', rate_limit={LIMIT}); print(raw)",
        ],
        env=env,
        check=True,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    processes, urls = [], []
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    try:
        for _ in range(2):
            port = _free_port()
            processes.append(
                subprocess.Popen(
                    [gunicorn, "mesads.wsgi", "-c", "gunicorn.conf.py"],
                    env={**env, "BIND": f"127.0.0.1:{port}"},
                    cwd=BASE_DIR,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls.append(f"http://127.0.0.1:{port}/api/v1/ads/")
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    urllib.request.urlopen(url.replace("/api/v1/ads/", "/healthz"), timeout=2)
                    break
                except (OSError, urllib.error.URLError):
                    if time.monotonic() > deadline:
                        pytest.fail("gunicorn did not start")
                    time.sleep(0.3)
        # A fresh minute, so that the window does not end in the middle of the calls.
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        yield urls, key
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def test_the_limit_holds_in_total_across_two_servers(servers):
    urls, key = servers

    answers = [_get(urls[n % 2], key) for n in range(LIMIT + 4)]

    statuses = [status for status, _, _ in answers]
    assert statuses == [200] * LIMIT + [429] * 4
    # Both servers refused, each with the French body and a Retry-After.
    for _status, headers, body in answers[LIMIT:]:
        assert body["erreur"] == "trop_d_appels"
        assert 1 <= int(headers["Retry-After"]) <= 61
