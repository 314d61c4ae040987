"""Import a spreadsheet of ADS into the register, as the admin does.

    python manage.py import_ads registre.xlsx                      # dry run: check, report
    python manage.py import_ads registre.xlsx --commit --user chef@example.fr
    python manage.py import_ads paris.csv --commit --sync          # + delete absent ADS

A dry run unless ``--commit``: the whole file is checked and the command says what it
would do (ADS created, updated, unchanged, deleted with ``--sync``) or lists every error
(line, column, message) and exits with status 1. With ``--commit``, everything is written
in one transaction, as one revision of the history in the name of ``--user``, or nothing.
When another import (or a manager) creates one of the file's new ADS meanwhile, nothing
is written and the command says so: run it again.
"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesads.exchange.importing import Action, import_file
from mesads.users.models import User


class Command(BaseCommand):
    help = "Import a spreadsheet (XLSX or CSV) of ADS; a dry run unless --commit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the XLSX or CSV file")
        parser.add_argument(
            "--commit", action="store_true", help="write the changes (default: dry run)"
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help="delete the live ADS of the file's authorities that the file does not list",
        )
        parser.add_argument(
            "--user", metavar="EMAIL", help="the person the history records as the importer"
        )
        parser.add_argument("--comment", default="", help="comment for the history")
        parser.add_argument(
            "--max-errors",
            type=int,
            default=200,
            help="errors printed (all are counted; default 200, 0 for all)",
        )

    def handle(self, *args, **options) -> None:
        user = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"Aucun utilisateur n’a l’adresse {options['user']}.")
        verbosity = options["verbosity"]
        start = time.perf_counter()
        labels = {"reading": "lues", "validating": "vérifiées", "writing": "ADS enregistrées"}
        last = {"at": 0.0}

        def progress(stage: str, done: int, total: int | None) -> None:
            now = time.perf_counter()
            if verbosity >= 2 and (now - last["at"] >= 2 or done == total):
                last["at"] = now
                of = f" / {total:,}" if total else ""
                self.stderr.write(f"… {done:,}{of} {labels[stage]}".replace(",", " "))

        try:
            with open(options["file"], "rb") as source:
                result = import_file(
                    source,
                    file_name=options["file"].rsplit("/", 1)[-1],
                    user=user,
                    commit=options["commit"],
                    sync=options["sync"],
                    comment=options["comment"],
                    progress=progress,
                )
        except OSError as error:
            raise CommandError(
                f"Impossible de lire {options['file']} : {error.strerror}."
            ) from None

        if not result.ok:
            limit = options["max_errors"] or len(result.issues)
            for issue in result.issues[:limit]:
                where = f"ligne {issue.line}" if issue.line else "fichier"
                column = f", colonne « {issue.column} »" if issue.column else ""
                self.stderr.write(f"{where}{column} : {issue.message}")
            if result.error_count > limit:
                self.stderr.write(f"… et {result.error_count - limit} autres erreurs.")
            if result.conflict:
                raise CommandError(
                    f"Un autre import a créé entre-temps des ADS nouvelles de {options['file']} "
                    "(lignes ci-dessus) : rien n’a été enregistré. Relancez l’import."
                )
            raise CommandError(
                f"{result.error_count} erreur(s) sur {result.invalid_rows} ligne(s) : "
                "rien n’a été enregistré."
            )
        counts = result.counts
        summary = (
            f"{result.rows} lignes : {counts[Action.NEW]} ADS nouvelles, "
            f"{counts[Action.UPDATED]} modifiées, {counts[Action.UNCHANGED]} inchangées"
        )
        if options["sync"]:
            summary += f", {counts[Action.DELETED]} supprimées (absentes du fichier)"
        seconds = time.perf_counter() - start
        if result.committed:
            self.stdout.write(f"Import enregistré en {seconds:.1f} s. {summary}.")
        else:
            self.stdout.write(
                f"Vérification terminée en {seconds:.1f} s, rien n’a été enregistré "
                f"(ajoutez --commit pour importer). {summary}."
            )
        if verbosity >= 2:
            for outcome in result.outcomes:
                if outcome.action != Action.UNCHANGED:
                    changes = f" ({', '.join(outcome.changes)})" if outcome.changes else ""
                    line = f"ligne {outcome.line}" if outcome.line else "absente"
                    self.stdout.write(
                        f"  {outcome.action} : {outcome.authority} n° {outcome.number}, "
                        f"{line}{changes}"
                    )
