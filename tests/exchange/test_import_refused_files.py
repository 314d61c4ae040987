"""A refused import leaves no file behind: the upload (personal data, perhaps hostile: 127 MB
of them stayed in the media folder) is removed from the storage once the job is refused
— invalid rows, a damaged file, or an import stopped on an error — whether it came
from the import page or the admin. A file waiting for its confirmation stays; a file the
form refuses (too large, not a spreadsheet) is never stored."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from mesads.exchange import tasks
from mesads.exchange.models import ImportJob
from tests.exchange.test_import import csv_file, nimes_row

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def stored_imports() -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def send(client, url, data: bytes, name: str, capture, **fields) -> ImportJob:
    with capture(execute=True):
        response = client.post(url, {"import_file": upload(data, name), **fields})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.latest("pk")


BAD_SIRET = csv_file([nimes_row("12", **{"SIRET du titulaire": "732 829 320 00075"})])
# A zip that is not a workbook: accepted by the upload's first check, damaged for the reader.
DAMAGED = b"PK\x03\x04" + b"\x00" * 26 + b"not a workbook at all" * 50


def test_a_file_refused_on_its_rows_is_removed(
    client, staff, nimes, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    job = send(
        client,
        reverse("imports:index"),
        BAD_SIRET,
        "registre.csv",
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportJob.Status.INVALID
    assert job.errors.exists()  # the errors are kept: the list and erreurs.csv show them
    assert not job.file and stored_imports() == []
    page = client.get(reverse("imports:progress", args=[job.pk]))
    assert page.status_code == 200 and "registre.csv" in page.content.decode()


def test_a_damaged_file_sent_through_the_admin_is_removed(
    admin_client, nimes, django_capture_on_commit_callbacks
):
    url = reverse("admin:exchange_importjob_import")
    job = send(
        admin_client,
        url,
        DAMAGED,
        "registre.xlsx",
        django_capture_on_commit_callbacks,
        format="0",
        resource="0",
    )
    assert job.status == ImportJob.Status.INVALID
    assert "endommagé" in job.errors.get().message
    assert not job.file and stored_imports() == []


def test_a_file_whose_import_stopped_on_an_error_is_removed(
    client, staff, nimes, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("lost the database")

    monkeypatch.setattr(tasks, "import_file", broken)
    client.force_login(staff)
    send(client, reverse("imports:index"), BAD_SIRET, "r.csv", django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert not job.file and stored_imports() == []


def test_a_file_waiting_for_its_confirmation_stays_until_written(
    client, staff, complete_ads, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    data = csv_file([nimes_row("12", Titulaire="Nouveau nom")])
    job = send(client, reverse("imports:index"), data, "ok.csv", django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.READY
    [stored] = stored_imports()
    assert stored.read_bytes() == data and job.file.name.endswith(stored.name)


def test_the_daily_step_removes_the_refused_files_left_before(
    nimes, django_capture_on_commit_callbacks
):
    """Refused jobs whose file stayed (uploaded before the fix, or a storage that failed
    to delete): the daily step removes their files, and only theirs."""
    jobs = {}
    for status in (ImportJob.Status.INVALID, ImportJob.Status.FAILED, ImportJob.Status.READY):
        job = ImportJob(original_name=f"{status}.csv", status=status)
        job.file.save(f"{status}.csv", io.BytesIO(BAD_SIRET), save=True)
        jobs[status] = job
    assert len(stored_imports()) == 3

    with django_capture_on_commit_callbacks(execute=True):
        message = tasks.discard_refused_files(None)
    assert message == "2 fichier(s) d’import refusé(s) supprimé(s)"
    assert tasks.discard_refused_files(None) == "0 fichier(s) d’import refusé(s) supprimé(s)"

    [kept] = stored_imports()
    assert kept.name.startswith("ready")
    for status, job in jobs.items():
        job.refresh_from_db()
        assert bool(job.file) == (status == ImportJob.Status.READY)
