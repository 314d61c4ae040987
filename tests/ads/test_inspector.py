"""The read-only inspector (police, CPAM), granted a département by national staff.

An inspector of the Gard searches and reads every ADS of the Gard — lists, records,
history, documents — and can change nothing: every write is a 403, whether the form is
opened or posted. The Hérault's inspector does not even learn that the Nîmes ADS exist.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mesads.ads.documents import add_ads_document
from mesads.ads.models import ADS, ADSDocument

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def document(complete_ads, manager) -> ADSDocument:
    return add_ads_document(
        ADSDocument(ads=complete_ads, kind=ADSDocument.Kind.ATTRIBUTION),
        SimpleUploadedFile("attribution.pdf", PDF, content_type="application/pdf"),
        manager,
    )


@pytest.fixture
def reads(nimes, complete_ads, document) -> dict[str, tuple[str, str]]:
    """Each page an inspector may open, with what it must show."""
    return {
        "dashboard": (reverse("ads:authority", args=[nimes.pk]), "<h1>Nîmes</h1>"),
        "list": (reverse("ads:list", args=[nimes.pk]), "Taxi Arènes SARL"),
        "search": (reverse("ads:list", args=[nimes.pk]) + "?q=AB-123-CD", "ADS n° 12</a>"),
        "detail": (reverse("ads:detail", args=[complete_ads.pk]), "CP-30-0001"),
        "history": (
            reverse("ads:history", args=[complete_ads.pk]),
            "<h1>Historique de l’ADS n° 12</h1>",
        ),
        "document": (reverse("ads:document_download", args=[document.pk]), ""),
    }


@pytest.fixture
def writes(nimes, complete_ads, document) -> dict[str, str]:
    return {
        "create": reverse("ads:create", args=[nimes.pk]),
        "edit": reverse("ads:edit", args=[complete_ads.pk]),
        "delete": reverse("ads:delete", args=[complete_ads.pk]),
        "declaration": reverse("ads:declaration", args=[nimes.pk]),
        "document upload": reverse("ads:document_create", args=[complete_ads.pk]),
        "document delete": reverse("ads:document_delete", args=[document.pk]),
        "decree upload": reverse("ads:decree_create", args=[nimes.pk]),
    }


def test_an_inspector_reads_every_ads_of_her_departement(client, inspector, reads):
    client.force_login(inspector)
    for name, (url, content) in reads.items():
        response = client.get(url)
        assert response.status_code == 200, name
        if content:
            assert content in response.content.decode(), name


def test_an_inspector_sees_the_authorities_of_her_departement(
    client, inspector, nimes, ales, montpellier
):
    client.force_login(inspector)
    listing = client.get(reverse("ads:authorities")).content.decode()
    assert "Nîmes" in listing and "Alès" in listing
    assert "Montpellier" not in listing


def test_every_write_is_refused_to_an_inspector(
    client, inspector, writes, complete_ads, document, nimes
):
    client.force_login(inspector)
    for name, url in writes.items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"comment": "Contrôle", "attest": "on"}).status_code == 403, name

    # And nothing changed.
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is None
    assert complete_ads.holder_name == "Taxi Arènes SARL"
    assert ADSDocument.objects.filter(pk=document.pk).exists()
    assert ADS.objects.filter(authority=nimes).count() == 1
    nimes.refresh_from_db()
    assert not nimes.declares_no_ads


def test_the_refusal_says_why(client, inspector, writes):
    client.force_login(inspector)
    response = client.get(writes["edit"])
    assert "Vous pouvez consulter ce registre mais pas le modifier." in response.content.decode()


def test_an_inspector_restores_nothing(client, inspector, complete_ads):
    client.force_login(inspector)
    assert client.post(reverse("ads:restore", args=[complete_ads.pk])).status_code == 404


def test_an_inspector_decides_no_access(client, inspector, pending_user, nimes):
    client.force_login(inspector)
    assert client.get(reverse("access:requests")).status_code == 404
    assert client.get(reverse("access:act_as_manager", args=[nimes.pk])).status_code == 404


def test_another_departement_s_inspector_gets_404_everywhere(
    client, other_inspector, reads, writes
):
    client.force_login(other_inspector)
    for name, (url, _content) in reads.items():
        assert client.get(url).status_code == 404, name
    for name, url in writes.items():
        assert client.get(url).status_code == 404, name
        assert client.post(url, {"comment": "Contrôle"}).status_code == 404, name


def test_read_only_pages_offer_no_button_to_change_anything(
    client, inspector, nimes, complete_ads, writes
):
    client.force_login(inspector)
    pages = [
        client.get(reverse("ads:authority", args=[nimes.pk])).content.decode(),
        client.get(reverse("ads:list", args=[nimes.pk])).content.decode(),
        client.get(reverse("ads:detail", args=[complete_ads.pk])).content.decode(),
    ]
    for name, url in writes.items():
        for html in pages:
            assert f'href="{url}"' not in html, name
