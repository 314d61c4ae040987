"""The page shown when someone else changed the ADS while a manager was editing it
(issue 10, point 10) says what they did: a certification, an attestation, a send-back,
drivers or documents added, removed or changed, by name."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesads.ads.certification import certify
from mesads.ads.forms import ADSForm, DriverFormSet
from mesads.ads.models import ADS
from mesads.ads.services import ConflictError, save_ads
from tests.ads.test_ads_documents import post_document
from tests.ads.test_ads_edit import colleague, declare, edit, form_fields  # noqa: F401 (a fixture)
from tests.ads.test_certification import send_back

pytestmark = pytest.mark.django_db


def at(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M")


def open_edit_page(client, ads: ADS):
    """Open the ADS's edit page; returns a function that submits it, with a change, once
    others have acted."""
    url = reverse("ads:edit", args=[ads.pk])
    fields = form_fields(client.get(url))

    def submit():
        return client.post(url, {**fields, "attest": "on", "holder_name": "Taxi Camargue"})

    return submit


@pytest.fixture
def ads_7(client, manager, nimes) -> ADS:
    """ADS n° 7, declared by the manager through the page (so its history has it)."""
    client.force_login(manager)
    declare(client, nimes)
    return ADS.objects.get(authority=nimes, number="7")


@pytest.fixture
def opened(client, ads_7):
    """ADS n° 7 and the submit of its edit page, which the manager has just opened."""
    return ads_7, open_edit_page(client, ads_7)


def conflict_items(response) -> list[str]:
    assert response.status_code == 409
    page = response.content.decode()
    assert "Cette ADS a été modifiée par quelqu’un d’autre" in page
    assert "data-error-summary" not in page  # the page cannot be saved: nothing to correct
    block = page[page.index("Voici ce qui a changé") : page.index("Recharger l’ADS à jour")]
    return [re.sub(r"\s+", " ", item) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def as_user(user) -> Client:
    other = Client()
    other.force_login(user)
    return other


def test_a_certification_meanwhile_is_named(opened, prefecture_agent):
    ads, submit = opened
    as_user(prefecture_agent).post(reverse("prefecture:certify", args=[ads.pk]))
    ads.refresh_from_db()
    assert ads.certified_by == prefecture_agent

    items = conflict_items(submit())

    assert items == [f"L’ADS a été certifiée par la préfecture (Claude) le {at(ads.certified_at)}."]
    ads.refresh_from_db()
    assert ads.holder_name == "Taxi Gardon"


def test_an_attestation_by_a_colleague_is_named(opened, colleague):  # noqa: F811
    ads, submit = opened
    as_user(colleague).post(reverse("ads:attest", args=[ads.pk]))
    ads.refresh_from_db()

    items = conflict_items(submit())

    assert items == [f"L’ADS a été attestée par son gestionnaire (Lou) le {at(ads.attested_at)}."]


def test_a_send_back_is_named_with_its_comment(
    opened, prefecture_agent, django_capture_on_commit_callbacks
):
    ads, submit = opened
    send_back(
        as_user(prefecture_agent),
        ads,
        "Le SIRET est celui d’un autre",
        django_capture_on_commit_callbacks,
    )
    ads.refresh_from_db()

    items = conflict_items(submit())

    assert items == [
        "L’ADS a été renvoyée au gestionnaire par la préfecture (Claude) le "
        f"{at(ads.sent_back_at)} : « Le SIRET est celui d’un autre »."
    ]


def test_drivers_added_removed_and_changed_are_named(opened, manager, colleague):  # noqa: F811
    ads, submit = opened
    other = as_user(colleague)
    # The colleague replaces the lessee by an employee, then gives the employee a card.
    edit(
        other,
        ads,
        **{
            "drivers-0-DELETE": "on",
            "drivers-1-status": "salarie",
            "drivers-1-name": "Ana Lopez",
            "vehicle_plate": "EF-456-GH",
        },
    )
    edit(other, ads, **{"drivers-0-card_number": "CP-30-0050"})
    ads.refresh_from_db()

    items = conflict_items(submit())

    assert items == [
        f"L’ADS a été attestée par son gestionnaire (Lou) le {at(ads.attested_at)}.",
        "Immatriculation du véhicule : « AB-123-CD » → « EF-456-GH »",
        "Conducteur ajouté : Ana Lopez (Salarié)",
        "Conducteur retiré : Sami Haddad (Locataire-gérant)",
    ]
    assert ads.drivers.get().card_number == "CP-30-0050"


def test_a_driver_changed_is_named_with_what_changed(opened, colleague):  # noqa: F811
    ads, submit = opened
    edit(as_user(colleague), ads, **{"drivers-0-name": "Sami Haddad-Roux"})

    items = conflict_items(submit())

    assert items[1:] == [
        "Conducteur modifié : Sami Haddad-Roux (Locataire-gérant) – Nom et prénom : "
        "« Sami Haddad » → « Sami Haddad-Roux »"
    ]


def test_documents_added_and_removed_are_named(opened, colleague):  # noqa: F811
    ads, submit = opened
    other = as_user(colleague)
    post_document(other, ads, name="arrete-2019.pdf")
    post_document(other, ads, name="arrete-errone.pdf")
    wrong = ads.documents.get(original_name="arrete-errone.pdf")
    other.post(reverse("ads:document_delete", args=[wrong.pk]))
    assert list(ads.documents.values_list("original_name", flat=True)) == ["arrete-2019.pdf"]

    items = conflict_items(submit())

    assert items == ["Document ajouté : Arrêté d’attribution – arrete-2019.pdf"]


def test_a_document_removed_is_named(client, ads_7, colleague):  # noqa: F811
    post_document(client, ads_7, name="arrete-2019.pdf")
    submit = open_edit_page(client, ads_7)
    as_user(colleague).post(reverse("ads:document_delete", args=[ads_7.documents.get().pk]))

    items = conflict_items(submit())

    assert items == ["Document supprimé : Arrêté d’attribution – arrete-2019.pdf"]


def test_a_certification_landing_while_the_save_runs_is_named_too(
    client, ads_7, manager, prefecture_agent
):
    # The page was up to date when sent; the prefecture certifies between the checks of
    # the form and the write: the save's own compare-and-set catches it.
    sent = {**form_fields(client.get(reverse("ads:edit", args=[ads_7.pk]))), "attest": "on"}
    form = ADSForm(sent, instance=ads_7, authority=ads_7.authority)
    formset = DriverFormSet(sent, instance=ads_7, prefix="drivers")
    assert form.is_valid() and formset.is_valid()
    certify(ads_7, prefecture_agent)

    with pytest.raises(ConflictError) as conflict:
        save_ads(form, formset, manager)

    certified_at = ADS.objects.get(pk=ads_7.pk).certified_at
    assert conflict.value.changes.steps == [
        f"L’ADS a été certifiée par la préfecture (Claude) le {at(certified_at)}."
    ]
    assert not conflict.value.changes.fields
