"""Restore a backup of the register (``backup_register``) and check it: the drill.

    createdb mesads_restore
    DATABASE_URL=postgres://…/mesads_restore MEDIA_ROOT=/srv/restore/media \
        python manage.py restore_register /var/backups/mesads/2026-12-08

The database and the file storage of the settings must be empty: a fresh database, a
fresh folder (or bucket). After ``pg_restore``, the row count of every table and the
checksum of every file are compared with the backup's manifest; any difference is listed
and the command fails. The database is not migrated: it is the one that was saved, at its
own migrations.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesads.core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup_register folder into an empty database and storage, then check it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a folder written by backup_register")

    def handle(self, *args, folder: Path, verbosity: int, **options) -> None:
        def report(line: str) -> None:
            if verbosity >= 2:
                self.stdout.write(line)

        try:
            differences = restore(folder, report)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if differences:
            raise CommandError(
                "La restauration diffère de la sauvegarde :\n" + "\n".join(differences)
            )
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    "Restauration vérifiée : chaque table a le nombre de lignes de la "
                    "sauvegarde, chaque fichier sa somme de contrôle."
                )
            )
