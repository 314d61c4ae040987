"""Corners where a tampered page or a bare ``full_clean()`` used to reach the database rules.

A manager's browser only sends back the drivers the page showed; a hand-edited request
may carry another authority's driver id. It is refused on the page: no copy of the
driver, no server error, nothing written.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from tests.ads.test_ads_edit import edit, messages_of

pytestmark = pytest.mark.django_db

FOREIGN_DRIVER = (
    "Un conducteur envoyé n’est pas (ou plus) rattaché à cette ADS : "
    "rechargez la page puis refaites vos modifications."
)


@pytest.fixture
def ales_driver(ales) -> Driver:
    ads = ADS.objects.create(authority=ales, number="3", creation_date=datetime.date(2001, 2, 3))
    return Driver.objects.create(
        ads=ads, status=Driver.Status.SALARIE, name="Paul Alésien", card_number="CP-30-0900"
    )


@pytest.fixture
def old_ads_7(nimes) -> ADS:
    """ADS 7 of Nîmes, created before 1 October 2014, driven by an employee."""
    ads = ADS.objects.create(authority=nimes, number="7", creation_date=datetime.date(2005, 3, 1))
    Driver.objects.create(
        ads=ads, status=Driver.Status.SALARIE, name="Jean Martin", card_number="CP-30-0001"
    )
    return ads


@pytest.fixture
def new_ads_7(nimes) -> ADS:
    """ADS 7 of Nîmes, created after 1 October 2014, driven by its holder."""
    ads = ADS.objects.create(authority=nimes, number="7", creation_date=datetime.date(2019, 3, 4))
    Driver.objects.create(
        ads=ads, status=Driver.Status.TITULAIRE, name="Léa Petit", card_number="CP-30-0002"
    )
    return ads


def drivers_of(ads: ADS) -> list[tuple]:
    return list(ads.drivers.order_by("pk").values_list("pk", "status", "name"))


def assert_refused_and_nothing_written(response, ads: ADS, drivers_before, ales_driver):
    assert response.status_code == 200
    assert response.redirect_chain == []
    assert messages_of(response) == [
        "L’ADS n’a pas été enregistrée : corrigez les erreurs signalées."
    ]
    assert FOREIGN_DRIVER in response.content.decode()
    assert drivers_of(ads) == drivers_before
    ads.refresh_from_db()
    assert ads.version == 1
    assert not Version.objects.exists()
    untouched = Driver.objects.get(pk=ales_driver.pk)
    assert (untouched.ads_id, untouched.name, untouched.status) == (
        ales_driver.ads_id,
        "Paul Alésien",
        Driver.Status.SALARIE,
    )
    assert Driver.objects.filter(name="Paul Alésien").count() == 1


# --- another authority's driver in the drivers formset -----------------------------------


def test_a_foreign_driver_id_is_refused_on_an_old_regime_ads(
    client, manager, old_ads_7, ales_driver
):
    client.force_login(manager)
    before = drivers_of(old_ads_7)

    # The form of Jean Martin, sent back with the id of a driver of Alès.
    response = edit(client, old_ads_7, **{"drivers-0-id": str(ales_driver.pk)})

    assert_refused_and_nothing_written(response, old_ads_7, before, ales_driver)


def test_a_foreign_driver_id_in_the_new_driver_form_is_refused(
    client, manager, old_ads_7, ales_driver
):
    client.force_login(manager)
    before = drivers_of(old_ads_7)

    # The empty "new driver" form, filled in as the driver of Alès, with his id.
    response = edit(
        client,
        old_ads_7,
        **{
            "drivers-1-id": str(ales_driver.pk),
            "drivers-1-status": "salarie",
            "drivers-1-name": "Paul Alésien",
            "drivers-1-card_number": "CP-30-0900",
        },
    )

    assert_refused_and_nothing_written(response, old_ads_7, before, ales_driver)


def test_a_foreign_driver_id_on_a_new_regime_ads_is_refused_not_a_server_error(
    client, manager, new_ads_7, ales_driver
):
    client.force_login(manager)
    before = drivers_of(new_ads_7)

    response = edit(client, new_ads_7, **{"drivers-0-id": str(ales_driver.pk)})

    assert_refused_and_nothing_written(response, new_ads_7, before, ales_driver)


def test_a_driver_id_that_does_not_exist_says_the_same(client, manager, old_ads_7, ales_driver):
    # Whether the id is another authority's or nobody's, the page tells nothing about it.
    client.force_login(manager)
    before = drivers_of(old_ads_7)
    missing_id = Driver.objects.order_by("-pk").first().pk + 1000

    response = edit(client, old_ads_7, **{"drivers-0-id": str(missing_id)})

    assert_refused_and_nothing_written(response, old_ads_7, before, ales_driver)


def test_the_page_as_sent_still_saves(client, manager, old_ads_7, ales_driver):
    client.force_login(manager)

    response = edit(client, old_ads_7, **{"drivers-0-name": "Jean Martin-Durand"})

    assert messages_of(response) == ["L’ADS n° 7 a été enregistrée. Elle reste à compléter."]
    assert list(old_ads_7.drivers.values_list("name", flat=True)) == ["Jean Martin-Durand"]


# --- the duplicate number, outside the form ----------------------------------------------


def test_full_clean_puts_a_taken_number_on_the_number_field(nimes, old_ads_7):
    duplicate = ADS(authority=nimes, number="7", creation_date=datetime.date(2010, 1, 1))

    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()

    assert refused.value.message_dict == {
        "number": ["Ce gestionnaire a déjà une ADS portant ce numéro : chaque numéro est unique."]
    }
