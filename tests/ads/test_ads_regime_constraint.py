"""The database itself refuses a new-regime ADS operated by anyone but its holder."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from mesads.ads.models import ADS, Driver

NEW = datetime.date(2019, 5, 2)
OLD = datetime.date(2008, 5, 2)


@pytest.fixture
def new_ads(nimes):
    return ADS.objects.create(authority=nimes, number="N-1", creation_date=NEW)


@pytest.fixture
def old_ads_with_employee(nimes):
    ads = ADS.objects.create(authority=nimes, number="A-1", creation_date=OLD)
    Driver.objects.create(ads=ads, status=Driver.Status.SALARIE, name="Marc Salarié")
    return ads


def test_a_new_regime_ads_accepts_its_holder_as_driver(new_ads):
    Driver.objects.create(ads=new_ads, status=Driver.Status.TITULAIRE, name="Léa Titulaire")
    assert new_ads.drivers.count() == 1


def test_an_employee_cannot_drive_a_new_regime_ads_even_bypassing_the_forms(new_ads):
    with pytest.raises(IntegrityError, match="ads_new_regime_driver_is_titulaire"):
        with transaction.atomic():
            Driver.objects.create(ads=new_ads, status=Driver.Status.SALARIE, name="Marc")
    assert not new_ads.drivers.exists()


def test_a_second_driver_is_refused_on_a_new_regime_ads(new_ads):
    Driver.objects.create(ads=new_ads, status=Driver.Status.TITULAIRE, name="Léa Titulaire")
    # A second titulaire breaks the unique constraint, anything else the trigger.
    with pytest.raises(IntegrityError), transaction.atomic():
        Driver.objects.create(ads=new_ads, status=Driver.Status.TITULAIRE, name="Autre")
    with pytest.raises(IntegrityError), transaction.atomic():
        Driver.objects.create(ads=new_ads, status=Driver.Status.LOCATAIRE_GERANT, name="Autre")
    assert new_ads.drivers.count() == 1


def test_a_driver_cannot_be_changed_into_an_employee_of_a_new_regime_ads(new_ads):
    driver = Driver.objects.create(ads=new_ads, status=Driver.Status.TITULAIRE, name="Léa")
    with pytest.raises(IntegrityError), transaction.atomic():
        Driver.objects.filter(pk=driver.pk).update(status=Driver.Status.SALARIE)


def test_an_old_ads_with_an_employee_cannot_be_redated_into_the_new_regime(
    old_ads_with_employee,
):
    with pytest.raises(IntegrityError, match="ads_new_regime_driver_is_titulaire"):
        with transaction.atomic():
            ADS.objects.filter(pk=old_ads_with_employee.pk).update(creation_date=NEW)
    old_ads_with_employee.refresh_from_db()
    assert old_ads_with_employee.creation_date == OLD


def test_a_manager_can_correct_an_ads_into_the_new_regime_with_its_holder_driving(
    old_ads_with_employee, manager
):
    """Correcting a wrong creation date and the driver's status in one save works: the
    service writes the driver before the ADS, so no statement breaks the rule."""
    from mesads.ads.forms import ADSForm, DriverFormSet
    from mesads.ads.services import save_ads

    ads = old_ads_with_employee
    driver = ads.drivers.get()
    data = {
        "number": ads.number,
        "creation_date": NEW.isoformat(),
        "in_use": "on",
        "vehicle_pmr": "unknown",
        "vehicle_low_emission": "unknown",
        "version": str(ads.version),
        "attest": "on",
        "drivers-TOTAL_FORMS": "1",
        "drivers-INITIAL_FORMS": "1",
        "drivers-MIN_NUM_FORMS": "0",
        "drivers-MAX_NUM_FORMS": "20",
        "drivers-0-id": str(driver.pk),
        "drivers-0-ads": str(ads.pk),
        "drivers-0-status": Driver.Status.TITULAIRE,
        "drivers-0-name": "Marc Titulaire",
    }
    form = ADSForm(data, instance=ads, authority=ads.authority)
    formset = DriverFormSet(data, instance=ads, prefix="drivers")
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    save_ads(form, formset, manager)

    ads.refresh_from_db()
    assert ads.creation_date == NEW
    assert ads.drivers.get().status == Driver.Status.TITULAIRE


def test_a_manager_can_correct_a_new_ads_into_the_old_regime_with_an_employee(new_ads, manager):
    from mesads.ads.forms import ADSForm, DriverFormSet
    from mesads.ads.services import save_ads

    driver = Driver.objects.create(ads=new_ads, status=Driver.Status.TITULAIRE, name="Léa")
    data = {
        "number": new_ads.number,
        "creation_date": OLD.isoformat(),
        "in_use": "on",
        "vehicle_pmr": "unknown",
        "vehicle_low_emission": "unknown",
        "version": str(new_ads.version),
        "attest": "on",
        "drivers-TOTAL_FORMS": "1",
        "drivers-INITIAL_FORMS": "1",
        "drivers-MIN_NUM_FORMS": "0",
        "drivers-MAX_NUM_FORMS": "20",
        "drivers-0-id": str(driver.pk),
        "drivers-0-ads": str(new_ads.pk),
        "drivers-0-status": Driver.Status.SALARIE,
        "drivers-0-name": "Léa Salariée",
    }
    form = ADSForm(data, instance=new_ads, authority=new_ads.authority)
    formset = DriverFormSet(data, instance=new_ads, prefix="drivers")
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    save_ads(form, formset, manager)

    new_ads.refresh_from_db()
    assert new_ads.creation_date == OLD
    assert new_ads.drivers.get().status == Driver.Status.SALARIE
