"""Generating and publishing the open-data files, daily (``run_daily``) or on demand
(``manage.py export_opendata``).

Both files are read from one snapshot of the register (so that the authorities' counts
add up to the rows of the ADS file), written row by row to local temporary files, then
stored under new names on the default storage (the S3 bucket when one is configured),
and only then switched to in the database (``Publication``): a download never gets a
half-written file, and a failure leaves the published files as they were.
"""

import csv
import datetime
import hashlib
import io
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone

from mesads.core.storage import delete_stored_file
from mesads.exchange.export import snapshot

from .datasets import DATASETS, Dataset
from .models import Publication

logger = logging.getLogger(__name__)

FOLDER = "opendata"
CONTENT_TYPE = "text/csv; charset=utf-8"
ROWS_PER_WRITE = 1000
PROGRESS_EVERY = 10_000
STREAM_CHUNK = 64 * 1024


@dataclass
class Written:
    dataset: Dataset
    file: tempfile.SpooledTemporaryFile
    rows: int
    size: int
    sha256: str
    stored_name: str = ""


def _write_csv(
    dataset: Dataset, output, progress: Callable[[str, int], None] | None
) -> tuple[int, int, str]:
    """The dataset as CSV (UTF-8 without byte order mark, comma, CRLF as RFC 4180 says)
    into ``output``, a thousand rows at a time; returns (rows, bytes, SHA-256)."""
    digest, size, rows = hashlib.sha256(), 0, 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> None:
        nonlocal size
        piece = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        digest.update(piece)
        output.write(piece)
        size += len(piece)

    writer.writerow(dataset.columns)
    width = len(dataset.columns)
    for rows, row in enumerate(dataset.rows(), 1):
        if len(row) != width:  # pragma: no cover - a row builder out of step with its schema
            raise ValueError(f"{dataset.slug}: {len(row)} valeurs pour {width} colonnes")
        writer.writerow(row)
        if rows % ROWS_PER_WRITE == 0:
            flush()
        if progress and rows % PROGRESS_EVERY == 0:
            progress(dataset.slug, rows)
    flush()
    return rows, size, digest.hexdigest()


def generate(progress: Callable[[str, int], None] | None = None) -> list[Written]:
    """Both files, from one snapshot of the register, in local temporary files (spooled to
    disk beyond 1 MB: memory stays flat whatever the register's size)."""
    written: list[Written] = []
    try:
        with snapshot():
            for dataset in DATASETS:
                output = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
                written.append(Written(dataset, output, 0, 0, ""))
                rows, size, sha256 = _write_csv(dataset, output, progress)
                written[-1].rows, written[-1].size, written[-1].sha256 = rows, size, sha256
    except BaseException:
        for item in written:
            item.file.close()
        raise
    return written


def _new_name(slug: str, now: datetime.datetime) -> str:
    # A new name each time: the published file is never overwritten in place.
    return f"{FOLDER}/{slug}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}.csv"


def publish(
    now: datetime.datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
    storage: Storage | None = None,
) -> list[Publication]:
    """Generate both files, store them under new names, then switch the public addresses
    to them in one transaction. The files published before the previous ones are removed;
    the previous ones stay until the next publication, for downloads in progress."""
    now = now or timezone.now()
    storage = storage or default_storage
    written = generate(progress)
    try:
        for item in written:
            item.file.seek(0)
            item.stored_name = storage.save(_new_name(item.dataset.slug, now), File(item.file))
    except BaseException:
        for item in written:
            if item.stored_name:
                delete_stored_file(storage, item.stored_name)
        raise
    finally:
        for item in written:
            item.file.close()

    stale: list[str] = []
    publications = []
    with transaction.atomic():
        current = {
            p.dataset: p
            for p in Publication.objects.select_for_update().filter(
                dataset__in=[item.dataset.slug for item in written]
            )
        }
        for item in written:
            publication = current.get(item.dataset.slug) or Publication(dataset=item.dataset.slug)
            if publication.previous_name:
                stale.append(publication.previous_name)
            publication.previous_name = publication.name or ""
            publication.name = item.stored_name
            publication.rows, publication.size, publication.sha256 = (
                item.rows,
                item.size,
                item.sha256,
            )
            publication.generated_at = now
            publication.save()
            publications.append(publication)
    for name in stale:
        delete_stored_file(storage, name)
    return publications


def open_stream(name: str, storage: Storage | None = None) -> Iterator[bytes]:
    """The stored file in chunks, read as it is sent. On S3 the object's body is read
    from the network as it goes: the storage's file object would first download all of it
    (into memory, by default) before giving the first byte. Raises FileNotFoundError."""
    storage = storage or default_storage
    handle = storage.open(name, "rb")
    obj = getattr(handle, "obj", None)  # django-storages' S3File
    body = obj.get()["Body"] if obj is not None else handle

    def chunks() -> Iterator[bytes]:
        try:
            while piece := body.read(STREAM_CHUNK):
                yield piece
        finally:
            body.close()
            if body is not handle:
                handle.close()

    return chunks()


def human_size(size: int) -> str:
    """A size as the page shows it, in French: « 2,4 Mo », « 812 ko »."""
    for unit, factor in (("Go", 10**9), ("Mo", 10**6), ("ko", 10**3)):
        if size >= factor:
            return f"{size / factor:.1f}".replace(".", ",") + f"\u00a0{unit}"
    return f"{size}\u00a0octets"


def daily_step(today: datetime.date) -> str:
    """``run_daily``: both files regenerated from the register as it is now. Idempotent:
    a second run the same day publishes the same content under new names and removes
    what the first one replaced; at most two files of each kind are ever stored."""
    publications = publish()
    return "données ouvertes publiées : " + ", ".join(
        f"{p.dataset}.csv ({p.rows} lignes, {human_size(p.size)})" for p in publications
    )
