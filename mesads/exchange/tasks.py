"""The background steps of an import (django-tasks, queue "imports"): check the file, then,
once national staff confirm, write it.

In production the database backend runs them in ``manage.py worker``; the upload
returns as soon as the job is queued, and the progress page follows the job. With the
immediate backend (development, tests) they run when the request's transaction commits.
"""

import logging
import threading
import uuid
from pathlib import Path

from django.db import connection, connections, transaction
from django.utils import timezone
from django_tasks import task

from mesads.core.storage import deleting_file_on_error, store_file

from .importing import HISTORY, READING, VALIDATING, WRITING, import_file
from .models import ImportJob

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between two progress writes


class JobProgress:
    """Keeps the job's counters up to date while the import runs.

    The import writes in one transaction: progress saved through its connection would
    stay invisible until the end. A small thread with its own connection saves it instead,
    at most once a second. Inside an enclosing transaction (the immediate backend within a
    request, tests), and on SQLite (one writer at a time), the counters are kept and
    saved with the result instead.
    """

    FIELDS = {
        READING: "rows_read",
        VALIDATING: "rows_validated",
        WRITING: "rows_written",
        HISTORY: "rows_written",
    }

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.values: dict[str, object] = {}
        self.saved: dict[str, object] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = None
        if heartbeat_possible():
            self.thread = threading.Thread(target=self._run, name=f"import-{job.pk}", daemon=True)
            self.thread.start()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        with self.lock:
            self.values["stage"] = stage
            self.values[self.FIELDS[stage]] = done
            if stage in (WRITING, HISTORY):
                self.values["to_write"] = total or 0
            elif total is not None:
                self.values["rows_total"] = total
            values = dict(self.values)
        for name, value in values.items():
            setattr(self.job, name, value)

    def _run(self) -> None:
        try:
            while not self.done.wait(PROGRESS_INTERVAL):
                self._flush()
            self._flush()
        except Exception:  # progress is a courtesy: never let it break the import
            logger.exception("Could not save the progress of import %s", self.job.pk)
        finally:
            connections.close_all()  # this thread's connections only

    def _flush(self) -> None:
        with self.lock:
            changes = {k: v for k, v in self.values.items() if self.saved.get(k) != v}
        # Written even when nothing moved (a long query, a slow file): the heartbeat is
        # how the progress page tells a busy worker from a dead one.
        ImportJob.objects.filter(pk=self.job.pk).update(heartbeat_at=timezone.now(), **changes)
        self.saved.update(changes)

    def stop(self) -> None:
        if self.thread is not None:
            self.done.set()
            self.thread.join()


def heartbeat_possible() -> bool:
    """A second connection can write the job while the import's transaction is open:
    not on SQLite (one writer at a time), not inside an enclosing transaction."""
    return connection.vendor != "sqlite" and not connection.in_atomic_block


def _take(job: ImportJob, status: str) -> None:
    """The worker starts on the job: its state, and a first sign of life."""
    job.status = status
    job.heartbeat_at = timezone.now() if heartbeat_possible() else None
    job.save(update_fields=["status", "heartbeat_at"])


def _run(job: ImportJob, commit: bool):
    progress = JobProgress(job)
    try:
        with job.file.open("rb") as source:
            return import_file(
                source,
                file_name=job.original_name,
                user=job.user,
                commit=commit,
                sync=job.sync,
                comment=job.comment,
                progress=progress,
            )
    finally:
        progress.stop()


def _fail(job: ImportJob, error: BaseException) -> None:
    logger.exception("Import %s failed", job.pk)
    job.status = ImportJob.Status.FAILED
    job.message = (
        "L’import s’est arrêté sur une erreur technique : rien n’a été enregistré, le "
        "registre est inchangé. L’erreur est consignée pour l’équipe technique "
        f"(import n° {job.pk}, {error.__class__.__name__})."
    )
    job.finished_at = timezone.now()
    job.discard_file()
    job.save()


@task(queue_name="imports")
def validate_import(job_id: int) -> str:
    """The dry run: read and check every row, store the errors or the preview."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    if job.status != ImportJob.Status.QUEUED:
        return job.status
    _take(job, ImportJob.Status.VALIDATING)
    try:
        result = _run(job, commit=False)
    except Exception as error:
        _fail(job, error)
        raise
    job.status = ImportJob.Status.READY if result.ok else ImportJob.Status.INVALID
    job.validated_at = timezone.now()
    if job.status == ImportJob.Status.INVALID:
        job.discard_file()
    job.record(result)
    return job.status


@task(queue_name="imports")
def commit_import(job_id: int) -> str:
    """Write the confirmed import, in one transaction, as one revision of the history."""
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    if job.status != ImportJob.Status.COMMIT_QUEUED:
        return job.status
    _take(job, ImportJob.Status.WRITING)
    try:
        result = _run(job, commit=True)
    except Exception as error:
        _fail(job, error)
        raise
    # The register may have changed since the preview: the file is checked again, and
    # errors found now are reported the same way, with nothing written.
    job.status = ImportJob.Status.DONE if result.committed else ImportJob.Status.INVALID
    job.finished_at = timezone.now()
    if job.status == ImportJob.Status.INVALID:
        job.discard_file()
    job.record(result)
    return job.status


def start_import(upload, *, user, sync: bool = False, comment: str = "") -> ImportJob:
    """Store an uploaded file as a new job and queue its check (once the transaction
    commits, so that a worker finds the job)."""
    job = ImportJob(original_name=upload.name[:255], user=user, sync=sync, comment=comment)
    # A random name: the file holds personal data, and a failed write leaves nothing.
    # Raises FileNotStored when the storage refuses it.
    store_file(job.file, f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()[:10]}", upload)
    with deleting_file_on_error(job.file):
        job.save()
    transaction.on_commit(lambda: validate_import.enqueue(job.pk))
    return job


def confirm_import(job: ImportJob) -> bool:
    """National staff confirmed the preview: queue the writing; False when the job was no
    longer ready (confirmed meanwhile, by a second click or another person).

    A conditional update: of two confirmations that both saw the job ready, only one
    queues the writing, otherwise the same file could be written twice at once.
    """
    now = timezone.now()
    confirmed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.READY).update(
        status=ImportJob.Status.COMMIT_QUEUED, confirmed_at=now, stage=""
    )
    if not confirmed:
        return False
    job.status, job.confirmed_at, job.stage = ImportJob.Status.COMMIT_QUEUED, now, ""
    transaction.on_commit(lambda: commit_import.enqueue(job.pk))
    return True


RESET_PROGRESS = {"stage": "", "rows_read": 0, "rows_validated": 0, "rows_written": 0}


def restart_import(job: ImportJob) -> bool:
    """Run an interrupted job again (its worker died: nothing of it was written): back to
    the queue it was taken from. False when the job is not (or no longer) interrupted.

    A conditional update, like the confirmation: of two clicks, one queues the job.
    """
    previous = job.status
    if previous not in ImportJob.RESTART:
        return False
    status = ImportJob.RESTART[previous]
    restarted = (
        ImportJob.objects.interrupted()
        .filter(pk=job.pk, status=previous)
        .update(status=status, heartbeat_at=None, message="", **RESET_PROGRESS)
    )
    if not restarted:
        return False
    job.refresh_from_db()
    task = validate_import if status == ImportJob.Status.QUEUED else commit_import
    transaction.on_commit(lambda: task.enqueue(job.pk))
    logger.warning("Import %s interrupted while %s: queued again", job.pk, previous)
    return True


def discard_refused_files(today) -> str:
    """Daily step: the files of refused imports still in the storage (kept before refused
    files were removed with their refusal, or whose removal the storage failed) are
    removed. The jobs, their errors and their counts stay."""
    removed = 0
    refused = ImportJob.objects.filter(
        status__in=[ImportJob.Status.INVALID, ImportJob.Status.FAILED]
    ).exclude(file="")
    for job in refused.only("pk", "file").iterator():
        with transaction.atomic():
            job.discard_file()
            job.save(update_fields=["file"])
        removed += 1
    return f"{removed} fichier(s) d’import refusé(s) supprimé(s)"
