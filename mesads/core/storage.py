"""Uploaded files on the configured storage: the local disk, or an S3-compatible bucket
shared by every app server and the worker (``AWS_STORAGE_BUCKET_NAME``)."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from django.core.files import File
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile

logger = logging.getLogger(__name__)


def storage_errors() -> tuple[type[Exception], ...]:
    """What a storage raises when it cannot keep a file: a full or read-only disk, an
    object store that refuses the file or does not answer. botocore is only loaded when
    the S3 storage is used (it weighs ~20 MB; imports run under a memory bound)."""
    if "botocore" not in sys.modules:
        return (OSError,)
    from botocore.exceptions import BotoCoreError, ClientError

    return (OSError, BotoCoreError, ClientError)


class FileNotStored(Exception):
    """The storage refused the file or did not answer; nothing of it was kept."""


def store_file(field_file: FieldFile, name: str, content: File) -> None:
    """Save ``content`` under ``name`` (random, so that the stored path is known before the
    write and no other file can be hit); when the storage fails, remove whatever part of
    the file it kept and raise ``FileNotStored``."""
    stored = field_file.field.generate_filename(field_file.instance, name)
    try:
        field_file.save(name, content, save=False)
    except storage_errors() as error:
        logger.exception("Could not store the uploaded file %s", stored)
        # A disk may keep part of a file. An object store never keeps a failed upload,
        # and one that cannot be reached would only make the user wait twice as long
        # (botocore's connection errors are OSErrors too).
        object_store_errors = storage_errors()[1:]
        if not isinstance(error, object_store_errors):
            with suppress(OSError):
                field_file.storage.delete(stored)
        raise FileNotStored(stored) from error


def delete_stored_file(storage: Storage, name: str) -> None:
    """Remove a file no row refers to any more. A storage failing then leaves an orphan
    (logged), never an error for the user whose deletion succeeded."""
    try:
        storage.delete(name)
    except storage_errors():
        logger.exception("Could not delete the stored file %s", name)


@contextmanager
def deleting_file_on_error(field_file: FieldFile) -> Iterator[None]:
    """Remove the stored file when the database write that should reference it fails."""
    try:
        yield
    except BaseException:
        delete_stored_file(field_file.storage, field_file.name)
        raise
