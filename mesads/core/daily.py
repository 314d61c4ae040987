"""The daily work of Mes ADS, run once a day by ``python manage.py run_daily``.

Each step is a function ``step(today: datetime.date) -> str`` named by its dotted path in
``STEPS``; it returns one line saying what it did (printed by the command). Every step
must be idempotent: run twice on the same day, it writes and sends nothing twice (it
records what it did in the database, never in memory). A step that fails is reported and
the next steps still run; the command then exits with an error.
"""

import datetime
from collections.abc import Callable

from django.utils.module_loading import import_string

STEPS: list[str] = [
    "mesads.core.daily.clear_expired_sessions",
    "mesads.api.keys.flush_usage",
    "mesads.api.limits.purge",
    "mesads.stats.snapshots.take_daily_snapshot",
    # Vacancies first: the weekly digest reads since when each ADS is vacant.
    "mesads.reminders.renewals.track_vacancies",
    "mesads.reminders.renewals.send_renewal_reminders",
    "mesads.reminders.renewals.send_prefecture_digests",
    "mesads.opendata.publication.daily_step",
    "mesads.waitinglists.daily.send_renewal_reminders",
    "mesads.exchange.tasks.discard_refused_files",
]


def clear_expired_sessions(today: datetime.date) -> str:
    """Expired sessions removed from the database (what ``clearsessions`` does)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return f"{deleted} session(s) expirée(s) supprimée(s)"


def steps() -> list[tuple[str, Callable[[datetime.date], str]]]:
    return [(path, import_string(path)) for path in STEPS]
