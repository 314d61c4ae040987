"""In a real browser: an owner signs up, confirms the address, declares the company and a
vehicle, gets its number and downloads the receipt."""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests.support.browser import needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_owner_journey(page, gard, nimes, mailoutbox):
    page.goto("/")
    page.get_by_role("link", name="Taxis relais", exact=True).first.click()
    page.get_by_role("heading", name="Registre des taxis relais").wait_for()
    page.get_by_role("link", name="Créez un compte").click()
    page.locator("#id_email").fill("loueur@relais.example")
    page.locator("#id_password1").fill("un-mot-de-passe-solide")
    page.locator("#id_password2").fill("un-mot-de-passe-solide")
    page.get_by_role("button", name="Créer mon compte").click()
    page.get_by_role("heading", name="Confirmez votre adresse électronique").wait_for()

    [mail] = mailoutbox
    link = re.search(r"https?://\S+/taxis-relais/inscription/confirmer/\S+/", mail.body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    page.locator("#id_password").fill("un-mot-de-passe-solide")
    page.get_by_role("button", name="Activer mon compte").click()
    page.get_by_role("heading", name="Mon espace propriétaire de taxis relais").wait_for()
    assert "Votre adresse est confirmée" in page.content()

    page.get_by_role("link", name="Déclarer une entreprise").click()
    page.locator("#id_name").fill("Loueur du Gard")
    page.locator("#id_siret").fill("732 829 320 00074")
    page.locator("#id_address").fill("1 place de l’Horloge, 30000 Nîmes")
    page.locator("#id_phone").fill("04 66 12 34 56")
    page.locator("#id_email").fill("contact@loueur.example")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", name="Loueur du Gard").wait_for()

    page.get_by_role("link", name="Inscrire un véhicule").click()
    page.locator("#id_departement").select_option(label="30 – Gard")
    page.locator("#id_plate").fill("gh 321 jk")
    page.locator("#id_make").fill("Skoda")
    page.locator("#id_model").fill("Superb")
    page.locator("#id_engine").select_option(label="Hybride")
    page.locator("#id_first_registration_date").fill("2023-05-02")
    page.locator("#id_seats").fill("4")
    page.locator("#id_commune_code").fill("30189")
    page.get_by_role("button", name="Inscrire le véhicule").click()
    page.get_by_role("heading", name="Taxi relais n° 30-01").wait_for()
    assert "inscrit sous le numéro 30-01" in page.content()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le récépissé (PDF)").click()
    pdf = PdfReader(io.BytesIO(open(download_info.value.path(), "rb").read()))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "TAXI RELAIS n° 30-01" in text and "GH-321-JK" in text and "Loueur du Gard" in text

    # The public register lists it with the company's contact.
    page.goto("/taxis-relais/departement/30/")
    assert "GH-321-JK" in page.content() and "contact@loueur.example" in page.content()


def test_relay_pages_have_no_serious_accessibility_violation(
    page, owner_a, vehicle_a, prefecture_agent, live_server
):
    from tests.core.test_e2e_accessibility import audit

    public = [
        reverse("relais:public_index"),
        reverse("relais:public_register", args=["30"]),
        reverse("relais:signup"),
    ]
    found = audit(page, public)
    user, owner = owner_a
    for person, urls in (
        (
            user,
            [
                reverse("relais:space"),
                reverse("relais:owner", args=[owner.pk]),
                reverse("relais:vehicle_create", args=[owner.pk]),
                reverse("relais:vehicle", args=[vehicle_a.pk]),
                reverse("relais:use_create", args=[vehicle_a.pk]),
            ],
        ),
        (
            prefecture_agent,
            [
                reverse("relais:prefecture_register", args=["30"]),
                reverse("relais:prefecture_vehicle", args=[vehicle_a.pk]),
                reverse("relais:prefecture_import", args=["30"]),
                reverse("relais:control") + "?immatriculation=AB-123-CD",
            ],
        ),
    ):
        page.context.clear_cookies()
        page.goto(reverse("login"))
        page.get_by_role("textbox", name="Adresse électronique").fill(person.email)
        page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/compte/connexion/" not in url)
        found += audit(page, urls)
        assert "/compte/connexion/" not in page.url  # the pages were seen logged in
    assert found == []
