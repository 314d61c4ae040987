"""A backup of the register that can be restored, and the drill that proves it.

A backup is a folder:

    database.dump    the PostgreSQL database, ``pg_dump --format=custom``
    files/…          every file of the default storage (decrees, documents, imports)
    manifest.json    the row count of every table and the SHA-256 of every file

The counts are those of the very snapshot ``pg_dump`` writes (the snapshot is exported by
the transaction that counts, and handed to ``pg_dump --snapshot``), so that a restore
must find exactly them. The files are listed after the snapshot is taken: every file a
row of the dump names was stored before that row was committed.

``restore`` loads a backup into the database and the storage of the current settings,
which must both be empty (a fresh database, a fresh folder or bucket), then counts the
rows of every table and reads every file back to compare them with the manifest.
PostgreSQL only: the client tools ``pg_dump`` and ``pg_restore`` of the server's major
version (package ``postgresql-client``) must be on the PATH.
"""

import datetime
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import connection, transaction

DUMP = "database.dump"
FILES = "files"
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or the restore cannot be made; the message says why, in French."""


Report = Callable[[str], None]


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise BackupError(
            "La sauvegarde et la restauration ne concernent que PostgreSQL (la base de "
            "production) : définissez DATABASE_URL."
        )


def _client(program: str, arguments: list[str]) -> tuple[list[str], dict[str, str]]:
    """``program`` (pg_dump, pg_restore) with the connection of the current settings:
    the same user, host, port, password and TLS options as the application."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            f"{program} est introuvable : installez les outils clients de PostgreSQL "
            "(paquet postgresql-client, de la version du serveur)."
        )
    settings = connection.settings_dict
    _, env = connection.client.settings_to_cmd_args_env(settings, [])
    command = [executable]
    for option, value in (("-U", settings["USER"]), ("-h", settings["HOST"])):
        if value:
            command += [option, str(value)]
    if settings["PORT"]:
        command += ["-p", str(settings["PORT"])]
    return [*command, *arguments, "-d", settings["NAME"]], {**os.environ, **(env or {})}


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode:
        raise BackupError(f"{Path(command[0]).name} a échoué : {result.stderr.strip()[-2000:]}")


def table_counts() -> dict[str, int]:
    """The number of rows of every table of the database, by name."""
    with connection.cursor() as cursor:
        names = sorted(connection.introspection.table_names(cursor))
        counts = {}
        for name in names:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(name)}")  # noqa: S608
            counts[name] = cursor.fetchone()[0]
    return counts


def stored_files(storage: Storage, folder: str = "") -> Iterator[str]:
    """The name of every file of ``storage``, folder by folder."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # a file system storage whose folder is not made yet
        return
    for name in sorted(files):
        yield str(PurePosixPath(folder, name)) if folder else name
    for name in sorted(folders):
        yield from stored_files(storage, str(PurePosixPath(folder, name)) if folder else name)


def _sha256(handle) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise BackupError(f"Nom de fichier refusé dans la sauvegarde : « {name} ».")
    return path


def backup(folder: Path, report: Report = lambda line: None) -> dict:
    """Write a backup of the database and of the default storage into ``folder`` (new or
    empty); returns its manifest."""
    _require_postgresql()
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"Le dossier {folder} n’est pas vide : choisissez un dossier neuf.")
    folder.mkdir(parents=True, exist_ok=True)
    command, env = _client("pg_dump", ["--format=custom", "--file", str(folder / DUMP)])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        counts = table_counts()
        report(f"Base : {len(counts)} tables, {sum(counts.values())} lignes ; pg_dump…")
        _run([*command, f"--snapshot={snapshot}"], env)
    files = {}
    root = folder / FILES
    for name in stored_files(default_storage):
        target = _inside(root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with default_storage.open(name, "rb") as source, open(target, "wb") as output:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                output.write(chunk)
        files[name] = digest.hexdigest()
    report(f"Fichiers : {len(files)}.")
    manifest = {
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "tables": counts,
        "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def restore(folder: Path, report: Report = lambda line: None) -> list[str]:
    """Load the backup in ``folder`` into the (empty) database and default storage of the
    current settings, then compare them with its manifest: returns the differences (none
    when the restore is whole)."""
    _require_postgresql()
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"Sauvegarde illisible ({folder / MANIFEST}) : {error}") from None
    if connection.introspection.table_names():
        raise BackupError(
            f"La base « {connection.settings_dict['NAME']} » contient déjà des tables : "
            "restaurez dans une base neuve (createdb)."
        )
    if next(stored_files(default_storage), None) is not None:
        raise BackupError(
            "Le stockage des fichiers n’est pas vide : restaurez dans un dossier ou un "
            "compartiment neuf."
        )
    command, env = _client(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"],
    )
    report("pg_restore…")
    _run([*command, str(folder / DUMP)], env)
    connection.close()  # the tables just made, seen afresh
    root = folder / FILES
    for name in manifest["files"]:
        with open(_inside(root, name), "rb") as source:
            saved = default_storage.save(name, File(source))
        if saved != name:
            raise BackupError(f"Le fichier « {name} » a été enregistré sous « {saved} ».")
    report(f"Fichiers : {len(manifest['files'])} restaurés.")
    return compare(manifest)


def compare(manifest: dict) -> list[str]:
    """What differs between the manifest and the current database and storage."""
    differences = []
    counts = table_counts()
    for table in sorted(set(counts) | set(manifest["tables"])):
        expected, found = manifest["tables"].get(table), counts.get(table)
        if expected != found:
            differences.append(f"table {table} : {expected} lignes attendues, {found} trouvées")
    stored = set(stored_files(default_storage))
    for name, checksum in sorted(manifest["files"].items()):
        if name not in stored:
            differences.append(f"fichier {name} : absent")
            continue
        with default_storage.open(name, "rb") as handle:
            if _sha256(handle) != checksum:
                differences.append(f"fichier {name} : contenu différent")
    for name in sorted(stored - set(manifest["files"])):
        differences.append(f"fichier {name} : en trop")
    return differences
