import datetime

import pytest

from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority
from mesads.geo.models import EPCI, Commune, Departement
from mesads.users.models import AuthorityAccess, InspectorGrant, PrefectureMembership, User
from tests.support.browser import page  # noqa: F401 (the real browser, for every end-to-end test)


@pytest.fixture(autouse=True)
def _fast_tests(settings, tmp_path):
    # A cheap hasher keeps the suite fast; uploaded files go to a throw-away folder.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- a small piece of geography: two communes of the Gard, one of the Hérault, an EPCI --


# Each persona and place is made by a plain function, which its fixture calls: a module
# that reads one world in every test (the authorization matrix) builds it once with them.


def make_gard() -> Departement:
    return Departement.objects.create(code="30", name="Gard", region_code="76")


def make_herault() -> Departement:
    return Departement.objects.create(code="34", name="Hérault", region_code="76")


@pytest.fixture
def gard(db):
    return make_gard()


@pytest.fixture
def herault(db):
    return make_herault()


def _commune_authority(code: str, name: str, departement: Departement) -> Authority:
    commune = Commune.objects.create(
        insee_code=code,
        type=Commune.Type.ACTUELLE,
        name=name,
        departement=departement,
        population=1000,
    )
    return Authority.objects.create(
        type=Authority.Type.COMMUNE, name=name, commune=commune, departement=departement
    )


@pytest.fixture
def paris_prefecture(db) -> Authority:
    """The Préfecture de police: the authority of Paris's ADS, with no commune of its own
    (its ADS are attached to the chef-lieu, 75056)."""
    paris = Departement.objects.create(code="75", name="Paris", chef_lieu_code="75056")
    Commune.objects.create(
        insee_code="75056", type=Commune.Type.ACTUELLE, name="Paris", departement=paris
    )
    return Authority.objects.create(
        type=Authority.Type.PREFECTURE,
        name="Préfecture de police",
        prefecture=paris,
        departement=paris,
    )


def make_nimes(gard: Departement) -> Authority:
    return _commune_authority("30189", "Nîmes", gard)


def make_ales(gard: Departement) -> Authority:
    return _commune_authority("30007", "Alès", gard)


def make_montpellier(herault: Departement) -> Authority:
    return _commune_authority("34172", "Montpellier", herault)


@pytest.fixture
def nimes(gard) -> Authority:
    return make_nimes(gard)


@pytest.fixture
def ales(gard) -> Authority:
    return make_ales(gard)


@pytest.fixture
def montpellier(herault) -> Authority:
    return make_montpellier(herault)


@pytest.fixture
def nimes_metropole(gard, nimes) -> Authority:
    epci = EPCI.objects.create(siren="200035319", name="CA Nîmes Métropole", type="CA")
    epci.members.add(nimes.commune)
    return Authority.objects.create(
        type=Authority.Type.EPCI, name=epci.name, epci=epci, departement=gard
    )


# --- personas ---------------------------------------------------------------------------


def _manager(email: str, authority: Authority) -> User:
    user = User.objects.create_user(email, "mot-de-passe-de-test", first_name="Camille")
    AuthorityAccess.objects.create(
        user=user, authority=authority, status=AuthorityAccess.Status.ACCEPTED
    )
    return user


def make_manager(nimes: Authority) -> User:
    return _manager("gestionnaire@nimes.fr", nimes)


def make_other_manager(ales: Authority) -> User:
    return _manager("gestionnaire@ales.fr", ales)


@pytest.fixture
def manager(nimes) -> User:
    """A mairie employee who manages Nîmes."""
    return make_manager(nimes)


@pytest.fixture
def other_manager(ales) -> User:
    """A manager of another commune (Alès), same département."""
    return make_other_manager(ales)


def make_pending_user(nimes: Authority) -> User:
    user = User.objects.create_user("demandeur@nimes.fr", "mot-de-passe-de-test")
    AuthorityAccess.objects.create(user=user, authority=nimes)
    return user


def make_prefecture_agent(departement: Departement, email: str, **fields) -> User:
    user = User.objects.create_user(email, "mot-de-passe-de-test", **fields)
    PrefectureMembership.objects.create(
        user=user, departement=departement, status=PrefectureMembership.Status.ACCEPTED
    )
    return user


def make_inspector(departement: Departement, email: str) -> User:
    user = User.objects.create_user(email, "mot-de-passe-de-test")
    InspectorGrant.objects.create(user=user, departement=departement)
    return user


def make_staff() -> User:
    return User.objects.create_user(
        "equipe@transports.gouv.fr", "mot-de-passe-de-test", is_staff=True, first_name="Dominique"
    )


@pytest.fixture
def pending_user(nimes) -> User:
    return make_pending_user(nimes)


@pytest.fixture
def prefecture_agent(gard) -> User:
    """An agent of the Gard prefecture (Nîmes and Alès are in the Gard)."""
    return make_prefecture_agent(gard, "agent@gard.gouv.fr", first_name="Claude")


@pytest.fixture
def other_prefecture_agent(herault) -> User:
    """An agent of another département's prefecture (Hérault)."""
    return make_prefecture_agent(herault, "agent@herault.gouv.fr")


@pytest.fixture
def inspector(gard) -> User:
    """A read-only inspector (police, CPAM) of the Gard."""
    return make_inspector(gard, "controle@police.gard.fr")


@pytest.fixture
def other_inspector(herault) -> User:
    return make_inspector(herault, "controle@police.herault.fr")


@pytest.fixture
def staff(db) -> User:
    return make_staff()


# --- ADS --------------------------------------------------------------------------------


@pytest.fixture
def complete_ads(nimes) -> ADS:
    """An old-regime ADS in use, with everything the law requires."""
    ads = ADS(
        authority=nimes,
        number="12",
        creation_date=datetime.date(2005, 3, 1),
        attribution_date=datetime.date(2012, 6, 1),
        holder_name="Taxi Arènes SARL",
        holder_siret="73282932000074",
        vehicle_plate="AB-123-CD",
        vehicle_pmr=False,
        vehicle_low_emission=True,
    )
    ads.save()
    drivers = [
        Driver.objects.create(
            ads=ads, status=Driver.Status.SALARIE, name="Jean Martin", card_number="CP-30-0001"
        )
    ]
    ads.refresh_derived(drivers)
    ads.save()
    return ads


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """What `make serve` does first (the hashed, compressed static files), once per test
    process for every test that starts the production server."""
    from tests.support.production import collect_static

    return collect_static(tmp_path_factory.mktemp("static"))


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end the sessions that threads of the test
    process still hold on it: the live server answers a browser's keep-alive connection in
    a daemon thread, which keeps its database connection after the server has stopped.
    Django would otherwise print « database … is being accessed by other users » and leave
    the database behind. (Subprocesses — gunicorn, workers — are stopped by their tests.)"""
    yield
    from django.db import connection as test_connection

    if test_connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), test_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
