"""The change feed of relay taxis: positions given after commit, in commit order, so that
a re-user's cursor never steps over a change committed late (see ``mesads.api.changes``,
whose opaque cursors it shares)."""

from django.db import connection, transaction

from .models import Vehicle, VehicleChange

# Any constant, other than the ADS feed's: stampers of this table take turns.
STAMP_LOCK = 7_311_105

_STAMP_SQL = """
UPDATE relais_vehiclechange SET position = base.top + pending.rank
FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rank
    FROM relais_vehiclechange WHERE position IS NULL
) AS pending,
(SELECT COALESCE(MAX(position), 0) AS top FROM relais_vehiclechange) AS base
WHERE relais_vehiclechange.id = pending.id
"""


def record(vehicles: list[Vehicle], kind: str) -> None:
    """Inside the writing transaction."""
    VehicleChange.objects.bulk_create(
        VehicleChange(vehicle_id=v.pk, departement_id=v.departement_id, kind=kind) for v in vehicles
    )


def stamp() -> int:
    """Number the committed changes without a position; its own transaction."""
    if not VehicleChange.objects.filter(position__isnull=True).exists():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STAMP_LOCK])
        cursor.execute(_STAMP_SQL)
        return cursor.rowcount
