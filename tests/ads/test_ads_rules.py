"""The rules of an ADS record, as the law and the register state them.

Each rule is checked twice, as the models promise: ``full_clean()`` (or the form) shows
a French message on the field at fault, and the named database constraint refuses the
row when something writes it without validating (an import, a script, a bug).
"""

import datetime
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mesads.ads.forms import ADSForm, DriverFormSet
from mesads.ads.models import ADS, Driver
from mesads.ads.services import save_ads
from mesads.ads.validators import normalize_phone, normalize_plate

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
OLD = datetime.date(2005, 3, 1)  # created before 1 October 2014
NEW = datetime.date(2016, 5, 2)  # created after

FUTURE_MESSAGE = "Cette date ne peut pas être dans le futur."


def years_ago(years: int) -> datetime.date:
    return TODAY.replace(year=TODAY.year - years, day=min(TODAY.day, 28))


def validation_errors(ads: ADS) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        ads.full_clean()
    return error.value.message_dict


@contextmanager
def refused_by(constraint: str):
    """The database refuses the write, naming the constraint.

    SQLite names a CHECK constraint in its message, but reports a unique index by its
    columns; PostgreSQL names both.
    """
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        yield
    message = str(error.value)
    if connection.vendor == "sqlite" and message.startswith("UNIQUE constraint failed"):
        return
    assert constraint in message


# --- dates and regimes ------------------------------------------------------------------


def test_a_new_regime_ads_has_no_attribution_date(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=NEW, attribution_date=NEW)

    assert validation_errors(ads) == {
        "attribution_date": [
            "Une ADS créée à partir du 1er octobre 2014 n’a pas de date d’attribution : "
            "elle reste à son premier titulaire, qui ne peut pas la céder."
        ]
    }
    with refused_by("ads_new_regime_no_attribution_date"):
        ADS.objects.create(authority=nimes, number="1", creation_date=NEW, attribution_date=NEW)


def test_the_new_regime_starts_on_1_october_2014(nimes):
    last_old = ADS(
        authority=nimes,
        number="1",
        creation_date=datetime.date(2014, 9, 30),
        attribution_date=datetime.date(2014, 9, 30),
    )
    first_new = ADS(
        authority=nimes,
        number="2",
        creation_date=datetime.date(2014, 10, 1),
        attribution_date=datetime.date(2014, 10, 1),
    )

    last_old.full_clean()
    assert list(validation_errors(first_new)) == ["attribution_date"]


def test_an_old_regime_ads_has_no_renewal_date(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=OLD, last_renewal_date=NEW)

    assert validation_errors(ads) == {
        "last_renewal_date": [
            "Une ADS créée avant le 1er octobre 2014 n’est pas limitée dans le temps : "
            "elle n’a pas de date de renouvellement."
        ]
    }
    with refused_by("ads_old_regime_no_renewal_date"):
        ADS.objects.create(authority=nimes, number="1", creation_date=OLD, last_renewal_date=NEW)


def test_attribution_is_not_before_creation(nimes):
    day_before = OLD - datetime.timedelta(days=1)
    ads = ADS(authority=nimes, number="1", creation_date=OLD, attribution_date=day_before)

    assert validation_errors(ads) == {
        "attribution_date": [
            "La date d’attribution ne peut pas précéder la date de création de l’ADS."
        ]
    }
    with refused_by("ads_attribution_after_creation"):
        ADS.objects.create(
            authority=nimes, number="1", creation_date=OLD, attribution_date=day_before
        )


def test_renewal_is_not_before_creation(nimes):
    day_before = NEW - datetime.timedelta(days=1)
    ads = ADS(authority=nimes, number="1", creation_date=NEW, last_renewal_date=day_before)

    assert validation_errors(ads) == {
        "last_renewal_date": [
            "La date de renouvellement ne peut pas précéder la date de création de l’ADS."
        ]
    }
    with refused_by("ads_renewal_after_creation"):
        ADS.objects.create(
            authority=nimes, number="1", creation_date=NEW, last_renewal_date=day_before
        )


def test_no_date_is_in_the_future(nimes):
    tomorrow = TODAY + datetime.timedelta(days=1)
    new_created_tomorrow = ADS(authority=nimes, number="1", creation_date=tomorrow)
    old_attributed_tomorrow = ADS(
        authority=nimes, number="2", creation_date=OLD, attribution_date=tomorrow
    )
    new_renewed_tomorrow = ADS(
        authority=nimes, number="3", creation_date=NEW, last_renewal_date=tomorrow
    )

    assert validation_errors(new_created_tomorrow) == {"creation_date": [FUTURE_MESSAGE]}
    assert validation_errors(old_attributed_tomorrow) == {"attribution_date": [FUTURE_MESSAGE]}
    assert validation_errors(new_renewed_tomorrow) == {"last_renewal_date": [FUTURE_MESSAGE]}
    ADS(authority=nimes, number="4", creation_date=TODAY).full_clean()


# --- identifiers: SIRET, plate, phone ---------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("732.829.320.00074", "73282932000074"),
        # La Poste's head office carries a Luhn key like everyone…
        ("35600000000048", "35600000000048"),
        # …its other establishments do not: the sum of their digits is a multiple of 5.
        ("356 000 000 49837", "35600000049837"),
    ],
)
def test_a_valid_siret_is_accepted_and_normalised(nimes, typed, stored):
    ads = ADS(authority=nimes, number="1", holder_siret=typed)

    ads.full_clean()

    assert ads.holder_siret == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "73282932000075",
            "Ce numéro SIRET n’est pas valide (la clé de contrôle ne correspond pas) : "
            "vérifiez qu’aucun chiffre n’a été inversé ou oublié.",
        ),
        ("7328293200007", "Le SIRET doit comporter exactement 14 chiffres."),
        ("7328293200007A", "Le SIRET doit comporter exactement 14 chiffres."),
        # Neither a Luhn key nor a sum of digits multiple of 5.
        ("35600000049838", "Ce numéro SIRET de La Poste n’est pas valide."),
    ],
)
def test_an_invalid_siret_is_refused(nimes, typed, message):
    ads = ADS(authority=nimes, number="1", holder_siret=typed)

    assert validation_errors(ads) == {"holder_siret": [message]}


def test_the_database_stores_only_a_14_digit_siret(nimes):
    with refused_by("ads_holder_siret_format"):
        ADS.objects.create(authority=nimes, number="1", holder_siret="7328293200 074")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ab123cd", "AB-123-CD"),
        ("AB 123 CD", "AB-123-CD"),
        ("ab-123-cd", "AB-123-CD"),
        ("1234 ab 56", "1234 AB 56"),
        ("12abc2a", "12 ABC 2A"),
        ("123 ab 971", "123 AB 971"),
    ],
)
def test_a_plate_is_stored_in_its_canonical_form(nimes, typed, stored):
    ads = ADS(authority=nimes, number="1", vehicle_plate=typed)

    ads.full_clean()

    assert ads.vehicle_plate == stored
    assert normalize_plate(typed) == stored


@pytest.mark.parametrize("typed", ["ABC-12", "taxi", "AB-1234-CD", "12345 AB 30"])
def test_an_unrecognised_plate_is_refused(nimes, typed):
    ads = ADS(authority=nimes, number="1", vehicle_plate=typed)

    assert validation_errors(ads) == {
        "vehicle_plate": [
            "Immatriculation non reconnue : attendu le format AB-123-CD "
            "(ou l’ancien format 1234 AB 56)."
        ]
    }


def test_the_database_stores_only_a_canonical_plate(nimes):
    with refused_by("ads_vehicle_plate_format"):
        ADS.objects.create(authority=nimes, number="1", vehicle_plate="ab123cd")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("+33 6 12 34 56 78", "0612345678"),
        ("0033 6 12 34 56 78", "0612345678"),
        ("+590 590 12 34 56", "+590590123456"),
    ],
)
def test_a_phone_number_is_normalised(nimes, typed, stored):
    ads = ADS(authority=nimes, number="1", holder_phone=typed)

    ads.full_clean()

    assert ads.holder_phone == stored
    assert normalize_phone(typed) == stored


def test_an_invalid_phone_number_is_refused(nimes):
    ads = ADS(authority=nimes, number="1", holder_phone="12 34")

    assert validation_errors(ads) == {
        "holder_phone": [
            "Numéro de téléphone non valide : 10 chiffres (06 12 34 56 78) "
            "ou format international (+590 …)."
        ]
    }


# --- the number -------------------------------------------------------------------------


def ads_form(authority, number: str, instance: ADS | None = None) -> ADSForm:
    data = {"number": number, "in_use": "", "vehicle_pmr": "unknown", "attest": "on"}
    data["vehicle_low_emission"] = "unknown"
    return ADSForm(data, instance=instance, authority=authority)


def test_a_number_is_unique_within_an_authority(nimes, complete_ads):
    form = ads_form(nimes, " 12 ")

    assert not form.is_valid()
    assert form.errors["number"] == [
        "Ce gestionnaire a déjà une ADS n° 12 : chaque numéro est unique."
    ]
    with refused_by("ads_number_unique_per_authority"):
        ADS.objects.create(authority=nimes, number="12")


def test_an_ads_keeps_its_own_number_when_edited(nimes, complete_ads):
    form = ads_form(nimes, "12", instance=complete_ads)

    assert form.is_valid(), form.errors


def test_another_authority_may_use_the_same_number(ales, complete_ads):
    assert ads_form(ales, "12").is_valid()
    ADS.objects.create(authority=ales, number="12")


def test_the_number_of_a_deleted_ads_can_be_reused(nimes, complete_ads):
    complete_ads.deleted_at = timezone.now()
    complete_ads.save()

    assert ads_form(nimes, "12").is_valid()
    ADS.objects.create(authority=nimes, number="12")
    assert ADS.objects.filter(authority=nimes, number="12").count() == 2


def test_numbers_sort_naturally(nimes):
    for number in ["10", "2", "A-7", "A-12", "1"]:
        ADS.objects.create(authority=nimes, number=number)

    numbers = list(ADS.objects.natural_order().values_list("number", flat=True))

    assert numbers == ["1", "2", "10", "A-7", "A-12"]


# --- drivers ----------------------------------------------------------------------------


def drivers_formset(ads: ADS, *drivers: dict) -> DriverFormSet:
    data = {
        "drivers-TOTAL_FORMS": str(len(drivers)),
        "drivers-INITIAL_FORMS": "0",
        "drivers-MIN_NUM_FORMS": "0",
        "drivers-MAX_NUM_FORMS": "20",
    }
    for index, driver in enumerate(drivers):
        data.update({f"drivers-{index}-{name}": value for name, value in driver.items()})
    return DriverFormSet(data, instance=ads, prefix="drivers")


TITULAIRE = {"status": "titulaire_exploitant", "name": "Ana Lopez", "card_number": "CP-1"}
SALARIE = {"status": "salarie", "name": "Jean Martin", "card_number": "CP-2"}
TITULAIRE_BIS = {"status": "titulaire_exploitant", "name": "Léa Petit", "card_number": "CP-3"}


def test_a_new_regime_ads_has_a_single_driver(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=NEW)
    formset = drivers_formset(ads, TITULAIRE, TITULAIRE_BIS)

    assert not formset.is_valid()
    assert (
        "Une ADS créée à partir du 1er octobre 2014 est exploitée personnellement par son "
        "titulaire : elle ne peut avoir qu’un seul conducteur." in formset.non_form_errors()
    )
    assert drivers_formset(ads, TITULAIRE).is_valid()


def test_a_new_regime_ads_is_operated_by_its_holder_only(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=NEW)
    formset = drivers_formset(ads, SALARIE)

    assert not formset.is_valid()
    assert formset.non_form_errors() == [
        "Une ADS créée à partir du 1er octobre 2014 ne peut être exploitée que par son "
        "titulaire (statut « titulaire exploitant »)."
    ]


def test_a_vacant_new_regime_ads_may_have_no_driver(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=NEW, in_use=False)

    assert drivers_formset(ads).is_valid()


def test_an_old_regime_ads_may_have_several_drivers(nimes):
    ads = ADS(authority=nimes, number="1", creation_date=OLD)

    assert drivers_formset(ads, TITULAIRE, SALARIE).is_valid()


def test_an_ads_has_at_most_one_titulaire_exploitant(complete_ads):
    formset = drivers_formset(complete_ads, TITULAIRE, TITULAIRE_BIS)

    assert not formset.is_valid()
    assert formset.non_form_errors() == ["Une ADS ne peut avoir qu’un seul titulaire exploitant."]
    Driver.objects.create(ads=complete_ads, status=Driver.Status.TITULAIRE, name="Ana Lopez")
    with refused_by("driver_one_titulaire_per_ads"):
        Driver.objects.create(ads=complete_ads, status=Driver.Status.TITULAIRE, name="Léa Petit")


def test_only_a_driver_with_own_business_has_a_siret(complete_ads):
    employee_with_siret = {**SALARIE, "siret": "732 829 320 00074"}
    lessee_with_siret = {**SALARIE, "status": "locataire_cooperateur", "siret": "73282932000074"}
    formset = drivers_formset(complete_ads, employee_with_siret)

    assert not formset.is_valid()
    assert formset.forms[0].errors["siret"] == [
        "Un conducteur au statut « Salarié » n’a pas de SIRET propre : laissez ce champ vide."
    ]
    assert drivers_formset(complete_ads, lessee_with_siret).is_valid()
    with refused_by("driver_siret_only_for_own_business"):
        Driver.objects.create(
            ads=complete_ads, status=Driver.Status.SALARIE, name="Jean", siret="73282932000074"
        )


def test_a_driver_siret_is_checked_and_normalised(complete_ads):
    wrong_key = {**TITULAIRE, "siret": "73282932000075"}
    with_spaces = {**TITULAIRE, "siret": "732 829 320 00074"}
    formset = drivers_formset(complete_ads, wrong_key)

    assert not formset.is_valid()
    assert "la clé de contrôle ne correspond pas" in formset.forms[0].errors["siret"][0]
    valid = drivers_formset(complete_ads, with_spaces)
    assert valid.is_valid()
    assert valid.forms[0].instance.siret == "73282932000074"
    with refused_by("driver_siret_format"):
        Driver.objects.create(
            ads=complete_ads, status=Driver.Status.TITULAIRE, name="Ana", siret="732829320"
        )


def test_only_a_locataire_gerant_has_a_lease_start_date(complete_ads):
    lease = "2020-01-15"
    employee_with_lease = {**SALARIE, "lease_start_date": lease}
    lessee = {**SALARIE, "status": "locataire_gerant", "lease_start_date": lease}
    formset = drivers_formset(complete_ads, employee_with_lease)

    assert not formset.is_valid()
    assert formset.forms[0].errors["lease_start_date"] == [
        "Seul un locataire-gérant a une date de début de location-gérance."
    ]
    assert drivers_formset(complete_ads, lessee).is_valid()
    with refused_by("driver_lease_date_only_for_locataire_gerant"):
        Driver.objects.create(
            ads=complete_ads,
            status=Driver.Status.SALARIE,
            name="Jean",
            lease_start_date=datetime.date(2020, 1, 15),
        )


# --- completeness -----------------------------------------------------------------------

EVERYTHING_MISSING = [
    "la date de création de l’ADS",
    "le nom du titulaire",
    "le SIRET du titulaire",
    "l’immatriculation du véhicule",
    "l’accessibilité du véhicule aux personnes en fauteuil roulant",
    "le caractère faiblement émetteur du véhicule",
    "au moins un conducteur",
]


def test_an_empty_ads_in_use_lacks_everything_the_law_requires(nimes):
    assert ADS(authority=nimes, number="1").missing_information([]) == EVERYTHING_MISSING


def test_a_complete_ads_lacks_nothing(complete_ads):
    assert complete_ads.missing_information() == []
    assert complete_ads.is_complete


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"creation_date": None}, "la date de création de l’ADS"),
        ({"holder_name": ""}, "le nom du titulaire"),
        ({"holder_siret": ""}, "le SIRET du titulaire"),
        ({"vehicle_plate": ""}, "l’immatriculation du véhicule"),
        ({"vehicle_pmr": None}, "l’accessibilité du véhicule aux personnes en fauteuil roulant"),
        ({"vehicle_low_emission": None}, "le caractère faiblement émetteur du véhicule"),
    ],
)
def test_each_missing_piece_is_named(complete_ads, change, missing):
    for name, value in change.items():
        setattr(complete_ads, name, value)

    assert complete_ads.missing_information() == [missing]


def test_every_driver_needs_a_professional_card(complete_ads):
    complete_ads.drivers.update(card_number="")

    assert complete_ads.missing_information() == [
        "le numéro de carte professionnelle de chaque conducteur"
    ]


def test_an_ads_in_use_needs_a_driver(complete_ads):
    assert complete_ads.missing_information([]) == ["au moins un conducteur"]


def test_a_vacant_ads_needs_only_its_creation_date(nimes):
    vacant = ADS(authority=nimes, number="1", in_use=False, creation_date=OLD)

    assert vacant.missing_information([]) == []
    vacant.creation_date = None
    assert vacant.missing_information([]) == ["la date de création de l’ADS"]


def save_through_the_form(ads: ADS, user, **changes) -> ADS:
    data = {
        "version": ads.version,
        "attest": "on",
        "number": ads.number,
        "creation_date": ads.creation_date or "",
        "attribution_date": ads.attribution_date or "",
        "in_use": "on" if ads.in_use else "",
        "holder_name": ads.holder_name,
        "holder_siret": ads.holder_siret,
        "vehicle_plate": ads.vehicle_plate,
        "vehicle_pmr": {True: "true", False: "false", None: "unknown"}[ads.vehicle_pmr],
        "vehicle_low_emission": {True: "true", False: "false", None: "unknown"}[
            ads.vehicle_low_emission
        ],
        **changes,
    }
    drivers = list(ads.drivers.all())
    data.update(
        {
            "drivers-TOTAL_FORMS": str(len(drivers)),
            "drivers-INITIAL_FORMS": str(len(drivers)),
            "drivers-MIN_NUM_FORMS": "0",
            "drivers-MAX_NUM_FORMS": "20",
        }
    )
    for index, driver in enumerate(drivers):
        for name in ("id", "status", "name", "siret", "card_number"):
            data[f"drivers-{index}-{name}"] = getattr(driver, name)
    form = ADSForm(data, instance=ads, authority=ads.authority)
    assert form.is_valid(), form.errors
    formset = DriverFormSet(data, instance=ads, prefix="drivers")
    assert formset.is_valid(), formset.errors
    return save_ads(form, formset, user)


def test_completeness_is_stored_when_the_ads_is_saved(complete_ads, manager):
    save_through_the_form(complete_ads, manager, vehicle_plate="")
    assert ADS.objects.get(pk=complete_ads.pk).is_complete is False
    assert ADS.objects.incomplete().count() == 1

    save_through_the_form(ADS.objects.get(pk=complete_ads.pk), manager, vehicle_plate="ab123cd")
    assert ADS.objects.get(pk=complete_ads.pk).is_complete is True
    assert ADS.objects.incomplete().count() == 0


# --- renewal of new-regime ADS ----------------------------------------------------------


def test_a_new_regime_ads_not_renewed_for_five_years_is_overdue(nimes):
    overdue = ADS.objects.create(authority=nimes, number="1", creation_date=years_ago(6))
    renewed = ADS.objects.create(
        authority=nimes, number="2", creation_date=years_ago(6), last_renewal_date=years_ago(2)
    )
    recent = ADS.objects.create(authority=nimes, number="3", creation_date=years_ago(2))
    renewed_long_ago = ADS.objects.create(
        authority=nimes, number="4", creation_date=years_ago(11), last_renewal_date=years_ago(6)
    )
    old_regime = ADS.objects.create(authority=nimes, number="5", creation_date=OLD)
    unknown = ADS.objects.create(authority=nimes, number="6")

    assert set(ADS.objects.renewal_overdue()) == {overdue, renewed_long_ago}
    assert overdue.is_renewal_overdue()
    assert renewed_long_ago.is_renewal_overdue()
    assert not renewed.is_renewal_overdue()
    assert not recent.is_renewal_overdue()
    assert not old_regime.is_renewal_overdue()
    assert not unknown.is_renewal_overdue()


@pytest.mark.parametrize(
    ("created", "today", "overdue"),
    [
        (datetime.date(2018, 6, 15), datetime.date(2023, 6, 14), False),
        (datetime.date(2018, 6, 15), datetime.date(2023, 6, 15), True),
        (datetime.date(2016, 2, 29), datetime.date(2021, 2, 27), False),
        (datetime.date(2016, 2, 29), datetime.date(2021, 2, 28), True),
    ],
)
def test_the_query_and_the_record_agree_on_the_due_date(nimes, created, today, overdue):
    ads = ADS.objects.create(authority=nimes, number="1", creation_date=created)

    assert ads.is_renewal_overdue(today) is overdue
    assert ADS.objects.renewal_overdue(today).exists() is overdue
