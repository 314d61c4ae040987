import socket
import threading
import time
from contextlib import suppress

import pytest
from django.db import connections
from django.db.utils import load_backend

from mesads.core import health
from mesads.core.health import database_answers
from mesads.settings import s3_storage
from tests.exchange.test_s3_storage import BUCKET, CREDENTIALS, bucket, s3_endpoint  # noqa: F401 (fixtures)
from tests.support.relay import free_port


def test_healthz_answers_200_without_a_cookie(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert not response.cookies


def test_healthz_answers_503_when_the_database_is_frozen(client, db, settings):
    if connections["default"].vendor != "postgresql":
        pytest.skip("the frozen-server probe needs PostgreSQL (SQLite has no server)")
    # A listener that accepts and never answers, like a SIGSTOPped PostgreSQL.
    frozen = socket.socket()
    frozen.bind(("127.0.0.1", 0))
    frozen.listen(8)
    port = frozen.getsockname()[1]
    config = {**connections.settings["default"], "HOST": "127.0.0.1", "PORT": port}
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "connect_timeout": 1}
    config["CONN_MAX_AGE"] = 0
    wrapper = load_backend(config["ENGINE"]).DatabaseWrapper(config, "frozen")
    start = time.monotonic()
    try:
        assert database_answers(wrapper) is False
        assert time.monotonic() - start < 5
    finally:
        wrapper.close()
        frozen.close()


# --- one entry per dependency -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _storage_probed_afresh():
    health._storage_result = None
    yield
    health._storage_result = None


def test_healthz_names_each_dependency_and_answers_head(client, db):
    response = client.get("/healthz")
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "storage": "ok",
        # No worker has given a sign of life: informative, the status stays "ok".
        "worker": {"default": None, "emails": None, "imports": None},
    }

    response = client.head("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_a_cache_that_does_not_work_is_shown_without_taking_the_server_out(client, db, settings):
    """Pages do without the cache: the load balancer keeps the server (200); monitoring
    reads that the cache is down."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nobody listens there
        }
    }
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "cache": "error",
        "storage": "ok",
        "worker": {"default": None, "emails": None, "imports": None},
    }


@pytest.mark.usefixtures("bucket")
def test_the_object_store_is_probed(client, db):
    assert client.get("/healthz").json()["storage"] == "ok"


def test_a_silent_object_store_is_asked_once_per_period_and_quickly(client, db, settings):
    """An endpoint that accepts and never answers: the probe gives up within its short
    timeouts, and the next probes reuse its answer rather than hammer the store."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    accepted = []

    def accept():
        with suppress(OSError):
            while True:
                accepted.append(silent.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(BUCKET, f"http://127.0.0.1:{silent.getsockname()[1]}", **CREDENTIALS),
    }
    try:
        start = time.monotonic()
        first = client.get("/healthz")
        took = time.monotonic() - start
        second = client.get("/healthz")
    finally:
        silent.close()
        for sock in accepted:
            sock.close()

    assert first.status_code == 200  # the store is not this server's to fix
    assert first.json()["storage"] == second.json()["storage"] == "error"
    assert took < 10, took
    assert len(accepted) == 1
