"""A re-user keeps an exact copy of the register with nothing but the API.

It copies the list page by page, then follows the change feed while a manager declares,
edits (drivers included), deletes and a national staff member restores ADS through the
site's own pages; the copy is then what the database says. Bulk writes (imports) and a
transaction that commits late (PostgreSQL) are followed too.
"""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from mesads.ads.models import ADS, Driver
from mesads.api.keys import Caller
from mesads.api.models import Profile
from mesads.api.representation import ads_data, api_queryset
from tests.ads.test_ads_edit import declare, edit, form_fields


class Mirror:
    """What a re-user's program does: a dict of ADS by id, built from the API alone."""

    def __init__(self, key: str, page_size: int = 2):
        self.client = Client(HTTP_X_API_KEY=key)
        self.page_size = page_size
        self.copy: dict[int, dict] = {}
        self.position = 0
        self.calls = 0

    def _get(self, url: str, **params) -> dict:
        self.calls += 1
        response = self.client.get(url, params)
        assert response.status_code == 200, response.content
        return response.json()

    def build(self) -> None:
        page = self._get(reverse("api:ads_list"), taille=self.page_size)
        self.position = page["curseur_changements"]
        while True:
            self.copy.update({ads["id"]: ads for ads in page["resultats"]})
            if page["curseur_suivant"] is None:
                break
            page = self._get(
                reverse("api:ads_list"), taille=self.page_size, curseur=page["curseur_suivant"]
            )

    def sync(self) -> None:
        while True:
            page = self._get(reverse("api:changes"), depuis=self.position, taille=self.page_size)
            for entry in page["resultats"]:
                if entry["ads"] is None:
                    self.copy.pop(entry["ads_id"], None)
                else:
                    self.copy[entry["ads_id"]] = entry["ads"]
            self.position = page["curseur"]
            if not page["suite"]:
                break


def register_as_the_api_shows_it(key) -> dict[int, dict]:
    """The database, read directly, in the API's words for this key."""
    caller = Caller(key, None)
    return {ads.pk: ads_data(ads, caller) for ads in api_queryset().filter(deleted_at=None)}


@pytest.fixture
def mirror_key(make_key):
    return make_key(Profile.COMPLET, organisation="Miroir")


@pytest.mark.django_db
def test_a_mirror_follows_every_change_made_through_the_pages(
    client, mirror_key, manager, staff, nimes, complete_ads
):
    raw, key = mirror_key
    for number in ("20", "21", "22"):
        ADS.objects.create(authority=nimes, number=number, creation_date=datetime.date(2001, 1, 1))
    mirror = Mirror(raw)
    mirror.build()
    assert mirror.copy == register_as_the_api_shows_it(key)

    client.force_login(manager)
    # A new ADS, declared with its driver.
    declare(client, nimes, number="30")
    created = ADS.objects.get(authority=nimes, number="30")
    # An edit of the holder and the plate, and of the driver's card.
    edit(
        client,
        complete_ads,
        holder_name="Taxi des Arènes",
        vehicle_plate="CD 456 EF",
        **{"drivers-0-card_number": "CP-30-0099"},
    )
    # A driver added, then the first one removed.
    url = reverse("ads:edit", args=[created.pk])
    fields = form_fields(client.get(url))
    fields.update(
        {
            "drivers-TOTAL_FORMS": "2",
            "drivers-1-status": "salarie",
            "drivers-1-name": "Lina Roux",
            "drivers-1-card_number": "CP-30-0100",
            "attest": "on",
        }
    )
    assert client.post(url, fields).status_code == 302
    edit(client, ADS.objects.get(pk=created.pk), **{"drivers-0-DELETE": "on"})
    assert list(created.drivers.values_list("name", flat=True)) == ["Lina Roux"]
    # Two deletions, then one restored by national staff.
    gone = ADS.objects.get(authority=nimes, number="20")
    back = ADS.objects.get(authority=nimes, number="21")
    for ads in (gone, back):
        response = client.post(reverse("ads:delete", args=[ads.pk]), {"comment": "Retrait"})
        assert response.status_code == 302
    client.force_login(staff)
    assert client.post(reverse("ads:restore", args=[back.pk])).status_code == 302

    mirror.sync()

    assert ADS.objects.get(pk=gone.pk).deleted_at is not None
    assert gone.pk not in mirror.copy and back.pk in mirror.copy
    assert mirror.copy[complete_ads.pk]["titulaire"]["nom"] == "Taxi des Arènes"
    assert mirror.copy[complete_ads.pk]["vehicule"]["immatriculation"] == "CD-456-EF"
    assert mirror.copy[complete_ads.pk]["conducteurs"][0]["carte_pro"] == "CP-30-0099"
    assert [d["nom"] for d in mirror.copy[created.pk]["conducteurs"]] == ["Lina Roux"]
    assert mirror.copy == register_as_the_api_shows_it(key)


@pytest.mark.django_db
def test_bulk_writes_and_queryset_updates_reach_the_feed(mirror_key, nimes, complete_ads):
    raw, key = mirror_key
    mirror = Mirror(raw, page_size=50)
    mirror.build()
    # What an import does (exchange.importing): bulk_create, bulk_update, update().
    created = ADS.objects.bulk_create(
        [ADS(authority=nimes, number=str(n), number_sort_key=str(n)) for n in range(40, 45)]
    )
    if not created[0].pk:  # SQLite before 3.35 returns no ids; ours does
        created = list(ADS.objects.filter(number__in=[str(n) for n in range(40, 45)]))
    Driver.objects.bulk_create(
        [
            Driver(ads=ads, status=Driver.Status.SALARIE, name=f"Conducteur {ads.number}")
            for ads in created
        ]
    )
    complete_ads.holder_name = "Taxi Nîmois"
    ADS.objects.bulk_update([complete_ads], ["holder_name"])
    ADS.objects.filter(pk=created[0].pk).update(
        deleted_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    )
    Driver.objects.filter(ads=created[1]).delete()

    mirror.sync()

    assert mirror.copy == register_as_the_api_shows_it(key)
    assert created[0].pk not in mirror.copy
    assert mirror.copy[created[1].pk]["conducteurs"] == []


@pytest.mark.django_db
def test_the_feed_from_zero_rebuilds_the_register(mirror_key, nimes, complete_ads):
    raw, key = mirror_key
    ADS.objects.create(authority=nimes, number="99")
    mirror = Mirror(raw, page_size=1)
    mirror.sync()
    assert mirror.copy == register_as_the_api_shows_it(key)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_late_is_not_skipped(mirror_key, nimes, complete_ads):
    """A slow import writes first and commits last: the mirror still gets its change."""
    import psycopg

    raw, key = mirror_key
    mirror = Mirror(raw, page_size=100)
    mirror.build()
    mirror.sync()
    settings = connection.settings_dict
    slow = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname=settings["NAME"],
    )  # fmt: skip
    try:
        with slow.cursor() as cursor:
            cursor.execute(
                "UPDATE ads_ads SET holder_name = 'Écrit tôt, validé tard' WHERE id = %s",
                [complete_ads.pk],
            )
        # Meanwhile another ADS is created and committed, and the mirror syncs.
        other = ADS.objects.create(authority=nimes, number="77")
        mirror.sync()
        assert other.pk in mirror.copy
        slow.commit()
    finally:
        slow.close()

    mirror.sync()

    assert mirror.copy[complete_ads.pk]["titulaire"]["nom"] == "Écrit tôt, validé tard"
    assert mirror.copy == register_as_the_api_shows_it(key)
