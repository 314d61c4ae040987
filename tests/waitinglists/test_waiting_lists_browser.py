"""End-to-end, in Chromium: the manager of Nîmes takes an application onto the list from
the authority's page, then attributes an ADS from it; anyone reads the public list."""

import os

import pytest

from mesads.ads.models import ADS
from mesads.waitinglists.models import Application
from tests.support.browser import CHROMIUM

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_manager_takes_an_application_and_attributes_an_ads(page, manager, nimes, gard):
    page.goto("/compte/connexion/")
    page.get_by_role("textbox", name="Adresse électronique").fill("gestionnaire@nimes.fr")
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"/gestionnaires/{nimes.pk}/")
    page.get_by_role("link", name="Voir la liste d’attente").click()
    page.get_by_role("heading", name="La liste d’attente de Nîmes").wait_for()
    page.get_by_role("link", name="Inscrire une demande").click()

    page.get_by_label("Nom et prénom du demandeur").fill("Léa Fabre")
    page.get_by_label("Adresse électronique").fill("lea@example.fr")
    page.get_by_label("Numéro de carte professionnelle").fill("CP-30-1234")
    page.get_by_label("Département de délivrance de la carte").select_option(label="30 – Gard")
    page.get_by_text("justifie de 2 ans de conduite").click()
    page.get_by_role("button", name="Enregistrer").click()

    page.get_by_role("heading", name="Demande n° 1").wait_for()
    assert "est inscrite sur la liste d’attente" in page.content()
    application = Application.objects.get()
    assert application.proves_driving_experience

    shots = os.environ.get("E2E_SCREENSHOT_DIR", "/tmp")
    page.screenshot(path=f"{shots}/mesads-waitinglist-detail.png", full_page=True)
    page.get_by_role("link", name="Attribuer une ADS").click()
    page.get_by_label("Numéro de la nouvelle ADS").fill("N-1")
    page.get_by_text("Je certifie l’exactitude des informations de la nouvelle ADS").click()
    page.get_by_role("button", name="Créer l’ADS et retirer la demande de la liste").click()

    page.get_by_role("heading", name="ADS attribuée le", exact=False).wait_for()
    page.screenshot(path=f"{shots}/mesads-waitinglist-attributed.png", full_page=True)
    ads = ADS.objects.get(number="N-1")
    assert ads.holder_name == "Léa Fabre"
    application.refresh_from_db()
    assert application.state == Application.State.ATTRIBUTED

    # The public list: no login, no name.
    page.context.clear_cookies()
    page.goto("/listes-d-attente/?q=N%C3%AEmes")
    page.get_by_role("link", name="Nîmes").click()
    page.get_by_role("heading", name="La liste d’attente de Nîmes").wait_for()
    assert "Léa Fabre" not in page.content()
    assert "Aucune demande n’est en cours sur cette liste." in page.content()
