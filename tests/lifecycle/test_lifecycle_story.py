"""The whole life the issue's « Done when » tells, as the manager of Nîmes lives it:
an application taken onto the waiting list, renewed, an ADS attributed from it, its
attribution decree downloaded filled in and the signed one filed with the ADS; anyone
reads the public list, which says « Attribuée » and nothing personal; then an old ADS
is transferred and its holder changes, with history."""

import datetime
import io

import pytest
import reversion
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from docx import Document
from reversion.models import Version

from mesads.ads.models import ADS, ADSDocument
from mesads.lifecycle.models import Transfer
from mesads.waitinglists.models import Application

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPLICANT = {
    "name": "Léa Fabre",
    "email": "lea.fabre@example.fr",
    "phone": "06 12 34 56 78",
    "card": "CP-30-1234",
}


def test_from_the_waiting_list_to_the_signed_decree_then_a_transfer(
    client, manager, nimes, gard, complete_ads
):
    # The old ADS n° 12, held by its holder since 2008: past the fifteen years.
    with reversion.create_revision():
        complete_ads.attribution_date = datetime.date(2008, 6, 1)
        complete_ads.save()
        reversion.set_comment("Reprise du registre papier")
    client.force_login(manager)
    today = timezone.localdate()

    # 1. The application is taken onto the list.
    registered = timezone.localtime() - datetime.timedelta(days=300)
    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]),
        {
            "number": "",
            "registered_at": registered.strftime("%Y-%m-%dT%H:%M"),
            "applicant_name": APPLICANT["name"],
            "applicant_email": APPLICANT["email"],
            "applicant_phone": APPLICANT["phone"],
            "applicant_address": "3 rue de la Madeleine, 30000 Nîmes",
            "card_number": APPLICANT["card"],
            "card_departement": gard.pk,
            "card_date": "2020-02-03",
            "proves_driving_experience": "on",
            "comment": "",
        },
        follow=True,
    )
    application = Application.objects.get()
    assert response.redirect_chain[-1][0] == reverse("waitinglists:detail", args=[application.pk])
    assert "La demande n° 1 de Léa Fabre est inscrite sur la liste d’attente." in (
        response.content.decode()
    )
    assert application.state == Application.State.ACTIVE
    listed = client.get(reverse("waitinglists:list", args=[nimes.pk])).content.decode()
    assert "Léa Fabre" in listed

    # 2. The applicant renews it: valid one more year from today.
    response = client.post(reverse("waitinglists:renew", args=[application.pk]), follow=True)
    application.refresh_from_db()
    assert application.renewed_at == today
    assert application.valid_until == today.replace(year=today.year + 1)
    assert f"valable jusqu’au {application.valid_until:%d/%m/%Y}" in response.content.decode()
    assert f"Renouvellement de la demande le {today:%d/%m/%Y}" in response.content.decode()

    # 3. The first of the list receives the new ADS n° N-12.
    attribute = reverse("waitinglists:attribute", args=[application.pk])
    assert attribute in client.get(reverse("waitinglists:list", args=[nimes.pk])).content.decode()
    response = client.post(
        attribute,
        {"number": "N-12", "creation_date": today.isoformat(), "attest": "on"},
        follow=True,
    )
    ads = ADS.objects.get(authority=nimes, number="N-12")
    assert (ads.holder_name, ads.creation_date, ads.is_new_regime) == ("Léa Fabre", today, True)
    assert [(d.name, d.card_number) for d in ads.drivers.all()] == [("Léa Fabre", "CP-30-1234")]
    application.refresh_from_db()
    assert (application.state, application.ads) == (Application.State.ATTRIBUTED, ads)
    assert "L’ADS n° N-12 est attribuée à Léa Fabre" in response.content.decode()
    decree_page = reverse("lifecycle:ads_decree", args=[ads.pk, "attribution"])
    assert decree_page in response.content.decode()

    # 4. The attribution decree, filled in from the register.
    page = client.get(decree_page).content.decode()
    download = reverse("lifecycle:ads_decree_docx", args=[ads.pk, "attribution"])
    assert download in page
    decree = client.get(download)
    assert decree.status_code == 200
    assert decree["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    text = "\n".join(p.text for p in Document(io.BytesIO(decree.content)).paragraphs)
    assert "autorisation de stationnement de taxi n° N-12" in text
    assert "Léa Fabre" in text
    assert "article L. 3121-5 du code des transports" in text

    # 5. The signed decree, filed as the ADS's attribution decree.
    upload = reverse("ads:document_create", args=[ads.pk]) + "?type=attribution"
    assert f'href="{upload}"' in page
    assert client.get(upload).context["form"]["kind"].value() == "attribution"
    response = client.post(
        upload,
        {
            "kind": ADSDocument.Kind.ATTRIBUTION,
            "file": SimpleUploadedFile("arrete-signe.pdf", PDF, content_type="application/pdf"),
        },
        follow=True,
    )
    document = ADSDocument.objects.get(ads=ads)
    assert (document.kind, document.original_name) == (
        ADSDocument.Kind.ATTRIBUTION,
        "arrete-signe.pdf",
    )
    with document.file.open("rb") as stored:
        assert stored.read() == PDF
    assert "Arrêté d’attribution – arrete-signe.pdf" in response.content.decode()

    # 6. Anyone reads the public list: « Attribuée », nothing personal.
    client.logout()
    public = client.get(reverse("waitinglists:public_list", args=[nimes.pk]))
    assert public.status_code == 200
    content = public.content.decode()
    assert (
        f'<th scope="row">1</th><td>{timezone.localdate(application.registered_at):%d/%m/%Y}'
        f"</td><td>{timezone.localdate(application.removed_at):%d/%m/%Y}</td><td>Attribuée</td>"
    ) in content
    for secret in ("Léa", "Fabre", "CP-30-1234", "CP301234", APPLICANT["email"], "0612345678"):
        assert secret not in content

    # 7. The old ADS n° 12 is transferred: new holder, one more revision in its history.
    client.force_login(manager)
    revisions = Version.objects.get_for_object(complete_ads).count()
    response = client.post(
        reverse("lifecycle:transfer_create", args=[complete_ads.pk]),
        {
            "date": (today - datetime.timedelta(days=2)).isoformat(),
            "exception": "",
            "buyer_name": "Taxi Gardois SARL",
            "buyer_siret": "443 061 841 00047",
            "price": "135000",
        },
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.ads, transfer.seller_name, transfer.buyer_name) == (
        complete_ads,
        "Taxi Arènes SARL",
        "Taxi Gardois SARL",
    )
    complete_ads.refresh_from_db()
    assert complete_ads.holder_name == "Taxi Gardois SARL"
    assert complete_ads.holder_siret == "44306184100047"
    assert complete_ads.attribution_date == today - datetime.timedelta(days=2)
    assert Version.objects.get_for_object(complete_ads).count() == revisions + 1
    history = client.get(reverse("ads:history", args=[complete_ads.pk])).content.decode()
    assert "Cession de l’ADS à Taxi Gardois SARL" in history
    assert "<td>Nom du titulaire</td><td>Taxi Arènes SARL</td><td>Taxi Gardois SARL</td>" in history
