"""The daily snapshot of the key figures: one ``DailySnapshot`` per département and one
for France, for the day (a step of ``python manage.py run_daily``)."""

import datetime

from django.db import transaction
from django.utils import timezone

from mesads.geo.models import Departement

from .figures import Counts, live_counts
from .models import COUNTS, DailySnapshot


def take_daily_snapshot(today: datetime.date) -> str:
    """Today's figures, written once per département and once for France.

    Idempotent: a second run the same day updates the day's rows (unique on date and
    département) instead of adding new ones. Every département gets its row, even with
    nothing declared, so that a chart over time has no holes. The figures are those of
    the moment it runs, recorded under ``today``: a past date (``run_daily --date``)
    does not rebuild that day's figures.
    """
    counts = live_counts(timezone.now())
    national = Counts.total(counts.values())
    departements = [
        DailySnapshot(date=today, departement_id=pk, **counts.get(pk, Counts()).as_dict())
        for pk in Departement.objects.values_list("pk", flat=True)
    ]
    with transaction.atomic():
        # One INSERT … ON CONFLICT DO UPDATE for every département…
        DailySnapshot.objects.bulk_create(
            departements,
            update_conflicts=True,
            unique_fields=["date", "departement"],
            update_fields=[*COUNTS, "taken_at"],
        )
        # …but the national row's uniqueness is a partial index (departement IS NULL),
        # which ON CONFLICT cannot name through the ORM.
        DailySnapshot.objects.update_or_create(
            date=today, departement=None, defaults=national.as_dict()
        )
    return (
        f"chiffres clés du {today:%d/%m/%Y} : {len(departements)} département(s) et la France "
        f"({national.ads_total} ADS, {national.authorities_declared} gestionnaire(s) sur "
        f"{national.authorities_concerned} ont déclaré)"
    )
