"""Backups that restore: ``backup_register`` then ``restore_register`` into a fresh
database and a fresh storage folder give back every table (row for row, the history and
the change log included) and every file (byte for byte); the drill says when they do
not. PostgreSQL only (``pg_dump``/``pg_restore``)."""

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from mesads.ads.documents import add_ads_document
from mesads.ads.models import ADS, ADSDocument, AuthorityDecree
from tests.ads.test_ads_edit import declare, edit

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = pytest.mark.django_db(transaction=True)


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("backups are of PostgreSQL (pg_dump, pg_restore): set DATABASE_URL")
    for program in ("pg_dump", "pg_restore"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (package postgresql-client)")


def _server(dbname: str) -> dict:
    settings = connection.settings_dict
    options = {"dbname": dbname, "user": settings["USER"], "host": settings["HOST"]}
    if settings["PORT"]:
        options["port"] = settings["PORT"]
    if settings["PASSWORD"]:
        options["password"] = settings["PASSWORD"]
    return options


@pytest.fixture
def fresh_database():
    """An empty database beside the test database, dropped afterwards."""
    _postgresql_only()
    name = connection.settings_dict["NAME"] + "_restore"
    with psycopg.connect(**_server("postgres"), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')
    settings = connection.settings_dict
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    yield name, f"postgres://{settings['USER']}@{settings['HOST']}{port}/{name}"
    with psycopg.connect(**_server("postgres"), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def register(client, manager, nimes) -> ADS:
    """An ADS declared, edited twice (its history, the change log), with a decree filed,
    and the decree fixing Nîmes' number of ADS."""
    client.force_login(manager)
    declare(client, nimes, holder_name="Taxi Arènes", comment="Reprise du registre papier")
    ads = ADS.objects.get(number="7")
    edit(client, ads, holder_name="Taxi Costières", comment="Cession du fonds")
    edit(client, ads, comment="Véhicule", vehicle_plate="AB-123-CD")
    add_ads_document(
        ADSDocument(ads=ads, kind=ADSDocument.Kind.ATTRIBUTION),
        SimpleUploadedFile("arrete-attribution.pdf", PDF, content_type="application/pdf"),
        manager,
    )
    decree = AuthorityDecree(
        authority=nimes, date=datetime.date(2021, 3, 15), ads_count=40, original_name="n.pdf"
    )
    decree.file.save("nombre.pdf", ContentFile(PDF + b"% nombre\n"), save=True)
    return ads


def fingerprints(cursor) -> dict[str, tuple[int, str]]:
    """Every table of the public schema: its row count and a digest of its rows."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    prints = {}
    for table in tables:
        cursor.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            f'FROM "{table}" t'
        )
        prints[table] = tuple(cursor.fetchone())
    return prints


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_backup_restores_whole_into_a_fresh_database_and_folder(
    register, fresh_database, settings, tmp_path
):
    name, url = fresh_database
    backup = tmp_path / "sauvegarde"
    call_command("backup_register", str(backup), verbosity=0)
    assert (backup / "database.dump").stat().st_size > 0

    restored_media = tmp_path / "media-restauré"
    result = subprocess.run(
        [sys.executable, "manage.py", "restore_register", str(backup)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(restored_media)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restauration vérifiée" in result.stdout

    # Checked again here, independently of the command: every table row for row.
    with connection.cursor() as cursor:
        saved = fingerprints(cursor)
    with psycopg.connect(**_server(name)) as restored:
        assert fingerprints(restored.cursor()) == saved
    assert saved["reversion_version"][0] >= 3 and saved["reversion_revision"][0] >= 3
    assert saved["ads_registerchange"][0] >= 3
    assert saved["ads_adsdocument"][0] == saved["ads_authoritydecree"][0] == 1
    # Every file, byte for byte, under the same name.
    files = checksums(Path(settings.MEDIA_ROOT))
    assert len(files) == 2
    assert checksums(restored_media) == files


def test_the_drill_names_what_a_restore_lacks(register, settings, tmp_path):
    """The comparison the restore ends with: a row or a file missing, a file altered."""
    _postgresql_only()
    from mesads.core.backup import compare

    call_command("backup_register", str(tmp_path / "sauvegarde"), verbosity=0)
    manifest = json.loads((tmp_path / "sauvegarde" / "manifest.json").read_text())
    assert compare(manifest) == []

    AuthorityDecree.objects.all().delete()  # its row; its file stays
    document = ADSDocument.objects.get()
    (Path(settings.MEDIA_ROOT) / document.file.name).write_bytes(PDF + b"% altered\n")
    differences = compare(manifest)
    assert "table ads_authoritydecree : 1 lignes attendues, 0 trouvées" in differences
    assert f"fichier {document.file.name} : contenu différent" in differences


def test_a_restore_refuses_a_database_that_is_not_empty(register, tmp_path):
    _postgresql_only()
    call_command("backup_register", str(tmp_path / "sauvegarde"), verbosity=0)
    with pytest.raises(CommandError, match="contient déjà des tables"):
        call_command("restore_register", str(tmp_path / "sauvegarde"), verbosity=0)


def test_on_sqlite_the_commands_say_they_need_postgresql(tmp_path):
    if connection.vendor == "postgresql":
        pytest.skip("the refusal of SQLite, tested on SQLite")
    with pytest.raises(CommandError, match="ne concernent que PostgreSQL"):
        call_command("backup_register", str(tmp_path / "sauvegarde"), verbosity=0)
