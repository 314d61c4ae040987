"""Expensive figures computed one at a time, and kept where every server finds them.

OPERATIONS.md, review of 2026-12-07, O7: sixteen visitors opening « Chiffres clés » on a
cold cache each computed the figures (0.40 s each instead of 0.04). The tools:

- ``one_at_a_time(name)``: a lock every app server and the worker share. On PostgreSQL a
  transaction-level advisory lock: it holds across servers and whether Redis runs or
  not, and it is released with its transaction whatever happens (an error, a closed
  connection), never left behind on a persistent connection. On SQLite (one machine:
  development, tests) a lock of the process.
- ``kept``: the last figures, kept in the database (Django's database cache, on the
  ``mesads_cache`` table that ``migrate`` creates). The shared cache (Redis) is the fast
  path; when it is emptied or down, the figures are still there, so requests neither
  recompute them one after the other behind the lock nor all at once.
- ``computed_once(name, compute)``: both together, for figures computed live (the
  deployment follow-up): callers arriving during a computation share its result.
"""

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.cache.backends.db import DatabaseCache
from django.db import connection, transaction

# No expiry, no culling of our few keys by count: values are replaced, not accumulated.
# (Without REDIS_URL the default cache shares the table and may cull them with its own:
# they are then computed again, once.)
kept = DatabaseCache(
    "mesads_cache", {"TIMEOUT": None, "KEY_PREFIX": "kept", "OPTIONS": {"MAX_ENTRIES": 10**6}}
)

T = TypeVar("T")

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock space)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") - 2**63


@contextmanager
def one_at_a_time(name: str, wait: bool = True) -> Iterator[bool]:
    """Hold the lock ``name`` inside: yields True once it is held. With ``wait=False``,
    yields False at once when someone else holds it (nothing is locked then).

    On PostgreSQL the block runs in a transaction (a savepoint inside the request's, in
    which case the lock lasts until the request's transaction ends)."""
    if connection.vendor != "postgresql":
        with _process_locks_guard:
            lock = _process_locks.setdefault(name, threading.Lock())
        held = lock.acquire(blocking=wait)
        try:
            yield held
        finally:
            if held:
                lock.release()
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
            cursor.execute(f"SELECT {function}(%s)", [_advisory_key(name)])
            held = wait or cursor.fetchone()[0]
        yield held


def computed_once(name: str, compute: Callable[[], T]) -> T:
    """``compute()``, one computation at a time: whoever waited for another's computation
    uses its result, provided that computation started after the caller arrived (so it
    holds everything committed before the caller's request: nobody is served older
    figures than if they had computed them). Sixteen requests at once thus cost one or
    two computations, not sixteen, each waiting for the previous one.

    (The times are the app servers' clocks: they must agree, as NTP keeps them, to well
    under a computation's duration.)"""
    arrived = time.time()
    with one_at_a_time(name):
        last = kept.get(name)
        if last is not None and last[0] >= arrived:
            return last[1]
        started = time.time()
        value = compute()
        kept.set(name, (started, value))
        return value
