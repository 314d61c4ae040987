"""The change feed: every creation, change, deletion and restoration of an ADS, in an
order a re-user can follow with a cursor and never miss one.

Why positions, not timestamps or ids: a trigger writes each change (``Change``) in the
writing transaction, but transactions commit in another order than they wrote; a cursor
on the write time or on the id would step over a row that a slow transaction (a large
import) commits later. So a change gets its ``position`` only once committed: ``stamp``
numbers the committed, unnumbered rows after the highest position, under a lock that
makes stampers take turns (an advisory lock on PostgreSQL; SQLite has one writer at a
time). A row committed after a stamp is numbered by a later stamp, above every position
already served. The feed serves numbered rows only, so:

    **guarantee**: once a position P has been served, every change served later has a
    position above P, and every committed change is served. A re-user who applies the
    feed in order, from the position of its last page, misses nothing and needs no
    safety lag.

Each entry carries the ADS as it is now (or null when it is no longer in the register,
or out of the key's reach): applying entries is idempotent, and a page lists each ADS
once, at its last position. Reading a page costs an index range scan on ``position``
(or on département and position) and the page's ADS: nothing depends on the size of the
history.
"""

from django.db import connection, transaction

from .keys import Caller
from .models import Change

# Any constant: the advisory lock that stampers take in turn on PostgreSQL.
STAMP_LOCK = 7_311_104

_STAMP_SQL = """
UPDATE api_change SET position = base.top + pending.rank
FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rank
    FROM api_change WHERE position IS NULL
) AS pending,
(SELECT COALESCE(MAX(position), 0) AS top FROM api_change) AS base
WHERE api_change.id = pending.id
"""


def stamp() -> int:
    """Number the committed changes that have no position yet; returns how many.

    Runs in its own transaction: call it outside any other (API views are not atomic).
    """
    if not Change.objects.filter(position__isnull=True).exists():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STAMP_LOCK])
        cursor.execute(_STAMP_SQL)
        return cursor.rowcount


def head() -> int:
    """The highest position served so far (0 for an empty feed)."""
    last = Change.objects.filter(position__isnull=False).order_by("-position").first()
    return last.position if last else 0


def changes_page(caller: Caller, after: int, size: int) -> tuple[list[Change], bool]:
    """Up to ``size`` changes after position ``after`` that the key may see; whether more
    follow."""
    queryset = Change.objects.filter(position__gt=after).order_by("position")
    if not caller.is_national:
        queryset = queryset.filter(departement_id__in=sorted(caller.departement_ids))
    rows = list(queryset.only("ads_id", "kind", "position")[: size + 1])
    return rows[:size], len(rows) > size
