"""A document added while someone edits the ADS (issue 10, point 21): under load the
history sometimes recorded a deletion that never happened, or showed an edit undone (3 of
32 parallel trials). Adding or deleting a document takes the ADS's lock and bumps its
version like an edit, and snapshots the ADS as it is then."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse
from reversion.models import Version

from mesads.ads.documents import add_ads_document, delete_ads_document
from mesads.ads.models import ADS, ADSDocument
from tests.ads.test_ads_documents import PDF, upload
from tests.ads.test_ads_edit import form_fields


def add_renewal(ads: ADS, user) -> ADSDocument:
    return add_ads_document(
        ADSDocument(ads=ads, kind=ADSDocument.Kind.RENEWAL), upload("renouvellement.pdf", PDF), user
    )


def snapshot(ads: ADS) -> dict:
    return Version.objects.get_for_object(ads).first().field_dict


def test_the_history_of_a_document_keeps_the_edit_saved_meanwhile(manager, complete_ads):
    # The upload page read the ADS; meanwhile a colleague's edit was saved.
    page_read = ADS.objects.get(pk=complete_ads.pk)
    ADS.objects.filter(pk=complete_ads.pk).update(holder_name="Taxi Costières", version=2)

    add_renewal(page_read, manager)

    # The revision of the addition is the ADS as it now is: the edit is not undone.
    assert snapshot(complete_ads)["holder_name"] == "Taxi Costières"
    complete_ads.refresh_from_db()
    assert complete_ads.version == 3  # bumped, as an edit bumps it


def test_an_edit_opened_before_a_document_was_added_is_told_of_it(client, manager, complete_ads):
    client.force_login(manager)
    url = reverse("ads:edit", args=[complete_ads.pk])
    opened = form_fields(client.get(url))

    add_renewal(ADS.objects.get(pk=complete_ads.pk), manager)
    response = client.post(url, {**opened, "attest": "on", "holder_name": "Taxi Camargue"})

    assert response.status_code == 409
    assert "modifiée par quelqu’un d’autre" in response.content.decode()
    assert ADS.objects.get(pk=complete_ads.pk).holder_name != "Taxi Camargue"


def test_deleting_a_document_bumps_the_version_and_keeps_the_ads_as_it_is(manager, complete_ads):
    document = add_renewal(complete_ads, manager)
    ADS.objects.filter(pk=complete_ads.pk).update(holder_name="Taxi Costières")
    before = ADS.objects.get(pk=complete_ads.pk).version

    delete_ads_document(ADSDocument.objects.select_related("ads").get(pk=document.pk), manager)

    assert ADS.objects.get(pk=complete_ads.pk).version == before + 1
    assert snapshot(complete_ads)["holder_name"] == "Taxi Costières"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL (CI)")
@pytest.mark.django_db(transaction=True)
def test_an_addition_waits_for_the_edit_in_progress_and_builds_on_it(manager, complete_ads):
    """The edit holds the ADS's row (its compare-and-set UPDATE) until it commits: the
    addition, in another connection, waits, then snapshots the edited ADS."""
    stale = ADS.objects.get(pk=complete_ads.pk)
    edit_started, result = threading.Event(), {}

    def add_in_another_connection():
        edit_started.wait(10)
        try:
            result["document"] = add_renewal(stale, manager)
        finally:
            connections.close_all()

    adder = threading.Thread(target=add_in_another_connection)
    adder.start()
    with transaction.atomic():
        ADS.objects.filter(pk=complete_ads.pk, version=stale.version).update(
            holder_name="Taxi Costières", version=stale.version + 1
        )
        edit_started.set()
        adder.join(1)
        assert adder.is_alive()  # waiting for the edit's lock
    adder.join(10)

    assert "document" in result
    assert snapshot(complete_ads)["holder_name"] == "Taxi Costières"
    assert ADS.objects.get(pk=complete_ads.pk).version == stale.version + 2
