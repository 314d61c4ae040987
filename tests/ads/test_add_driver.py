"""« Ajouter un conducteur » in the ADS form (issue 10, point 6): a manager adds drivers
without saving first. Without JavaScript the button brings the form back, nothing saved,
with one more row; with it, the row appears in place. A new-regime ADS has only its
holder as driver: no second row is offered there."""

import datetime
import re

import pytest
from django.urls import reverse
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from tests.ads.test_ads_edit import NEW_ADS, form_fields, messages_of
from tests.core.test_e2e_browser import _login
from tests.core.test_e2e_browser import pytestmark as e2e_marks
from tests.core.test_security import csp_directives, script_tags

pytestmark = pytest.mark.django_db

ADD = {"ajouter_conducteur": "1"}
ONE_DRIVER_ONLY = (
    "Une ADS créée à partir du 1er octobre 2014 est exploitée personnellement par son "
    "titulaire : elle ne peut avoir qu’un seul conducteur."
)
DRIVER_FIELDS = ("status", "name", "siret", "card_number", "lease_start_date")
e2e, needs_chromium = e2e_marks


def submitted(response) -> dict[str, str]:
    """What a browser sends with the page's form: not the fields of its <template>."""
    return {
        name: value for name, value in form_fields(response).items() if "__prefix__" not in name
    }


def row(fields: dict[str, str], index: int) -> dict[str, str]:
    return {name: fields[f"drivers-{index}-{name}"] for name in DRIVER_FIELDS}


def assert_no_error_shown(response) -> None:
    html = response.content.decode()
    assert "data-error-summary" not in html
    assert "-desc-error" not in html  # no field's error either
    assert "aria-invalid" not in html
    assert "<title>Erreur" not in html
    assert messages_of(response) == []


@pytest.fixture
def new_regime_ads(nimes) -> ADS:
    """An ADS of 2018: its holder drives it, alone."""
    ads = ADS.objects.create(
        authority=nimes,
        number="30",
        creation_date=datetime.date(2018, 5, 2),
        holder_name="Léa Fabre",
        holder_siret="73282932000074",
    )
    Driver.objects.create(ads=ads, status=Driver.Status.TITULAIRE, name="Léa Fabre")
    return ads


# --- without JavaScript -----------------------------------------------------------------


def test_a_manager_declares_an_ads_with_two_drivers_in_one_go(client, manager, nimes):
    client.force_login(manager)
    url = reverse("ads:create", args=[nimes.pk])
    opened = client.get(url)
    assert 'formaction="#conducteur-2"' in opened.content.decode()
    typed = {**submitted(opened), **NEW_ADS}

    response = client.post(url, {**typed, **ADD})

    assert response.status_code == 200
    assert not ADS.objects.exists()
    shown = submitted(response)
    assert {name: shown[name] for name in NEW_ADS} == NEW_ADS  # all that was typed, kept
    assert shown["drivers-TOTAL_FORMS"] == "2"
    assert set(row(shown, 1).values()) == {""}
    assert_no_error_shown(response)
    html = response.content.decode()
    # The browser lands on the new row (the address the button sent the form to ends with
    # its id); the button now points to the next one.
    assert '<fieldset class="fr-fieldset fr-p-2w fr-mb-2w mesads-driver" id="conducteur-2"' in html
    assert 'formaction="#conducteur-3"' in html

    second = {"status": "salarie", "name": "Ana Lopez", "card_number": "CP-30-0043"}
    response = client.post(
        url, {**shown, **{f"drivers-1-{k}": v for k, v in second.items()}}, follow=True
    )

    ads = ADS.objects.get(authority=nimes, number="7")
    assert response.redirect_chain == [(reverse("ads:detail", args=[ads.pk]), 302)]
    assert messages_of(response) == ["L’ADS n° 7 a été enregistrée."]
    assert dict(ads.drivers.values_list("name", "status")) == {
        "Sami Haddad": "locataire_gerant",
        "Ana Lopez": "salarie",
    }


def test_adding_rows_to_an_ads_saves_nothing_until_it_is_saved(client, manager, complete_ads):
    client.force_login(manager)
    url = reverse("ads:edit", args=[complete_ads.pk])
    opened = submitted(client.get(url))
    assert opened["drivers-TOTAL_FORMS"] == "2"  # Jean Martin and an empty row
    typed = {**opened, "holder_name": "Taxi Camargue", "drivers-0-card_number": "CP-30-0009"}

    once = client.post(url, {**typed, **ADD})
    twice = client.post(url, {**submitted(once), **ADD})

    shown = submitted(twice)
    assert shown["drivers-TOTAL_FORMS"] == "4"
    assert (shown["holder_name"], shown["drivers-0-card_number"]) == ("Taxi Camargue", "CP-30-0009")
    assert shown["version"] == "1"  # the save to come is checked against the page opened
    assert set(row(shown, 2).values()) == set(row(shown, 3).values()) == {""}
    assert_no_error_shown(twice)
    complete_ads.refresh_from_db()
    assert complete_ads.version == 1
    assert complete_ads.holder_name == "Taxi Arènes SARL"
    assert not Version.objects.get_for_object(complete_ads).exists()
    assert list(complete_ads.drivers.values_list("card_number", flat=True)) == ["CP-30-0001"]

    # One of the new rows filled in, the others left empty: they are not drivers.
    response = client.post(
        url,
        {**shown, "attest": "on", "drivers-2-status": "salarie", "drivers-2-name": "Ana Lopez"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("ads:detail", args=[complete_ads.pk]), 302)]
    complete_ads.refresh_from_db()
    assert (complete_ads.holder_name, complete_ads.version) == ("Taxi Camargue", 2)
    assert dict(complete_ads.drivers.values_list("name", "card_number")) == {
        "Jean Martin": "CP-30-0009",
        "Ana Lopez": "",
    }


def test_a_new_regime_ads_is_offered_no_second_driver(client, manager, new_regime_ads):
    client.force_login(manager)
    url = reverse("ads:edit", args=[new_regime_ads.pk])

    opened = client.get(url)

    html = opened.content.decode()
    assert "ajouter_conducteur" not in html
    assert "Ajouter un conducteur" not in html

    # A button kept from an older page, or a crafted request: the model's rule answers.
    response = client.post(url, {**submitted(opened), **ADD})

    assert response.status_code == 200
    assert messages_of(response) == [ONE_DRIVER_ONLY]
    assert submitted(response)["drivers-TOTAL_FORMS"] == submitted(opened)["drivers-TOTAL_FORMS"]
    new_regime_ads.refresh_from_db()
    assert new_regime_ads.version == 1


def test_the_regime_typed_in_a_new_ads_decides(client, manager, nimes):
    client.force_login(manager)
    url = reverse("ads:create", args=[nimes.pk])
    typed = {
        **submitted(client.get(url)),
        **NEW_ADS,
        "creation_date": "2019-02-01",
        "attribution_date": "",
        "drivers-0-status": "titulaire_exploitant",
        "drivers-0-lease_start_date": "",
    }

    response = client.post(url, {**typed, **ADD})

    assert messages_of(response) == [ONE_DRIVER_ONLY]
    assert submitted(response)["drivers-TOTAL_FORMS"] == "1"
    assert "Ajouter un conducteur" not in response.content.decode()
    assert not ADS.objects.exists()


def test_no_more_rows_than_the_form_takes(client, manager, complete_ads):
    Driver.objects.bulk_create(
        Driver(ads=complete_ads, status=Driver.Status.SALARIE, name=f"Salarié {number}")
        for number in range(18)
    )  # 19 drivers and the empty row: the form's 20
    client.force_login(manager)
    url = reverse("ads:edit", args=[complete_ads.pk])

    opened = client.get(url)
    response = client.post(url, {**submitted(opened), **ADD})

    assert "Ajouter un conducteur" not in opened.content.decode()
    assert messages_of(response) == ["Le formulaire ne peut pas compter plus de 20 conducteurs."]
    assert submitted(response)["drivers-TOTAL_FORMS"] == "20"


# --- with JavaScript --------------------------------------------------------------------


def test_the_page_carries_the_script_and_the_row_it_copies(client, manager, complete_ads):
    client.force_login(manager)

    response = client.get(reverse("ads:edit", args=[complete_ads.pk]))

    nonce = csp_directives(response)["script-src"][1].removeprefix("'nonce-").rstrip("'")
    assert f'<script src="/static/js/add_driver.js" nonce="{nonce}" defer>' in script_tags(response)
    html = response.content.decode()
    template = re.search(r'<template id="conducteur-vide">(.*?)</template>', html, re.S).group(1)
    assert 'id="conducteur-__number__"' in template
    assert 'name="drivers-__prefix__-name"' in template
    assert 'data-add-driver="conducteur-vide"' in html


@pytest.mark.django_db(transaction=True)
@e2e
@needs_chromium
def test_the_row_appears_in_place_with_the_focus(page, manager, complete_ads):
    _login(page, "gestionnaire@nimes.fr")
    page.goto(f"/ads/{complete_ads.pk}/modifier/")
    page.get_by_label("Nom du titulaire").fill("Taxi Camargue")
    requests = []
    page.on("request", lambda request: requests.append(request.method))

    page.get_by_role("button", name="Ajouter un conducteur").click()

    assert requests == []  # no round trip
    assert page.locator("#conducteur-3 legend").inner_text() == "Conducteur 3 (nouveau, facultatif)"
    assert page.evaluate("document.activeElement.id") == "id_drivers-2-status"
    assert page.locator("[name=drivers-TOTAL_FORMS]").input_value() == "3"
    page.locator("#id_drivers-2-status").select_option("salarie")
    page.locator("#id_drivers-2-name").fill("Ana Lopez")
    page.get_by_text("Je certifie l’exactitude des informations saisies").click()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("heading", name="ADS n° 12").wait_for()

    assert dict(complete_ads.drivers.values_list("name", "status")) == {
        "Jean Martin": "salarie",
        "Ana Lopez": "salarie",
    }
    assert ADS.objects.get(pk=complete_ads.pk).holder_name == "Taxi Camargue"


@pytest.mark.django_db(transaction=True)
@e2e
@needs_chromium
def test_without_javascript_the_button_asks_the_server(page, live_server, manager, complete_ads):
    browser_page = page.context.browser.new_page(
        base_url=live_server.url, java_script_enabled=False
    )
    _login(browser_page, "gestionnaire@nimes.fr")
    browser_page.goto(f"/ads/{complete_ads.pk}/modifier/")
    browser_page.get_by_label("Nom du titulaire").fill("Taxi Camargue")

    browser_page.get_by_role("button", name="Ajouter un conducteur").click()

    browser_page.locator("#conducteur-3").wait_for()
    assert browser_page.url.endswith(f"/ads/{complete_ads.pk}/modifier/#conducteur-3")
    # The browser's starting point for Tab: the first field of the new row is next.
    browser_page.keyboard.press("Tab")
    assert browser_page.evaluate("document.activeElement.id") == "id_drivers-2-status"
    assert browser_page.get_by_label("Nom du titulaire").input_value() == "Taxi Camargue"
    assert ADS.objects.get(pk=complete_ads.pk).holder_name == "Taxi Arènes SARL"

    # Enter in a field still saves the form: the drivers' button is not its default.
    browser_page.get_by_text("Je certifie l’exactitude des informations saisies").click()
    browser_page.get_by_label("Nom du titulaire").press("Enter")
    browser_page.get_by_role("heading", name="ADS n° 12").wait_for()
    assert ADS.objects.get(pk=complete_ads.pk).holder_name == "Taxi Camargue"
    browser_page.close()
