"""Renewing a new-regime ADS, as the mairie's manager lives it.

An ADS created after 1 October 2014 is valid five years. When it is renewed, the manager
does not retype a date in the edit form: « Renouveler l’ADS » on its page asks for the
date and a confirmation, records it in one revision that the history calls
« Renouvellement », then offers the renewal decree to sign and file.
"""

import datetime
import io
import os

import pytest
import reversion
from django.urls import reverse
from django.utils import timezone
from docx import Document
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from tests.support.browser import CHROMIUM

pytestmark = pytest.mark.django_db


def years_ago(years: int) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=min(today.day, 28))


@pytest.fixture
def overdue_ads(nimes) -> ADS:
    """Created seven years ago, never renewed: its renewal is overdue."""
    ads = ADS.objects.create(
        authority=nimes,
        number="N-3",
        creation_date=years_ago(7),
        holder_name="Léa Dubois",
        holder_siret="44306184100047",
        vehicle_plate="EF-456-GH",
        vehicle_pmr=True,
        vehicle_low_emission=True,
    )
    Driver.objects.create(
        ads=ads, status=Driver.Status.TITULAIRE, name="Léa Dubois", card_number="CP-30-7"
    )
    with reversion.create_revision():
        reversion.add_to_revision(ads)
        reversion.set_comment("Création")
    return ads


def renew(client, ads: ADS, day: datetime.date | str):
    value = day.isoformat() if isinstance(day, datetime.date) else day
    return client.post(reverse("lifecycle:ads_renew", args=[ads.pk]), {"date": value})


def test_the_manager_renews_an_overdue_ads(client, manager, overdue_ads):
    client.force_login(manager)
    detail = client.get(reverse("ads:detail", args=[overdue_ads.pk])).content.decode()
    assert "Renouvellement dépassé" in detail
    assert reverse("lifecycle:ads_renew", args=[overdue_ads.pk]) in detail

    confirmation = client.get(reverse("lifecycle:ads_renew", args=[overdue_ads.pk]))
    content = confirmation.content.decode()
    assert "<h1>Renouveler l’ADS n° N-3</h1>" in content
    assert f"son renouvellement est dû le {overdue_ads.renewal_due_date:%d/%m/%Y}" in content
    assert "Confirmer le renouvellement</button>" in content
    overdue_ads.refresh_from_db()
    assert overdue_ads.last_renewal_date is None  # the page alone changes nothing
    versions = Version.objects.get_for_object(overdue_ads).count()

    today = timezone.localdate()
    response = renew(client, overdue_ads, today)

    assert response.status_code == 302
    assert response.url == reverse("lifecycle:ads_decree", args=[overdue_ads.pk, "renouvellement"])
    overdue_ads.refresh_from_db()
    assert overdue_ads.last_renewal_date == today
    assert not overdue_ads.is_renewal_overdue()
    assert Version.objects.get_for_object(overdue_ads).count() == versions + 1

    decree_page = client.get(response.url)
    assert "est renouvelée jusqu’au" in " ".join(str(m) for m in decree_page.context["messages"])
    assert reverse("ads:document_create", args=[overdue_ads.pk]) in decree_page.content.decode()

    history = client.get(reverse("ads:history", args=[overdue_ads.pk])).content.decode()
    assert "Camille : Renouvellement de l’ADS pour cinq ans" in history
    assert f"<td>Date du dernier renouvellement</td><td>—</td><td>{today:%d/%m/%Y}</td>" in history

    docx = client.get(reverse("lifecycle:ads_decree_docx", args=[overdue_ads.pk, "renouvellement"]))
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "est renouvelée pour une durée de cinq ans à compter du" in text
    assert "Léa Dubois (SIRET 443 061 841 00047)" in text

    detail = client.get(reverse("ads:detail", args=[overdue_ads.pk])).content.decode()
    assert "Renouvellement dépassé" not in detail


def test_an_old_regime_ads_is_not_renewed(client, manager, complete_ads):
    client.force_login(manager)
    content = client.get(reverse("lifecycle:ads_renew", args=[complete_ads.pk])).content.decode()
    assert "Cette ADS ne se renouvelle pas" in content
    assert "Confirmer le renouvellement</button>" not in content

    response = renew(client, complete_ads, timezone.localdate())

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Seule une ADS créée à partir du 1er octobre 2014 se renouvelle : celle-ci n’est pas "
        "limitée dans le temps."
    ]
    complete_ads.refresh_from_db()
    assert complete_ads.last_renewal_date is None


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2999-01-01", "Cette date ne peut pas être dans le futur."),
        ("2014-01-01", "La date de renouvellement ne peut pas précéder la date de création"),
        ("", "Ce champ est obligatoire."),
        ("hier", "Saisissez une date valide."),
    ],
    ids=["future", "before-creation", "missing", "not-a-date"],
)
def test_a_wrong_date_is_said_on_its_field(client, manager, overdue_ads, day, message):
    client.force_login(manager)
    response = renew(client, overdue_ads, day)
    assert response.status_code == 200
    errors = response.context["form"].errors["date"]
    assert any(message in error for error in errors), errors
    overdue_ads.refresh_from_db()
    assert overdue_ads.last_renewal_date is None


def test_a_renewal_follows_the_previous_one(client, manager, overdue_ads):
    overdue_ads.last_renewal_date = years_ago(2)
    overdue_ads.save()
    client.force_login(manager)
    response = renew(client, overdue_ads, years_ago(3))
    assert response.context["form"].errors["date"] == [
        f"L’ADS a déjà été renouvelée le {years_ago(2):%d/%m/%Y} : le nouveau renouvellement "
        "doit être postérieur."
    ]


def test_renewing_bumps_the_version_an_edit_opened_before_compares_with(
    client, manager, overdue_ads
):
    client.force_login(manager)
    version = overdue_ads.version
    renew(client, overdue_ads, timezone.localdate())
    overdue_ads.refresh_from_db()
    assert overdue_ads.version == version + 1


def test_read_only_roles_and_other_authorities_cannot_renew(
    client, inspector, prefecture_agent, other_manager, overdue_ads
):
    for user, status in ((inspector, 403), (prefecture_agent, 403), (other_manager, 404)):
        client.force_login(user)
        assert renew(client, overdue_ads, timezone.localdate()).status_code == status
    overdue_ads.refresh_from_db()
    assert overdue_ads.last_renewal_date is None


# --- in a real browser ----------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_manager_renews_then_downloads_the_decree(page, manager, overdue_ads):
    page.goto("/compte/connexion/")
    page.get_by_role("textbox", name="Adresse électronique").fill("gestionnaire@nimes.fr")
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(reverse("ads:detail", args=[overdue_ads.pk]))

    page.get_by_role("link", name="Renouveler l’ADS").click()
    page.get_by_role("heading", name="Renouveler l’ADS n° N-3").wait_for()
    page.get_by_role("button", name="Confirmer le renouvellement").click()

    page.get_by_role("heading", name="Arrêté de renouvellement d’une ADS – ADS n° N-3").wait_for()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger l’arrêté (Word, .docx)").click()
    download = download_info.value
    assert download.suggested_filename == "arrete-renouvellement-ads-n-3.docx"
    text = "\n".join(p.text for p in Document(download.path()).paragraphs)
    assert f"à compter du {timezone.localdate().day}" in text.replace("1er", "1")
    overdue_ads.refresh_from_db()
    assert overdue_ads.last_renewal_date == timezone.localdate()
    assert page.get_by_role("link", name="Déposer l’arrêté signé (PDF)").is_visible()
