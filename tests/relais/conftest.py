import datetime

import pytest

from mesads.geo.models import Commune
from mesads.relais import services
from mesads.relais.models import Membership, Owner, Vehicle
from mesads.users.models import User

VALID_SIRET = "73282932000074"  # a real one (Luhn)
OTHER_SIRET = "55208131766522"


def make_owner(email: str, name: str, siret: str = VALID_SIRET) -> tuple[User, Owner]:
    user = User.objects.create_user(email, "mot-de-passe-de-test")
    owner = Owner.objects.create(
        name=name,
        siret=siret,
        address="12 rue des Arènes, 30000 Nîmes",
        phone="0466000000",
        email=f"contact@{name.lower().replace(' ', '-')}.fr",
    )
    Membership.objects.create(owner=owner, user=user)
    return user, owner


def make_vehicle(owner: Owner, departement, commune, plate: str, user=None) -> Vehicle:
    return services.register_vehicle(
        Vehicle(
            owner=owner,
            departement=departement,
            commune=commune,
            plate=plate,
            make="Toyota",
            model="Corolla",
            engine=Vehicle.Engine.HYBRID,
            first_registration_date=datetime.date(2022, 3, 1),
            seats=4,
            wheelchair_accessible=False,
        ),
        user,
    )


@pytest.fixture
def nimes_commune(nimes) -> Commune:
    return nimes.commune


@pytest.fixture
def montpellier_commune(montpellier) -> Commune:
    return montpellier.commune


@pytest.fixture
def owner_a(db) -> tuple[User, Owner]:
    """A taxi company of Nîmes and the person who manages it."""
    return make_owner("gerant@taxis-a.fr", "Taxis A")


@pytest.fixture
def owner_b(db) -> tuple[User, Owner]:
    """Another owner (a garage)."""
    return make_owner("garage@b.fr", "Garage B", OTHER_SIRET)


@pytest.fixture
def vehicle_a(owner_a, gard, nimes_commune) -> Vehicle:
    user, owner = owner_a
    return make_vehicle(owner, gard, nimes_commune, "AB-123-CD", user)


@pytest.fixture
def vehicle_b(owner_b, gard, nimes_commune) -> Vehicle:
    user, owner = owner_b
    return make_vehicle(owner, gard, nimes_commune, "EF-456-GH", user)


@pytest.fixture
def vehicle_herault(owner_b, herault, montpellier_commune) -> Vehicle:
    user, owner = owner_b
    return make_vehicle(owner, herault, montpellier_commune, "JK-789-LM", user)
