"""Legal documents: a manager files the decrees of an ADS and the decree fixing the number
of ADS, downloads them, deletes one; nobody else reaches them, and only real PDF, JPEG or
PNG files get in."""

import datetime
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from mesads.ads.documents import add_ads_document
from mesads.ads.models import ADSDocument, AuthorityDecree

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOT_ACCEPTED = "Ce fichier n’est pas un document PDF, ni une image JPEG ou PNG"


def tiny_png() -> bytes:
    """A real 1×1 grey PNG: signature, IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")  # filter byte, one grey pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def upload(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def post_document(client, ads, name="arrete-attribution.pdf", content=PDF, **extra):
    return client.post(
        reverse("ads:document_create", args=[ads.pk]),
        {"kind": ADSDocument.Kind.ATTRIBUTION, "file": upload(name, content, **extra)},
    )


def download(client, url_name: str, pk: int):
    response = client.get(reverse(url_name, args=[pk]))
    body = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, body


@pytest.fixture
def document(complete_ads, manager) -> ADSDocument:
    """A renewal decree filed by the manager, as the upload page files it."""
    return add_ads_document(
        ADSDocument(ads=complete_ads, kind=ADSDocument.Kind.RENEWAL),
        upload("renouvellement.pdf", PDF),
        manager,
    )


@pytest.fixture
def decree(nimes, manager) -> AuthorityDecree:
    decree = AuthorityDecree(
        authority=nimes, date=datetime.date(2021, 3, 15), ads_count=40, original_name="nombre.pdf"
    )
    decree.file.save("d4e5f6.pdf", upload("nombre.pdf", PDF), save=True)
    return decree


# --- a decree of an ADS ----------------------------------------------------------------


def test_upload_page_has_a_multipart_form_a_title_and_breadcrumbs(client, manager, complete_ads):
    client.force_login(manager)

    response = client.get(reverse("ads:document_create", args=[complete_ads.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert "<title>Déposer un document – ADS n° 12 – Nîmes" in page
    assert 'enctype="multipart/form-data"' in page
    assert "<legend" in page
    assert 'aria-current="page">Déposer un document' in page
    assert "Formats acceptés : PDF, JPEG ou PNG. Taille maximale : 10 Mo." in page


def test_manager_uploads_a_pdf_then_finds_and_downloads_it(client, manager, complete_ads):
    client.force_login(manager)

    response = post_document(client, complete_ads)

    assert response.status_code == 302
    assert response["Location"] == reverse("ads:detail", args=[complete_ads.pk])
    document = ADSDocument.objects.get(ads=complete_ads)
    assert document.kind == ADSDocument.Kind.ATTRIBUTION
    assert document.original_name == "arrete-attribution.pdf"
    assert document.size == len(PDF)
    assert document.uploaded_by == manager
    # Stored under a random name in the ADS's folder, not under the name the user chose.
    assert document.file.name.startswith(f"ads/{complete_ads.authority_id}/{complete_ads.pk}/")
    assert "arrete" not in document.file.name
    assert document.file.name.endswith(".pdf")
    with document.file.open("rb") as stored:
        assert stored.read() == PDF

    detail = client.get(response["Location"])
    assert "Le document « arrete-attribution.pdf » a été déposé." in detail.content.decode()
    assert "Arrêté d’attribution – arrete-attribution.pdf" in detail.content.decode()
    assert reverse("ads:document_download", args=[document.pk]) in detail.content.decode()

    response, body = download(client, "ads:document_download", document.pk)
    assert response.status_code == 200
    assert body == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="arrete-attribution.pdf"'
    assert "private" in response["Cache-Control"]


def test_the_history_of_the_ads_shows_the_document_added(client, manager, complete_ads):
    client.force_login(manager)
    post_document(client, complete_ads)

    page = client.get(reverse("ads:history", args=[complete_ads.pk])).content.decode()

    assert "Ajout du document « Arrêté d’attribution – arrete-attribution.pdf »" in page
    assert "Document – ajout : Arrêté d’attribution – arrete-attribution.pdf" in page
    assert "Camille" in page


def test_a_png_scan_is_accepted_and_served_as_an_image(client, manager, complete_ads):
    client.force_login(manager)
    png = tiny_png()

    response = post_document(client, complete_ads, "scan.png", png, content_type="image/png")

    assert response.status_code == 302
    document = ADSDocument.objects.get(ads=complete_ads)
    response, body = download(client, "ads:document_download", document.pk)
    assert body == png
    assert response["Content-Type"] == "image/png"


def test_the_file_name_is_cleaned_but_keeps_its_accents(client, manager, complete_ads):
    client.force_login(manager)

    post_document(client, complete_ads, 'arrêté n°3  "final".pdf')

    document = ADSDocument.objects.get(ads=complete_ads)
    assert document.original_name == "arrêté n°3 _final_.pdf"
    response, _ = download(client, "ads:document_download", document.pk)
    assert (
        "filename*=utf-8''arr%C3%AAt%C3%A9%20n%C2%B03%20_final_.pdf"
        in response["Content-Disposition"]
    )


def test_a_program_renamed_pdf_is_refused_and_nothing_is_written(
    client, manager, complete_ads, settings
):
    client.force_login(manager)

    response = post_document(client, complete_ads, "arrete.pdf", b"MZ\x90\x00" + b"\x00" * 200)

    assert response.status_code == 200
    assert NOT_ACCEPTED in response.content.decode()
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_text_file_named_pdf_is_refused(client, manager, complete_ads, settings):
    client.force_login(manager)

    response = post_document(client, complete_ads, "arrete.pdf", b"Ceci est un arrete.\n")

    assert response.status_code == 200
    assert NOT_ACCEPTED in response.content.decode()
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_name_that_lies_about_the_content_is_refused(client, manager, complete_ads):
    client.force_login(manager)

    response = post_document(client, complete_ads, "arrete.pdf", tiny_png())

    assert response.status_code == 200
    assert (
        "Le nom du fichier porte « .pdf » mais son contenu est un image PNG"
        in response.content.decode()
    )
    assert not ADSDocument.objects.exists()


def test_a_file_over_the_size_limit_is_refused_with_the_limit_named(
    client, manager, complete_ads, settings
):
    settings.MAX_DOCUMENT_SIZE = 1024 * 1024
    client.force_login(manager)
    too_large = PDF + b"0" * (settings.MAX_DOCUMENT_SIZE + 1 - len(PDF))

    response = post_document(client, complete_ads, "arrete.pdf", too_large)

    assert response.status_code == 200
    assert "Ce fichier dépasse la taille maximale autorisée de 1 Mo." in response.content.decode()
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_file_at_the_size_limit_is_accepted(client, manager, complete_ads, settings):
    settings.MAX_DOCUMENT_SIZE = 1024 * 1024
    client.force_login(manager)
    at_limit = PDF + b"0" * (settings.MAX_DOCUMENT_SIZE - len(PDF))

    response = post_document(client, complete_ads, "arrete.pdf", at_limit)

    assert response.status_code == 302
    assert ADSDocument.objects.get().size == settings.MAX_DOCUMENT_SIZE


def test_an_empty_file_is_refused(client, manager, complete_ads, settings):
    client.force_login(manager)

    response = post_document(client, complete_ads, "arrete.pdf", b"")

    assert response.status_code == 200
    assert "Le fichier est vide : choisissez un autre fichier." in response.content.decode()
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []


def test_a_missing_file_or_kind_is_refused(client, manager, complete_ads):
    client.force_login(manager)

    response = client.post(reverse("ads:document_create", args=[complete_ads.pk]), {"kind": ""})

    assert response.status_code == 200
    assert "Choisissez le fichier à déposer." in response.content.decode()
    assert not ADSDocument.objects.exists()


def test_delete_asks_for_confirmation_then_removes_the_document_and_its_file(
    client, manager, complete_ads, document, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    stored_path = Path(document.file.path)
    url = reverse("ads:document_delete", args=[document.pk])

    detail = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert url in detail

    confirmation = client.get(url)
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert page.count("<h1") == 1
    assert "Supprimer le document « renouvellement.pdf » ?" in page
    assert "csrfmiddlewaretoken" in page
    assert ADSDocument.objects.filter(pk=document.pk).exists()
    assert stored_path.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("ads:detail", args=[complete_ads.pk])
    assert not ADSDocument.objects.filter(pk=document.pk).exists()
    assert not stored_path.exists()
    detail = client.get(response["Location"]).content.decode()
    assert "Le document « renouvellement.pdf » a été supprimé." in detail
    assert "Aucun document déposé." in detail
    history = client.get(reverse("ads:history", args=[complete_ads.pk])).content.decode()
    assert "Suppression du document « Arrêté de renouvellement – renouvellement.pdf »" in history
    assert "Document – suppression : Arrêté de renouvellement – renouvellement.pdf" in history


def test_a_document_of_a_deleted_ads_is_out_of_reach(client, manager, complete_ads, document):
    complete_ads.deleted_at = timezone.now()
    complete_ads.save()
    client.force_login(manager)

    assert client.get(reverse("ads:document_create", args=[complete_ads.pk])).status_code == 404
    assert client.get(reverse("ads:document_download", args=[document.pk])).status_code == 404


# --- who may reach the documents of an ADS --------------------------------------------


@pytest.mark.parametrize(
    "url_name", ["ads:document_download", "ads:document_delete"], ids=["download", "delete"]
)
def test_anonymous_visitor_is_sent_to_login(client, document, url_name):
    url = reverse(url_name, args=[document.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_visitor_cannot_upload(client, complete_ads, settings):
    url = reverse("ads:document_create", args=[complete_ads.pk])

    response = client.post(url, {"kind": "attribution", "file": upload("a.pdf", PDF)})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert not ADSDocument.objects.exists()
    assert stored_files(settings) == []


def test_another_communes_manager_gets_404_everywhere(
    client, other_manager, complete_ads, document
):
    client.force_login(other_manager)

    assert client.get(reverse("ads:document_download", args=[document.pk])).status_code == 404
    assert client.get(reverse("ads:document_delete", args=[document.pk])).status_code == 404
    assert client.post(reverse("ads:document_delete", args=[document.pk])).status_code == 404
    assert client.get(reverse("ads:document_create", args=[complete_ads.pk])).status_code == 404
    assert post_document(client, complete_ads).status_code == 404
    assert list(ADSDocument.objects.all()) == [document]


def test_national_staff_may_download(client, staff, document):
    client.force_login(staff)

    response, body = download(client, "ads:document_download", document.pk)

    assert response.status_code == 200
    assert body == PDF


def test_a_locked_register_can_be_read_but_not_changed(
    client, manager, nimes, complete_ads, document, settings
):
    nimes.is_locked = True
    nimes.save()
    client.force_login(manager)
    files_before = stored_files(settings)

    assert client.get(reverse("ads:document_create", args=[complete_ads.pk])).status_code == 403
    assert post_document(client, complete_ads).status_code == 403
    assert client.get(reverse("ads:document_delete", args=[document.pk])).status_code == 403
    assert client.post(reverse("ads:document_delete", args=[document.pk])).status_code == 403
    assert download(client, "ads:document_download", document.pk)[1] == PDF
    assert list(ADSDocument.objects.all()) == [document]
    assert stored_files(settings) == files_before
    detail = client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode()
    assert reverse("ads:document_delete", args=[document.pk]) not in detail
    assert reverse("ads:document_create", args=[complete_ads.pk]) not in detail


# --- the decree fixing the number of ADS -----------------------------------------------


def test_manager_files_the_decree_fixing_the_number_of_ads(client, manager, nimes):
    client.force_login(manager)
    url = reverse("ads:decree_create", args=[nimes.pk])

    page = client.get(url).content.decode()
    assert page.count("<h1") == 1
    assert "<title>Déposer un arrêté fixant le nombre d’ADS – Nîmes" in page
    assert 'enctype="multipart/form-data"' in page

    response = client.post(
        url,
        {"date": "2022-01-10", "ads_count": "42", "file": upload("Arrêté nombre ADS.pdf", PDF)},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("ads:authority", args=[nimes.pk])
    decree = AuthorityDecree.objects.get(authority=nimes)
    assert (decree.date, decree.ads_count) == (datetime.date(2022, 1, 10), 42)
    assert decree.original_name == "Arrêté nombre ADS.pdf"
    assert decree.uploaded_by == manager
    assert decree.file.name.startswith(f"arretes/{nimes.pk}/")
    dashboard = client.get(response["Location"]).content.decode()
    assert "L’arrêté du 10/01/2022 a été déposé." in dashboard
    assert "Arrêté du 10/01/2022 (42 ADS)" in dashboard

    response, body = download(client, "ads:decree_download", decree.pk)
    assert response.status_code == 200
    assert body == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")


def test_a_bad_decree_file_is_refused(client, manager, nimes, settings):
    client.force_login(manager)

    response = client.post(
        reverse("ads:decree_create", args=[nimes.pk]),
        {"date": "2022-01-10", "ads_count": "42", "file": upload("arrete.pdf", b"MZ\x90\x00")},
    )

    assert response.status_code == 200
    assert NOT_ACCEPTED in response.content.decode()
    assert not AuthorityDecree.objects.exists()
    assert stored_files(settings) == []


def test_a_decree_dated_in_the_future_is_refused(client, manager, nimes):
    client.force_login(manager)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post(
        reverse("ads:decree_create", args=[nimes.pk]),
        {"date": tomorrow.isoformat(), "ads_count": "42", "file": upload("arrete.pdf", PDF)},
    )

    assert response.status_code == 200
    assert "Cette date ne peut pas être dans le futur." in response.content.decode()
    assert not AuthorityDecree.objects.exists()


def test_another_authoritys_decree_is_out_of_reach(client, other_manager, nimes, decree):
    client.force_login(other_manager)

    assert client.get(reverse("ads:decree_download", args=[decree.pk])).status_code == 404
    assert client.get(reverse("ads:decree_create", args=[nimes.pk])).status_code == 404


def test_anonymous_visitor_cannot_reach_decrees(client, nimes, decree):
    for url in (
        reverse("ads:decree_download", args=[decree.pk]),
        reverse("ads:decree_create", args=[nimes.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_a_locked_authority_cannot_file_a_decree(client, manager, nimes, decree):
    nimes.is_locked = True
    nimes.save()
    client.force_login(manager)

    assert client.get(reverse("ads:decree_create", args=[nimes.pk])).status_code == 403
    assert download(client, "ads:decree_download", decree.pk)[1] == PDF
