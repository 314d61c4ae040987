"""Helpers of the tests where two connections write at once (PostgreSQL)."""

import pytest
from django.db import connection

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two writers at once need two connections to one database (PostgreSQL; CI runs it)",
)


def waiting_on_a_lock(pid: int) -> bool:
    """Whether the database session ``pid`` is waiting for a lock another one holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return cursor.fetchone() is not None
