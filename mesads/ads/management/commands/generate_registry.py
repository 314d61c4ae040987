"""Fill the register with realistic fake ADS over the loaded communes.

    python manage.py generate_registry --ads 60000 --seed 1
    python manage.py generate_registry --ads 60000 --seed 1 --history   # + reversion history
    python manage.py generate_registry --ads 300 --dry-run               # write nothing

For demos and benchmarks, never on production data: a third of the ADS in Paris, the
rest over the communes by population, both regimes, vacant and incomplete records, about
1.5 drivers per ADS. The geography must be loaded first (``load_geography``); missing
authorities are created. The same ``--seed`` gives the same register. Everything is
written in one transaction, with bulk inserts (see ``mesads.ads.generation``).
"""

import random
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mesads.ads.generation import (
    DEFAULT_BATCH_SIZE,
    GenerationError,
    GenerationReport,
    generate_registry,
)


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Fill the register with realistic fake ADS and drivers over the loaded communes "
        "(demo and benchmark data)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ads", type=positive_int, required=True, help="number of ADS to create"
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="random seed; the same seed gives the same register (default: random)",
        )
        parser.add_argument(
            "--history",
            action="store_true",
            help="also write one initial django-reversion revision per ADS and its drivers",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help=f"ADS per bulk insert (default: {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="generate, then roll everything back"
        )

    def handle(
        self,
        *args,
        ads: int,
        seed: int | None,
        history: bool,
        batch_size: int,
        dry_run: bool,
        verbosity: int,
        **options,
    ) -> None:
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        if verbosity >= 1:
            self.stdout.write(f"Génération de {ads} ADS (graine {seed})…")
        progress = self._progress(verbosity)
        try:
            with transaction.atomic():
                report = generate_registry(
                    ads, seed=seed, history=history, batch_size=batch_size, progress=progress
                )
                if dry_run:
                    transaction.set_rollback(True)
        except GenerationError as error:
            raise CommandError(str(error)) from error
        if verbosity >= 1:
            self._print_summary(report, dry_run)

    def _progress(self, verbosity: int) -> Callable[[str], None] | None:
        if verbosity < 1:
            return None
        start = time.monotonic()

        def progress(message: str) -> None:
            if verbosity >= 2:
                message = f"[{time.monotonic() - start:6.1f} s] {message}"
            self.stdout.write(message)

        return progress

    def _print_summary(self, report: GenerationReport, dry_run: bool) -> None:
        summary = (
            f"{report.ads} ADS, {report.drivers} conducteurs chez {report.authorities} "
            f"gestionnaires"
        )
        if report.revisions:
            summary += f", {report.revisions} révisions et {report.versions} versions"
        summary += f" en {report.seconds:.1f} s."
        if dry_run:
            self.stdout.write(
                self.style.WARNING(f"Simulation (--dry-run), rien n’est enregistré : {summary}")
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Registre généré : {summary}"))
