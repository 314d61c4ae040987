"""Load the reference geography (départements, communes, EPCIs, airports).

    python manage.py load_geography                # fixtures/geography.json.gz
    python manage.py load_geography --file other.json.gz
    python manage.py load_geography --dry-run      # show what would change, write nothing

Idempotent: a second run changes nothing. Renamed communes are updated in place;
communes and EPCIs absent from the data are kept, inactive. Then the apps built on the
geography are told (``mesads.geo.signals.geography_loaded``): the authorities app creates
the authority of every new territory, in the same transaction.
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mesads.geo.loading import DEFAULT_FIXTURE, GeographyDataError, LoadReport, load_geography
from mesads.geo.signals import geography_loaded


class Command(BaseCommand):
    help = "Charge la géographie de référence (départements, communes, EPCI, aéroports)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            default=DEFAULT_FIXTURE,
            help=f"fichier à charger (par défaut : {DEFAULT_FIXTURE.name})",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="affiche ce qui changerait, sans rien enregistrer",
        )

    def handle(self, *args, file: Path, dry_run: bool, verbosity: int, **options):
        file = Path(file)  # call_command() passes a str through as given
        if not file.exists():
            raise CommandError(f"Fichier introuvable : {file}")
        progress = self._progress(verbosity)
        try:
            with transaction.atomic():
                report = load_geography(file, progress=progress)
                authorities = ensure_authorities(progress)
                if dry_run:
                    transaction.set_rollback(True)
        except GeographyDataError as error:
            raise CommandError(str(error)) from error

        if verbosity >= 1:
            self._print_summary(report, authorities, dry_run)

    def _progress(self, verbosity: int) -> Callable[[str], None] | None:
        if verbosity < 1:
            return None
        start = time.monotonic()

        def progress(message: str) -> None:
            if verbosity >= 2:
                message = f"[{time.monotonic() - start:5.1f} s] {message}"
            self.stdout.write(message)

        return progress

    def _print_summary(
        self, report: LoadReport, authorities: dict[str, Any] | None, dry_run: bool
    ) -> None:
        # The counts of each step were printed as progress; this is the conclusion.
        if authorities is not None:
            created = sum(counts["created"] for counts in authorities.values())
            updated = sum(counts["updated"] for counts in authorities.values())
            self.stdout.write(f"Gestionnaires d’ADS : {created} créés, {updated} mis à jour")
        if dry_run:
            self.stdout.write(
                self.style.WARNING("Simulation (--dry-run) : aucune modification enregistrée.")
            )
        elif report.changed:
            self.stdout.write(self.style.SUCCESS(f"Géographie chargée depuis {report.source}."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Géographie inchangée : la base est déjà à jour ({report.source})."
                )
            )


def ensure_authorities(progress: Callable[[str], None] | None) -> dict[str, Any] | None:
    """Let the apps built on the geography bring their data in line (the authorities of
    new territories); their counts, or None when no app listens."""
    counts: dict[str, Any] | None = None
    for _, answer in geography_loaded.send(sender=None, progress=progress):
        if answer is not None:
            counts = {**(counts or {}), **answer}
    return counts
