"""The documented worker command runs every queue the project uses (OPERATIONS.md #1):
``db_worker`` alone served "default" only, so imports stayed « en attente » and no e-mail
left. These tests start the real command as a subprocess against the test database."""

import datetime
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mesads.ads.models import ADS
from mesads.core.management.commands.worker import project_queues
from mesads.core.models import WorkerHeartbeat
from mesads.core.workers import sweep_interrupted_tasks
from mesads.exchange.models import ImportJob
from mesads.exchange.tasks import start_import
from mesads.users.notifications import send_email
from tests.exchange.test_import import csv_file, nimes_row
from tests.support.worker_tasks import nap, nap_once

ROOT = Path(__file__).resolve().parents[2]

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker subprocess needs a database it can share (PostgreSQL; CI runs it)",
)

DATABASE_BACKEND = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "emails", "imports"],
    }
}


def _worker_env(media_root: Path, mail_dir: Path) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "database",
        "MEDIA_ROOT": str(media_root),
        "EMAIL_URL": f"filemail:///{mail_dir}",  # four slashes: an absolute path
        "DJANGO_SETTINGS_MODULE": "mesads.settings",
    }


def run_worker(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_worker_reads_its_queues_from_the_settings():
    assert project_queues() == django_settings.TASKS["default"]["QUEUES"]
    assert {"emails", "imports"} <= set(project_queues())


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_an_import_and_an_e_mail(settings, tmp_path, nimes, staff):
    settings.TASKS = DATABASE_BACKEND
    mail_dir = tmp_path / "mails"
    mail_dir.mkdir()
    upload = io.BytesIO(csv_file([nimes_row("W-1")]))
    upload.name = "registre.csv"
    job = start_import(upload, user=staff)  # no request transaction: queued at once
    send_email.enqueue("gestionnaire@mairie.example", "Bonjour", "Un message de Mes ADS.")
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED

    result = run_worker(_worker_env(Path(settings.MEDIA_ROOT), mail_dir))

    assert result.returncode == 0, result.stderr
    assert "emails" in result.stdout and "imports" in result.stdout
    job.refresh_from_db()
    assert job.status == ImportJob.Status.READY, job.message
    assert job.created_count == 1
    [mail] = list(mail_dir.iterdir())
    assert "gestionnaire@mairie.example" in mail.read_text()
    assert not ADS.objects.filter(number="W-1").exists()  # a check writes nothing


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_sent_reset_link_does_not_stay_in_the_tasks_table(client, settings, tmp_path, manager):
    """The reset e-mail's body holds a link that opens the account for 72 hours: once the
    worker has sent it, the stored task keeps the recipient and the subject only."""
    settings.TASKS = DATABASE_BACKEND
    mail_dir = tmp_path / "mails"
    mail_dir.mkdir()
    client.post(reverse("password_reset"), {"email": manager.email})
    [queued] = DBTaskResult.objects.all()
    link = re.search(r"/compte/\S+/", queued.args_kwargs["args"][2]).group(0)

    assert run_worker(_worker_env(Path(settings.MEDIA_ROOT), mail_dir)).returncode == 0

    [mail] = list(mail_dir.iterdir())
    assert link in mail.read_text()  # the person got the link
    stored = DBTaskResult.objects.get(pk=queued.pk)
    assert stored.status == "SUCCESSFUL"
    assert stored.args_kwargs["args"][:2] == queued.args_kwargs["args"][:2]
    assert link not in json.dumps(stored.args_kwargs)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_plain_db_worker_would_have_left_them_waiting(settings, tmp_path, nimes, staff):
    """What the README used to say: the import and the e-mail were never run."""
    settings.TASKS = DATABASE_BACKEND
    upload = io.BytesIO(csv_file([nimes_row("W-2")]))
    upload.name = "registre.csv"
    job = start_import(upload, user=staff)
    env = _worker_env(Path(settings.MEDIA_ROOT), tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED


def test_the_worker_refuses_the_immediate_backend():
    env = {**os.environ, "TASKS_BACKEND": "immediate"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "worker", "--batch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TASKS_BACKEND=database" in result.stderr
    assert time.monotonic() - started < 30


def test_the_worker_refuses_an_unknown_queue():
    env = {**os.environ, "TASKS_BACKEND": "database"}
    result = subprocess.run(
        [sys.executable, "manage.py", "worker", "--queues", "emails,mails", "--batch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Unknown queue(s): mails" in result.stderr


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_serves_only_the_queues_it_is_given(settings, tmp_path, nimes, staff):
    """Production runs one process for the e-mails and one for the rest (README)."""
    settings.TASKS = DATABASE_BACKEND
    mail_dir = tmp_path / "mails"
    mail_dir.mkdir()
    upload = io.BytesIO(csv_file([nimes_row("W-3")]))
    upload.name = "registre.csv"
    job = start_import(upload, user=staff)
    send_email.enqueue("gestionnaire@mairie.example", "Bonjour", "Un message de Mes ADS.")
    env = _worker_env(Path(settings.MEDIA_ROOT), mail_dir)
    result = subprocess.run(
        [sys.executable, "manage.py", "worker", "--queues", "emails", "--batch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(list(mail_dir.iterdir())) == 1
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED  # not its queue


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_refreshes_the_key_figures_the_page_served_stale(
    client, settings, tmp_path, nimes
):
    """Production's path for « Chiffres clés »: the page answers with the figures it has and
    queues their refresh; the real worker computes them into the cache every server reads
    (here the database's cache table, shared with the worker process)."""
    from django.core.cache import cache
    from django.urls import reverse

    from mesads.stats import current

    settings.TASKS = DATABASE_BACKEND
    cache.clear()
    first = current.current_key_figures()  # nothing cached yet: computed at once
    ADS.objects.create(authority=nimes, number="K-1")
    cache.delete(current.FRESH_KEY)  # five minutes later

    assert client.get(reverse("stats:key_figures")).status_code == 200
    assert cache.get(current.FIGURES_KEY) == first  # answered with what it had

    result = run_worker(_worker_env(Path(settings.MEDIA_ROOT), tmp_path))

    assert result.returncode == 0, result.stderr
    refreshed = cache.get(current.FIGURES_KEY)
    assert refreshed.national.ads_total == first.national.ads_total + 1
    cache.clear()


# --- the sweep: tasks of dead workers (in-process; the real kill is in test_fault_worker) --


@pytest.mark.django_db
def test_the_sweep_takes_back_only_the_tasks_of_silent_workers(settings, tmp_path):
    settings.TASKS = DATABASE_BACKEND
    settings.WORKER_LEASE_TIMEOUT, settings.WORKER_MAX_INTERRUPTIONS = 60, 3
    now = timezone.now()
    long_ago = now - datetime.timedelta(minutes=5)
    WorkerHeartbeat.objects.create(
        worker_id="alive", queues="default", host="h", pid=1, started_at=long_ago, last_seen_at=now
    )
    WorkerHeartbeat.objects.create(
        worker_id="dead", queues="default", host="h", pid=2, started_at=long_ago,
        last_seen_at=long_ago,
    )  # fmt: skip

    def running(task, worker_ids, started_at=long_ago):
        result = task.enqueue(str(tmp_path / "marker"), 1)
        DBTaskResult.objects.filter(pk=result.id).update(
            status="RUNNING", started_at=started_at, worker_ids=worker_ids
        )
        return result.id

    busy = running(nap, ["alive"])  # a long task of a live worker
    just_claimed = running(nap, ["dead"], started_at=now)  # claimed less than a lease ago
    unsafe = running(nap, ["dead"])
    safe = running(nap_once, ["dead"])
    too_often = running(nap_once, ["a", "b", "dead"])  # killed its worker three times

    assert sweep_interrupted_tasks() == {"queued": 1, "failed": 2}

    status = {str(pk): value for pk, value in DBTaskResult.objects.values_list("id", "status")}
    assert status[busy] == status[just_claimed] == "RUNNING"
    assert status[unsafe] == status[too_often] == "FAILED"
    assert status[safe] == "READY"
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["alive"]
