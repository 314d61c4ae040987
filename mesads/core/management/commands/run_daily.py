"""The daily job: every step of ``mesads.core.daily.STEPS``, for cron or a systemd timer.

    python manage.py run_daily [--date YYYY-MM-DD]

Idempotent: each step records what it did, so a second run the same day does nothing
twice.
"""

import datetime
import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from mesads.core import daily

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the daily work (snapshots, reminders, open data, expired sessions)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            type=datetime.date.fromisoformat,
            default=None,
            help="The day to run for (default: today).",
        )

    def handle(self, *args, date: datetime.date | None, **options):
        today = date or timezone.localdate()
        failed = []
        for path, step in daily.steps():
            started = time.monotonic()
            try:
                summary = step(today)
            except Exception:
                logger.exception("Daily step %s failed", path)
                failed.append(path)
                self.stderr.write(f"{path}: ÉCHEC (voir le journal)")
                continue
            elapsed = time.monotonic() - started
            self.stdout.write(f"{path}: {summary} ({elapsed:.2f} s)")
        if failed:
            raise CommandError(f"{len(failed)} étape(s) en échec : {', '.join(failed)}")
