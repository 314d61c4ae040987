"""Health check for load balancers and monitoring: ``/healthz``.

One entry per dependency, from ``CHECKS`` (adding one is one line): ``"ok"`` or
``"error"``. The status code says whether this server can serve: 503 when a *critical*
dependency fails (the database: without it no page works), else 200; a non-critical one
(the cache, which pages do without; the object store, which only uploads and downloads
need) shows in the body (``"status": "degraded"``) for monitoring, without taking the
server out of the load balancer, since every server shares it.

It answers within about ``DEADLINE_SECONDS`` whatever happens behind it (a frozen
PostgreSQL included), reads no session, writes no cookie and, outside the request's
transaction (``read_only``), opens no transaction before its own probe. Nothing secret in
the body: names and states only.
"""

import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .http import read_only
from .workers import worker_health

logger = logging.getLogger(__name__)

# The whole probe's budget. (psycopg connects within 2 s at the least.)
DEADLINE_SECONDS = 2.0
# An object store is asked at most once per this many seconds per process: load
# balancers probe every few seconds, from every server.
STORAGE_RESULT_SECONDS = 30
# This process's own key: probes of other servers never read each other's value.
CACHE_KEY = f"healthz:{uuid.uuid4().hex}"


def database_answers(connection=None) -> bool:
    connection = connection or connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        # The connection may be broken half-way (a deadline): never reuse it.
        connection.close()
        return False


def cache_works() -> bool:
    """A value written then read back through the shared cache."""
    token = secrets.token_hex(8)
    try:
        cache.set(CACHE_KEY, token, timeout=60)
        return cache.get(CACHE_KEY) == token
    except Exception as error:  # noqa: BLE001 (any backend's failure is the answer sought)
        # One line, not a traceback: load balancers probe every few seconds.
        logger.warning("Health check: the cache does not work: %r", error)
        return False


_storage_result: tuple[float, bool] | None = None


def _is_s3() -> bool:
    return settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"


def _s3_answers() -> bool:
    """The bucket answers a HEAD of an object (absent is fine), within 3 s at most: a
    client of its own, with short timeouts and no retry."""
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    options = settings.STORAGES["default"]["OPTIONS"]
    quick = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1})
    storage = S3Storage(**{**options, "client_config": quick})
    storage.exists(".healthz")
    return True


def _disk_writable() -> bool:
    """MEDIA_ROOT is a writable folder, or will be created in one at the first upload."""
    path = Path(default_storage.location)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def storage_works() -> bool:
    global _storage_result
    if not _is_s3():
        return _disk_writable()
    now = time.monotonic()
    if _storage_result is None or now - _storage_result[0] > STORAGE_RESULT_SECONDS:
        try:
            works = _s3_answers()
        except Exception as error:  # noqa: BLE001 (network, credentials, bucket: "down")
            logger.warning("Health check: the object store does not answer: %r", error)
            works = False
        _storage_result = (now, works)
    return _storage_result[1]


class Check(NamedTuple):
    name: str
    # True ("ok"), False ("error"), or a state of its own (e.g. "late"), which counts as
    # a failure.
    works: Callable[[], bool | str]
    # Whether this server can serve nothing without it (503).
    critical: bool = False


CHECKS = [
    Check("database", database_answers, critical=True),
    Check("cache", cache_works),
    Check("storage", storage_works),
]
# Informative entries, read once the database answers; they never change the status: a
# stopped worker does not take the web servers out of the load balancer (alert on it).
# worker: per queue, seconds since a worker serving it last gave a sign of life (None: none).
INFO = {"worker": worker_health}


def run_checks() -> tuple[int, dict[str, str]]:
    connection = connections["default"]
    deadline = getattr(connection, "deadline", None)  # the PostgreSQL backend's
    body, status, failed_critical = {}, "ok", False
    with deadline(DEADLINE_SECONDS) if deadline else nullcontext():
        for check in CHECKS:
            result = check.works()
            state = result if isinstance(result, str) else ("ok" if result else "error")
            body[check.name] = state
            if state != "ok":
                failed_critical |= check.critical
                status = "degraded"
        if not failed_critical:
            body.update({name: read() for name, read in INFO.items()})
    if failed_critical:
        return 503, {"status": "error", **body}
    return 200, {"status": status, **body}


@require_safe
@never_cache
@read_only
def healthz(request):
    """GET or HEAD; no login, no session, no cookie. 200 when this server can serve, 503
    when the database does not answer; the state of each dependency in the body."""
    status, body = run_checks()
    return JsonResponse(body, status=status)
