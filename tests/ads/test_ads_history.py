"""Every change to an ADS is kept: who, when, what changed field by field, and why."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS
from tests.ads.test_ads_edit import declare, edit

pytestmark = pytest.mark.django_db


def entries(response) -> list[str]:
    """The history's entries as shown, newest first, each as its text without tags."""
    assert response.status_code == 200
    html = response.content.decode()
    items = re.findall(
        r'<li class="fr-mb-3w">(.*?)</li>\s*(?=<li class="fr-mb-3w">|</ol>)', html, re.S
    )
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in items]


@pytest.fixture
def story(client, manager, nimes) -> ADS:
    """Declared, then the holder changes, a driver joins, then another leaves."""
    client.force_login(manager)
    declare(
        client,
        nimes,
        holder_name="Taxi Arènes",
        comment="Reprise du registre papier",
        **{
            "drivers-0-status": "salarie",
            "drivers-0-name": "Jean Martin",
            "drivers-0-siret": "",
            "drivers-0-lease_start_date": "",
        },
    )
    ads = ADS.objects.get(number="7")
    edit(client, ads, holder_name="Taxi Costières", comment="Cession du fonds")
    edit(
        client,
        ads,
        comment="Embauche",
        **{
            "drivers-1-status": "salarie",
            "drivers-1-name": "Paul Durand",
            "drivers-1-card_number": "CP-30-0077",
        },
    )
    edit(client, ads, comment="Départ", **{"drivers-0-DELETE": "on"})
    return ads


def test_the_history_tells_the_story_newest_first(client, story):
    response = client.get(reverse("ads:history", args=[story.pk]))

    page = response.content.decode()
    assert "<h1>Historique de l’ADS n° 7</h1>" in page
    assert page.count("<h1") == 1
    departure, hiring, sale, creation = entries(response)
    assert "Camille : Départ" in departure
    assert "Conducteur – suppression : Jean Martin (Salarié)" in departure
    assert "Champs modifiés" not in departure
    assert "Camille : Embauche" in hiring
    assert "Conducteur – ajout : Paul Durand (Salarié)" in hiring
    assert "Camille : Cession du fonds" in sale
    assert "Nom du titulaire Taxi Arènes Taxi Costières" in sale
    assert "Conducteur" not in sale
    assert "Camille : Reprise du registre papier" in creation
    assert "Enregistrement de l’ADS dans le registre." in creation
    assert "Conducteur – ajout : Jean Martin (Salarié)" in creation


def test_a_field_change_shows_its_label_and_both_values(client, story):
    page = client.get(reverse("ads:history", args=[story.pk])).content.decode()

    assert "<tr><td>Nom du titulaire</td><td>Taxi Arènes</td><td>Taxi Costières</td></tr>" in page


def test_values_are_shown_in_french(client, manager, story):
    edit(
        client,
        story,
        vehicle_pmr="false",
        cpam_agreement=None,
        creation_date="2008-05-01",
        holder_email="",
        comment="Corrections",
    )

    newest = entries(client.get(reverse("ads:history", args=[story.pk])))[0]

    assert "Véhicule accessible aux personnes en fauteuil roulant Oui Non" in newest
    assert "Taxi conventionné CPAM Oui Non" in newest
    assert "Date de création de l’ADS 01/04/2008 01/05/2008" in newest
    assert "Adresse électronique du titulaire contact@taxi-gardon.fr —" in newest


def test_a_driver_change_is_detailed(client, story):
    edit(client, story, **{"drivers-0-card_number": "CP-30-0078"})

    newest = entries(client.get(reverse("ads:history", args=[story.pk])))[0]

    assert (
        "Conducteur – modification : Paul Durand (Salarié) "
        "(Numéro de carte professionnelle : « CP-30-0077 » → « CP-30-0078 »)" in newest
    )


def test_deleting_and_restoring_are_recorded(client, staff, story):
    client.post(reverse("ads:delete", args=[story.pk]), {"comment": "Doublon"})
    story.refresh_from_db()
    # The time of deletion as people read it in Nîmes, not as stored (UTC).
    deleted_at = timezone.localtime(story.deleted_at).strftime("%d/%m/%Y %H:%M")
    client.force_login(staff)
    client.post(reverse("ads:restore", args=[story.pk]))

    restored, deleted, *_ = entries(client.get(reverse("ads:history", args=[story.pk])))

    assert "Dominique : Restauration de l’ADS supprimée" in restored
    assert f"Supprimée le {deleted_at} —" in restored
    assert "Camille : Suppression : Doublon" in deleted
    assert f"Supprimée le — {deleted_at}" in deleted
    story.refresh_from_db()
    assert story.deleted_at is None


def test_staff_read_the_history_of_a_deleted_ads(client, manager, staff, story):
    client.post(reverse("ads:delete", args=[story.pk]), {"comment": "Doublon"})
    url = reverse("ads:history", args=[story.pk])
    assert client.get(url).status_code == 404

    client.force_login(staff)
    response = client.get(url)

    assert "Restaurer cette ADS supprimée" in response.content.decode()
    assert len(entries(response)) == 5


def test_an_ads_written_without_history_says_so(client, manager, complete_ads):
    client.force_login(manager)

    response = client.get(reverse("ads:history", args=[complete_ads.pk]))

    assert "Aucune modification enregistrée pour cette ADS." in response.content.decode()
