"""Uploaded files on an S3-compatible object store (issue 8, point 7): with a bucket
configured, decrees and imported spreadsheets go to the bucket that every app server and
the worker share, are served only by the access-checked views, and a failed upload leaves
nothing behind. Against a real S3 server (moto's standalone server, over HTTP), not a
mocked client."""

import io
import socket
import threading
import time
from contextlib import suppress
from pathlib import Path

import boto3
import pytest
from django.urls import reverse
from moto.server import ThreadedMotoServer

from mesads.ads.models import ADSDocument, AuthorityDecree
from mesads.exchange.models import ImportJob
from mesads.exchange.tasks import start_import
from mesads.settings import s3_storage
from tests.ads.test_ads_documents import PDF, download, post_document, stored_files, upload
from tests.core.test_worker import DATABASE_BACKEND, _worker_env, needs_postgresql, run_worker
from tests.exchange.test_import import csv_file, nimes_row

BUCKET = "mesads-documents"
CREDENTIALS = {"access_key": "test-key", "secret_key": "test-secret", "region_name": "eu-west-3"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path):
    """A new, empty bucket configured as the default storage; the local media folder is
    an empty one, to see that nothing lands there."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )
    client.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["region_name"]},
    )
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(BUCKET, s3_endpoint, **CREDENTIALS),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def objects(client) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listing
    }


def test_a_decree_goes_to_the_bucket_and_only_the_views_serve_it(
    client, manager, other_manager, complete_ads, bucket, settings
):
    client.force_login(manager)

    assert post_document(client, complete_ads).status_code == 302

    document = ADSDocument.objects.get(ads=complete_ads)
    assert objects(bucket) == {document.file.name: PDF}
    assert stored_files(settings) == []  # not on the app server's disk
    detail = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    # The page links to the access-checked view, never to the bucket or a signed URL.
    assert reverse("ads:document_download", args=[document.pk]) in detail
    assert BUCKET not in detail and "X-Amz" not in detail
    response, body = download(client, "ads:document_download", document.pk)
    assert (response.status_code, body) == (200, PDF)
    assert response["Content-Disposition"] == 'attachment; filename="arrete-attribution.pdf"'
    assert "private" in response["Cache-Control"]

    client.force_login(other_manager)  # Alès: another commune's document does not exist
    response, body = download(client, "ads:document_download", document.pk)
    assert (response.status_code, body) == (404, b"")


def test_a_deleted_document_leaves_the_bucket(
    client, manager, complete_ads, bucket, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    post_document(client, complete_ads)
    document = ADSDocument.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ads:document_delete", args=[document.pk]))

    assert not ADSDocument.objects.exists()
    assert objects(bucket) == {}


def test_the_authoritys_decree_goes_to_the_bucket(client, manager, nimes, bucket):
    client.force_login(manager)
    response = client.post(
        reverse("ads:decree_create", args=[nimes.pk]),
        {"date": "15/01/2024", "ads_count": "12", "file": upload("arrete-nombre.pdf", PDF)},
    )
    assert response.status_code == 302
    decree = AuthorityDecree.objects.get()
    assert objects(bucket) == {decree.file.name: PDF}
    response, body = download(client, "ads:decree_download", decree.pk)
    assert body == PDF


def test_an_upload_the_object_store_refuses_is_reported_and_leaves_nothing(
    client, manager, complete_ads, bucket, s3_endpoint, settings
):
    # A bucket that does not exist (deleted, or a wrong name in the configuration): the
    # store answers NoSuchBucket.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage("seau-inexistant", s3_endpoint, **CREDENTIALS),
    }
    client.force_login(manager)

    response = post_document(client, complete_ads)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Le document n’a pas pu être enregistré" in page
    assert "Rien n’a été enregistré" in page
    assert not ADSDocument.objects.exists()
    assert objects(bucket) == {} and stored_files(settings) == []


@pytest.fixture
def silent_store():
    """An endpoint that accepts connections and never answers (a hung object store)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        with suppress(OSError):
            while True:
                accepted.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in accepted:
        connection.close()


@pytest.mark.parametrize("endpoint", ["refused", "silent"])
def test_an_object_store_out_of_reach_fails_the_upload_before_the_app_server_gives_up(
    client, manager, complete_ads, settings, tmp_path, silent_store, endpoint
):
    # Refused: nothing listens on port 9 (discard) here. Silent: it never answers.
    url = {"refused": "http://127.0.0.1:9", "silent": silent_store}[endpoint]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(BUCKET, url, **CREDENTIALS)}
    client.force_login(manager)

    started = time.monotonic()
    response = post_document(client, complete_ads)
    waited = time.monotonic() - started

    assert response.status_code == 200
    assert "l’espace de stockage est momentanément indisponible" in response.content.decode()
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []
    # Answered before gunicorn kills the request (its timeout: 30 s).
    assert waited < 25


def test_an_imported_spreadsheet_goes_to_the_bucket_and_goes_with_its_job(
    client, staff, nimes, bucket, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    spreadsheet = io.BytesIO(csv_file([nimes_row("S3-1")]))
    spreadsheet.name = "registre.csv"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:exchange_importjob_import"),
            {"import_file": spreadsheet, "format": "0", "resource": "0"},
        )

    job = ImportJob.objects.get()
    assert response["Location"] == reverse("imports:progress", args=[job.pk])
    assert job.status == ImportJob.Status.READY  # checked from the bucket
    assert list(objects(bucket)) == [job.file.name]
    assert "registre" not in job.file.name  # a random name: the file names people
    assert job.original_name == "registre.csv"

    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert objects(bucket) == {}


def test_an_import_the_object_store_refuses_is_reported_on_the_form(
    client, staff, nimes, s3_endpoint, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage("seau-inexistant", s3_endpoint, **CREDENTIALS),
    }
    client.force_login(staff)
    spreadsheet = io.BytesIO(csv_file([nimes_row("S3-2")]))
    spreadsheet.name = "registre.csv"

    response = client.post(
        reverse("admin:exchange_importjob_import"),
        {"import_file": spreadsheet, "format": "0", "resource": "0"},
    )

    assert response.status_code == 200
    assert "Le fichier n’a pas pu être enregistré" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert stored_files(settings) == []


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_worker_on_another_machine_reads_the_file_from_the_bucket(
    settings, tmp_path, nimes, staff, bucket, s3_endpoint
):
    """The app server stores the file, the worker (another process, with its own empty
    media folder) checks it: they share nothing but PostgreSQL and the bucket."""
    settings.TASKS = DATABASE_BACKEND
    spreadsheet = io.BytesIO(csv_file([nimes_row("S3-3")]))
    spreadsheet.name = "registre.csv"
    job = start_import(spreadsheet, user=staff)
    worker_media = tmp_path / "worker-media"
    env = _worker_env(worker_media, tmp_path) | {
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["access_key"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["secret_key"],
        "AWS_S3_REGION_NAME": CREDENTIALS["region_name"],
    }

    result = run_worker(env)

    assert result.returncode == 0, result.stderr
    job.refresh_from_db()
    assert (job.status, job.rows_total) == (ImportJob.Status.READY, 1)
    assert not Path(worker_media).exists() or not any(Path(worker_media).rglob("*.*"))
