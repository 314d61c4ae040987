"""End-to-end: a mairie employee declares an ADS in a real browser (Debian's Chromium)."""

import os
import shutil

import pytest

from mesads.ads.models import ADS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # test itself are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(base_url=live_server.url)
        yield page
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


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
