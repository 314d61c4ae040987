"""Back up the register: the PostgreSQL database and the uploaded files, in one folder.

    python manage.py backup_register /var/backups/mesads/2026-12-08

Writes ``database.dump`` (``pg_dump --format=custom``), ``files/`` (every file of the
default storage: local folder or object store) and ``manifest.json`` (the row count of
every table in the dump's own snapshot, the SHA-256 of every file). The folder must be new
or empty. ``restore_register`` brings it back and checks it (see ``mesads/core/backup.py``
and the README, « Backups »).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mesads.core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and the uploaded files into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a new or empty folder")

    def handle(self, *args, folder: Path, verbosity: int, **options) -> None:
        def report(line: str) -> None:
            if verbosity >= 2:
                self.stdout.write(line)

        try:
            manifest = backup(folder, report)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if verbosity:
            rows = sum(manifest["tables"].values())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Sauvegarde écrite dans {folder} : {len(manifest['tables'])} tables, "
                    f"{rows} lignes, {len(manifest['files'])} fichiers."
                )
            )
