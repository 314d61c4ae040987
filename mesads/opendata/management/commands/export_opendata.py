"""Generate and publish the open-data files (authorities, ADS), as ``run_daily`` does.

    python manage.py export_opendata            # publish on the default storage
    python manage.py export_opendata --dry-run  # generate, count, publish nothing
    python manage.py export_opendata -v 2       # with progress

The files are written under new names, then switched to in one transaction: a download
in progress is never given a half-written file. Without an S3 bucket they land in
MEDIA_ROOT/opendata/.
"""

import time

from django.core.management.base import BaseCommand, CommandParser

from mesads.opendata import publication


class Command(BaseCommand):
    help = "Generate and publish the open-data files (authorities, ADS) and their schemas."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="generate the files and say what they hold, without publishing them",
        )

    def handle(self, *args, dry_run: bool, verbosity: int, **options) -> None:
        started = time.monotonic()

        def progress(slug: str, rows: int) -> None:
            if verbosity >= 2:
                self.stderr.write(f"… {slug} : {rows:,} lignes".replace(",", "\u202f"))

        if dry_run:
            written = publication.generate(progress)
            for item in written:
                item.file.close()
            results = [(w.dataset.slug, w.rows, w.size) for w in written]
        else:
            results = [(p.dataset, p.rows, p.size) for p in publication.publish(progress=progress)]
        if verbosity >= 1:
            for slug, rows, size in results:
                self.stdout.write(
                    f"{slug}.csv : {rows} lignes, {publication.human_size(size)}"
                    + (" (non publié : --dry-run)" if dry_run else "")
                )
            self.stdout.write(f"Terminé en {time.monotonic() - started:.1f} s.")
