"""An import whose worker died (OPERATIONS.md #10): ``kill -9`` while it wrote 26,000 of
60,000 rows left the database unchanged, but the page said « 43 % … l’import continue »
forever and the job could not be confirmed again. A job whose worker gave no sign of life
for ``IMPORT_HEARTBEAT_TIMEOUT`` seconds is shown as interrupted, with a button that runs
it again; running it again works."""

import datetime
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mesads.ads.models import ADS
from mesads.exchange.models import ImportJob
from mesads.exchange.tasks import confirm_import, restart_import, start_import
from mesads.users.models import User
from tests.core.test_worker import DATABASE_BACKEND, ROOT, _worker_env, needs_postgresql, run_worker
from tests.exchange.test_import import csv_file, nimes_row

ROWS = 20_000


@pytest.fixture
def national_admin(db) -> User:
    return User.objects.create_superuser("chef@transports.gouv.fr", "mot-de-passe-de-test")


def _stale(**fields) -> dict:
    """A job a worker held, whose last sign of life is ten minutes old."""
    return {"heartbeat_at": timezone.now() - datetime.timedelta(minutes=10), **fields}


def _page(client, job) -> str:
    return client.get(reverse("imports:progress", args=[job.pk])).content.decode()


def test_a_job_whose_worker_went_silent_is_shown_interrupted(client, national_admin, nimes):
    job = ImportJob.objects.create(
        original_name="national.xlsx",
        user=national_admin,
        **_stale(
            status=ImportJob.Status.WRITING,
            stage=ImportJob.Stage.WRITING,
            to_write=60_000,
            rows_written=26_000,
        ),
    )
    client.force_login(national_admin)

    page = _page(client, job)

    assert "Import interrompu : rien n’a été enregistré" in page
    assert "l’import continue" not in page
    assert 'http-equiv="refresh"' not in page  # nothing more will happen by itself
    assert "(à 43 %)" in page
    assert "Relancer l’enregistrement" in page
    assert list(ImportJob.objects.interrupted()) == [job]


def test_a_busy_worker_is_not_taken_for_a_dead_one(client, national_admin, nimes, settings):
    settings.IMPORT_HEARTBEAT_TIMEOUT = 60
    job = ImportJob.objects.create(
        original_name="national.xlsx",
        user=national_admin,
        status=ImportJob.Status.WRITING,
        stage=ImportJob.Stage.WRITING,
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=5),
    )
    client.force_login(national_admin)

    page = _page(client, job)

    assert "l’import continue" in page
    assert "Relancer" not in page
    assert not restart_import(job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.WRITING


def test_without_a_heartbeat_a_job_is_never_declared_interrupted(national_admin):
    """SQLite, or a run inside a request: nothing writes a heartbeat, so nothing can tell."""
    job = ImportJob.objects.create(
        original_name="f.csv", user=national_admin, status=ImportJob.Status.VALIDATING
    )
    assert not job.is_interrupted
    assert not ImportJob.objects.interrupted().exists()


def test_national_staff_run_an_interrupted_check_again(
    client, national_admin, nimes, django_capture_on_commit_callbacks
):
    upload = io.BytesIO(csv_file([nimes_row("R-1"), nimes_row("R-2")]))
    upload.name = "registre.csv"
    with django_capture_on_commit_callbacks(execute=False):
        job = start_import(upload, user=national_admin)  # queued, never run: "killed"
    ImportJob.objects.filter(pk=job.pk).update(
        **_stale(status=ImportJob.Status.VALIDATING, stage="validating", rows_validated=1)
    )
    client.force_login(national_admin)
    assert "Relancer la vérification" in _page(client, job)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:restart", args=[job.pk]))

    assert response["Location"] == reverse("imports:progress", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY  # the immediate backend ran it again
    assert job.created_count == 2
    page = _page(client, job)
    assert "La vérification a été relancée." in page
    assert "Confirmer l’import" in page


def test_a_second_click_on_relancer_queues_nothing_more(
    client, national_admin, nimes, django_capture_on_commit_callbacks
):
    job = ImportJob.objects.create(
        original_name="f.csv", user=national_admin, **_stale(status=ImportJob.Status.WRITING)
    )
    client.force_login(national_admin)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(reverse("imports:restart", args=[job.pk]))
        second = client.post(reverse("imports:restart", args=[job.pk]), follow=True)

    assert len(queued) == 1
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.COMMIT_QUEUED
    assert "Cet import n’est pas interrompu" in second.content.decode()


def test_relancer_is_for_national_staff_who_import_and_only_by_post(
    client, national_admin, manager, staff, nimes
):
    job = ImportJob.objects.create(
        original_name="f.csv", user=manager, **_stale(status=ImportJob.Status.WRITING)
    )
    url = reverse("imports:restart", args=[job.pk])
    client.force_login(manager)  # owns the job, may not import (any more)
    assert "L’équipe nationale peut le relancer." in _page(client, job)
    assert client.post(url).status_code == 404
    client.force_login(national_admin)
    assert client.get(url).status_code == 405
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.WRITING
    client.force_login(staff)  # national staff hold every permission of the registry
    assert client.post(url).status_code == 302
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.COMMIT_QUEUED


# --- the real thing: a worker process killed while it writes ---------------------------


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_kill_9_of_the_worker_while_it_writes(client, settings, tmp_path, nimes, national_admin):
    settings.TASKS = DATABASE_BACKEND
    settings.IMPORT_HEARTBEAT_TIMEOUT = 3
    env = {**_worker_env(Path(settings.MEDIA_ROOT), tmp_path), "WORKER_LEASE_TIMEOUT": "3"}
    rows = [nimes_row(f"K-{n}") for n in range(1, ROWS + 1)]
    upload = io.BytesIO(csv_file(rows))
    upload.name = "national.csv"
    job = start_import(upload, user=national_admin)
    assert run_worker(env, timeout=300).returncode == 0  # the check
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY, job.message
    assert confirm_import(job)

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(
            lambda: ImportJob.objects.filter(
                pk=job.pk, stage=ImportJob.Stage.WRITING, rows_written__gt=0
            ).exists(),
            timeout=240,
            what="the worker to write rows",
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.WRITING
    assert 0 < job.rows_written < ROWS
    assert not ADS.objects.filter(authority=nimes).exists()  # rolled back: unchanged
    client.force_login(national_admin)
    _wait_for(
        lambda: "Import interrompu" in _page(client, job),
        timeout=30,
        what="the page to show the job interrupted",
    )

    response = client.post(reverse("imports:restart", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMIT_QUEUED
    result = run_worker(env, timeout=300)
    assert result.returncode == 0, result.stderr

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.message
    assert job.created_count == ROWS
    # The killed run's task was taken back by the next worker as interrupted, not run
    # again by itself: « Relancer » is national staff's decision.
    [killed, rerun] = DBTaskResult.objects.filter(task_path__endswith="commit_import").order_by(
        "enqueued_at"
    )
    assert killed.status == "FAILED"
    assert killed.exception_class_path == "mesads.core.workers.TaskInterrupted"
    assert rerun.status == "SUCCESSFUL", (rerun.exception_class_path, rerun.traceback)
    assert ADS.objects.filter(authority=nimes).count() == ROWS
    assert "Import terminé" in _page(client, job)
