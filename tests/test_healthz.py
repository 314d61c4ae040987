import socket
import time

import pytest
from django.db import connections
from django.db.utils import load_backend

from mesads.core.health import database_answers


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
