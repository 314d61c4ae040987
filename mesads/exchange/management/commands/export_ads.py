"""Export the register to a spreadsheet file, as the web pages do.

    python manage.py export_ads registre.csv                        # national, CSV (';')
    python manage.py export_ads --format xlsx registre.xlsx          # national workbook
    python manage.py export_ads --departement 75 paris.xlsx          # format from the extension
    python manage.py export_ads --separator ',' registre.csv         # plain comma CSV

The CSV is deterministic: two exports of an unchanged register are byte-identical. The
export reads one snapshot of the register (one read-only transaction) and writes the file
under a temporary name first, so that OUTPUT is never left half-written.
"""

import os
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesads.authorities.models import Authority
from mesads.exchange import export
from mesads.geo.models import Departement


class Command(BaseCommand):
    help = "Export the register (national, or one département) as CSV or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", metavar="OUTPUT", help="the file to write")
        parser.add_argument(
            "--format",
            choices=["csv", "xlsx"],
            help="file format (default: from the extension of OUTPUT, else csv)",
        )
        parser.add_argument(
            "--departement", metavar="CODE", help="only this département (e.g. 30, 2A, 971)"
        )
        parser.add_argument(
            "--separator",
            choices=[";", ","],
            default=";",
            help="CSV separator (default ';', which French Excel expects)",
        )

    def handle(self, *args, **options) -> None:
        output = Path(options["output"])
        export_format = options["format"] or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
        if options["departement"]:
            code = options["departement"].upper()
            try:
                departement = Departement.objects.get(code=code)
            except Departement.DoesNotExist:
                raise CommandError(f"Département inconnu : {code}.") from None
            scope = export.departement_scope(departement, Authority.objects.all())
        else:
            scope = export.national_scope()

        def progress(count: int) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(f"… {count:,} ADS".replace(",", " "))

        start = time.perf_counter()
        directory = output.resolve().parent
        if not directory.is_dir():
            raise CommandError(f"Le dossier {directory} n’existe pas.")
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".export-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                if export_format == "csv":
                    count = export.write_csv(scope, file, options["separator"], progress)
                else:
                    count = export.write_xlsx(scope, file, progress)
            # mkstemp makes the file private (0600); the output gets the usual permissions.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, output)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"{count:,} ADS ({scope.title}) exportées dans {output} "
                f"en {time.perf_counter() - start:.1f} s.".replace(",", " ")
            )
