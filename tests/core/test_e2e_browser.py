"""End-to-end: a mairie employee declares an ADS in a real browser (Debian's Chromium)."""

import os

import pytest

from mesads.ads.models import ADS
from tests.support.browser import CHROMIUM

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_manager_logs_in_and_declares_an_ads(page, manager, nimes):
    page.goto("/compte/connexion/")
    page.get_by_role("textbox", name="Adresse électronique").fill("GESTIONNAIRE@nimes.fr")
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("link", name="Accéder à mes gestionnaires d’ADS").click()
    page.get_by_role("link", name="Nîmes").click()
    page.get_by_role("link", name="Déclarer une ADS").first.click()

    page.get_by_label("Numéro de l’ADS").fill("42")
    page.get_by_label("Date de création de l’ADS").fill("2018-04-03")
    page.get_by_label("Nom du titulaire").fill("Léa Fabre")
    page.get_by_label("SIRET du titulaire").fill("732 829 320 00074")
    page.get_by_label("Immatriculation du véhicule").fill("ab 123 cd")
    page.get_by_label("Nom et prénom").fill("Léa Fabre")
    page.get_by_label("Statut").select_option("titulaire_exploitant")
    # The design system draws the box over the label: a person clicks the label.
    page.get_by_text("Je certifie l’exactitude des informations saisies").click()
    page.get_by_role("button", name="Enregistrer").click()

    page.get_by_role("heading", name="ADS n° 42").wait_for()
    assert "L’ADS n° 42 a été enregistrée" in page.content()
    # PMR / low emission and the driver's card are not given: the page says what is missing.
    assert "À compléter" in page.content()
    ads = ADS.objects.get(authority=nimes, number="42")
    assert ads.vehicle_plate == "AB-123-CD"
    assert ads.holder_siret == "73282932000074"
    assert ads.drivers.get().name == "Léa Fabre"

    page.get_by_role("link", name="Historique").click()
    assert "Création" in page.content()
    page.screenshot(path=str(os.environ.get("E2E_SCREENSHOT", "/tmp/mesads-e2e.png")))


def _login(page, email: str) -> None:
    page.context.clear_cookies()
    page.goto("/compte/connexion/")
    page.get_by_role("textbox", name="Adresse électronique").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.django_db(transaction=True)
def test_from_access_request_to_recertification(page, nimes, prefecture_agent, mailoutbox):
    """A new user asks for Nîmes, the Gard prefecture accepts, the user declares an ADS and
    attests it, the prefecture certifies it, and an edit makes it « à recertifier »."""
    from mesads.users.models import User

    User.objects.create_user("nouvelle@nimes.fr", "mot-de-passe-de-test", first_name="Inès")

    # The newcomer asks to manage Nîmes.
    _login(page, "nouvelle@nimes.fr")
    page.goto("/acces/demander/")
    page.get_by_label("Commune, EPCI, préfecture ou aéroport").fill("Nîmes")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Demander l’accès à Nîmes").click()
    page.get_by_text("J’atteste travailler pour Nîmes").click()
    page.get_by_role("button", name="Envoyer ma demande").click()
    assert "agent@gard.gouv.fr" in [m.to[0] for m in mailoutbox]

    # The Gard prefecture accepts.
    _login(page, "agent@gard.gouv.fr")
    page.goto("/acces/demandes/")
    page.get_by_role("link", name="Examiner").first.click()
    page.get_by_role("button", name="Accepter la demande").click()
    assert "nouvelle@nimes.fr" in [m.to[0] for m in mailoutbox]

    # The new manager declares an ADS and attests it.
    _login(page, "nouvelle@nimes.fr")
    page.goto(f"/gestionnaires/{nimes.pk}/ads/nouvelle/")
    page.get_by_label("Numéro de l’ADS").fill("17")
    page.get_by_label("Date de création de l’ADS").fill("2019-09-12")
    page.get_by_label("Nom du titulaire").fill("Inès Taxi")
    page.get_by_label("SIRET du titulaire").fill("73282932000074")
    page.get_by_label("Immatriculation du véhicule").fill("CD-456-EF")
    page.get_by_label("Véhicule accessible aux personnes en fauteuil roulant").select_option(
        "false"
    )
    page.get_by_label("Véhicule à faibles émissions").select_option("true")
    page.get_by_label("Statut").select_option("titulaire_exploitant")
    page.get_by_label("Nom et prénom").fill("Inès Taxi")
    page.get_by_label("Numéro de carte professionnelle").fill("CPT-30-0017")
    page.get_by_text("Je certifie l’exactitude des informations saisies").click()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", name="ADS n° 17").wait_for()
    ads = ADS.objects.get(authority=nimes, number="17")
    assert ads.is_complete and ads.attestation_status == "attestée"

    # The prefecture certifies it.
    _login(page, "agent@gard.gouv.fr")
    page.goto(f"/ads/{ads.pk}/")
    page.get_by_role("button", name="Certifier l’ADS").click()
    ads.refresh_from_db()
    assert ads.certification_status == "certifiée"

    # The manager changes the vehicle: the record must be certified again.
    _login(page, "nouvelle@nimes.fr")
    page.goto(f"/ads/{ads.pk}/modifier/")
    page.get_by_label("Immatriculation du véhicule").fill("GH-789-IJ")
    page.get_by_text("Je certifie l’exactitude des informations saisies").click()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", name="ADS n° 17").wait_for()
    ads.refresh_from_db()
    assert ads.certification_status == "à recertifier"
    assert "À recertifier" in page.content() or "à recertifier" in page.content()
