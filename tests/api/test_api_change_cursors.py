"""The change feed's cursors tell a key nothing outside its scope: positions are national
(a Gard key read 225–229 and a head of 119,870, and so how much, and when, the rest of
France changes). Cursors are opaque: the position encrypted; the feed's order and its
guarantee (no change ever skipped) are the positions', unchanged (test_api_mirror)."""

import datetime

import pytest
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.api import changes
from mesads.api.models import Profile

pytestmark = pytest.mark.django_db

CHANGES = reverse("api:changes")
LIST = reverse("api:ads_list")


@pytest.fixture
def gard_key(make_key, gard):
    return make_key(Profile.COMPLET, gard)[0]


def _cursors(api, key, **params) -> list[str]:
    feed = api(CHANGES, key, **params).json()
    listing = api(LIST, key).json()
    return [
        feed["curseur"],
        listing["curseur_changements"],
        *(entry["position"] for entry in feed["resultats"]),
    ]


def test_a_gard_key_reads_no_national_position(api, gard_key, complete_ads, montpellier):
    for number in range(5):  # the rest of France changes
        ADS.objects.create(
            authority=montpellier, number=str(number), creation_date=datetime.date(2010, 1, 1)
        )
    cursors = _cursors(api, gard_key)
    assert len(cursors) == 3
    for cursor in cursors:
        assert isinstance(cursor, str) and not cursor.isdigit(), cursor
        assert len(cursor) == 48
    # Each reading gives other cursors for the same positions: nothing to compare.
    assert set(cursors).isdisjoint(_cursors(api, gard_key))
    # The key's own cursor still works, and tells it the Hérault's changes were none of its
    # business: nothing after its only change.
    after = api(CHANGES, gard_key).json()["curseur"]
    page = api(CHANGES, gard_key, depuis=after).json()
    assert page["resultats"] == [] and page["suite"] is False and page["curseur"] == after


def test_a_cursor_survives_a_secret_key_rotation(api, gard_key, complete_ads, settings, nimes):
    after = api(CHANGES, gard_key).json()["curseur"]
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "une-nouvelle-cle-secrete-" + "x" * 40
    complete_ads.holder_name = "Nouveau titulaire"
    complete_ads.save()
    page = api(CHANGES, gard_key, depuis=after).json()
    assert [entry["ads_id"] for entry in page["resultats"]] == [complete_ads.pk]


@pytest.mark.parametrize("cursor", ["12", "-1", "x" * 48, "tampered", "é" * 48])
def test_a_cursor_the_api_did_not_give_is_refused(api, gard_key, complete_ads, cursor):
    if cursor == "tampered":
        # A real cursor with its last bytes changed. (Made here, not in the parameters:
        # each is encrypted with a fresh nonce, and pytest-xdist's workers must collect
        # the same test names.)
        cursor = changes.encode_position(5)[:-2] + "AA"
    response = api(CHANGES, gard_key, depuis=cursor)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "Curseur inconnu" in response.json()["details"]["depuis"][0]


def test_a_cursor_round_trips_and_zero_is_the_start():
    assert changes.decode_position(changes.START) == 0
    for position in (1, 119_870, 2**62):
        assert changes.decode_position(changes.encode_position(position)) == position
