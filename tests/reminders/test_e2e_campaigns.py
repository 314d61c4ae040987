"""End-to-end: a prefecture agent reminds the communes of its département that have
declared nothing, in a real browser (Debian's Chromium): write, preview, confirm."""

import os

import pytest
from django.core import mail

from mesads.reminders.models import CampaignRecipient
from tests.conftest import _commune_authority
from tests.support.browser import CHROMIUM

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_an_agent_prepares_previews_and_sends_a_campaign(
    page,
    prefecture_agent,
    other_manager,
    gard,
):
    _commune_authority("30032", "Beaucaire", gard)  # no manager: the agent is told
    page.goto("/compte/connexion/")
    page.get_by_role("textbox", name="Adresse électronique").fill("agent@gard.gouv.fr")
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("link", name="Relances").first.click()
    page.get_by_role("link", name="Préparer une campagne").click()
    page.get_by_label("Gestionnaires visés").select_option("jamais")
    page.get_by_role("button", name="Voir l’aperçu").click()

    page.get_by_role("heading", name="Confirmer l’envoi").wait_for()
    text = page.content()
    assert "2 gestionnaires d’ADS" in text  # Alès and Beaucaire
    assert "aucune déclaration pour Alès" in text  # the preview
    assert mail.outbox == []
    page.get_by_role("button", name="Envoyer à 2 destinataires").click()

    page.get_by_role("heading", name="Résultats").wait_for()
    assert "La campagne est en cours d’envoi" in page.content()
    assert sorted(m.to[0] for m in mail.outbox) == ["agent@gard.gouv.fr", "gestionnaire@ales.fr"]
    assert CampaignRecipient.objects.filter(status="sent").count() == 2
