"""The register's rules: numbers, plates, statuses and uses, held by the database."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from mesads.geo.models import Commune, Departement
from mesads.relais import services
from mesads.relais.models import Use, Vehicle
from tests.support.concurrency import needs_postgresql

from .conftest import make_owner, make_vehicle


def test_numbers_per_departement_never_reused(
    owner_a, gard, nimes_commune, herault, montpellier_commune
):
    user, owner = owner_a
    first = make_vehicle(owner, gard, nimes_commune, "AA-001-AA", user)
    second = make_vehicle(owner, gard, nimes_commune, "AA-002-AA", user)
    other = make_vehicle(owner, herault, montpellier_commune, "AA-003-AA", user)
    assert (first.number, second.number, other.number) == ("30-01", "30-02", "34-01")
    services.withdraw_vehicle(second, user, "vendu")
    third = make_vehicle(owner, gard, nimes_commune, "AA-004-AA", user)
    assert third.number == "30-03"  # 30-02 stays the withdrawn vehicle's
    second.refresh_from_db()
    assert second.number == "30-02" and second.status == Vehicle.Status.WITHDRAWN


def test_corsica_and_overseas_numbers(owner_a):
    user, owner = owner_a
    for code in ("2A", "971"):
        departement = Departement.objects.create(code=code, name=code)
        commune = Commune.objects.create(
            insee_code=f"{code}004"[:5],
            type=Commune.Type.ACTUELLE,
            name="C",
            departement=departement,
        )
        vehicle = make_vehicle(owner, departement, commune, f"ZZ-{len(code)}00-ZZ", user)
        assert vehicle.number == f"{code}-01"


def test_plate_canonical_unique_among_live(owner_a, owner_b, gard, nimes_commune):
    user, owner = owner_a
    vehicle = make_vehicle(owner, gard, nimes_commune, "ab 123 cd", user)
    assert vehicle.plate == "AB-123-CD"
    other_user, other_owner = owner_b
    with pytest.raises(IntegrityError), transaction.atomic():
        make_vehicle(other_owner, gard, nimes_commune, "AB123CD", other_user)
    # The form's check says it in French.
    duplicate = Vehicle(
        owner=other_owner, departement=gard, commune=nimes_commune, plate="AB-123-CD"
    )
    with pytest.raises(ValidationError, match="déjà inscrit"):
        duplicate.validate_constraints()
    # Once withdrawn, the plate may be registered again (a new number).
    services.withdraw_vehicle(vehicle, user)
    again = make_vehicle(other_owner, gard, nimes_commune, "AB-123-CD", other_user)
    assert again.number == "30-02"


def test_plate_must_be_canonical_in_database(vehicle_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.filter(pk=vehicle_a.pk).update(plate="n'importe quoi")


def test_number_plate_and_departement_are_fixed(vehicle_a, herault):
    vehicle_a.plate = "XY-999-XY"
    with pytest.raises(ValueError):
        vehicle_a.save()
    vehicle_a.refresh_from_db()
    vehicle_a.number = "30-99"
    with pytest.raises(ValueError):
        vehicle_a.save()


def test_suspension_needs_a_reason(vehicle_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.filter(pk=vehicle_a.pk).update(status=Vehicle.Status.SUSPENDED)


def test_seats_bounded(vehicle_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.filter(pk=vehicle_a.pk).update(seats=0)


def test_withdrawal_kept_in_history(vehicle_a, owner_a):
    from reversion.models import Version

    user, _ = owner_a
    services.withdraw_vehicle(vehicle_a, user, "vendu")
    comments = [v.revision.comment for v in Version.objects.get_for_object(vehicle_a)]
    assert comments == ["Retrait par le propriétaire : vendu", "Inscription au registre"]


def test_use_dates_ordered_and_not_overlapping(vehicle_a, complete_ads, owner_a):
    user, _ = owner_a
    day = datetime.date(2026, 3, 1)
    services.record_use(
        Use(
            vehicle=vehicle_a,
            ads=complete_ads,
            start=day,
            end=day + datetime.timedelta(days=5),
            reason="panne",
        ),
        user,
    )
    overlapping = Use(
        vehicle=vehicle_a,
        ads=complete_ads,
        start=day + datetime.timedelta(days=5),
        end=day + datetime.timedelta(days=9),
        reason="accident",
    )
    with pytest.raises(ValidationError, match="remplace déjà"):
        overlapping.full_clean()
    backwards = Use(
        vehicle=vehicle_a,
        ads=complete_ads,
        start=day,
        end=day - datetime.timedelta(days=1),
        reason="vol",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        backwards.save()
    if connection.vendor == "postgresql":
        # The exclusion constraint: what clean() says, the database enforces.
        with pytest.raises(services.OverlappingUse):
            services.record_use(overlapping, user)
    # The day after the end is free.
    services.record_use(
        Use(
            vehicle=vehicle_a,
            ads=complete_ads,
            start=day + datetime.timedelta(days=6),
            end=day + datetime.timedelta(days=7),
            reason="vol",
        ),
        user,
    )


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_numbers_allocated_at_once_differ(gard, nimes):
    """Two owners registering at the same instant in one département: the counter's row
    lock makes the second wait for the first, so their numbers differ."""
    commune = nimes.commune
    owners = [make_owner(f"p{i}@relais.fr", f"Propriétaire {i}") for i in range(2)]
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def register(index: int) -> None:
        try:
            user, owner = owners[index]
            with transaction.atomic():
                barrier.wait(timeout=10)
                vehicle = make_vehicle(owner, gard, commune, f"RA-00{index}-CE", user)
                numbers.append(vehicle.number)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(numbers) == ["30-01", "30-02"]


def test_demo_owner_and_vehicles(db, gard, nimes, ales, complete_ads):
    from mesads.relais.demo import load_demo_relais

    load_demo_relais("demo-mesads-2026")
    user = load_demo_relais("demo-mesads-2026")  # idempotent
    assert user.check_password("demo-mesads-2026")
    numbers = sorted(Vehicle.objects.values_list("number", flat=True))
    assert numbers == ["30-01", "30-02", "30-03"]
    assert Use.objects.filter(ads=complete_ads).count() == 1
