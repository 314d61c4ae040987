"""le.taxi checks a taxi: an ADS by the INSEE code of its commune and its number, with
the plate and the driver's card in whatever spelling the operator typed."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.api.models import Profile
from mesads.authorities.models import Authority
from mesads.geo.models import Airport

from .conftest import register_sql

pytestmark = pytest.mark.django_db

VERIFY = reverse("api:verification")


@pytest.fixture
def le_taxi(make_key):
    return make_key(Profile.LE_TAXI)[0]


def test_a_taxi_of_nimes_is_verified_with_its_plate_and_card(api, le_taxi, complete_ads):
    answer = api(
        VERIFY,
        le_taxi,
        insee="30189",
        numero="12",
        immatriculation="ab 123cd",
        carte_pro="cp30 0001",
    ).json()
    assert answer["trouvee"] is True
    assert answer["exploitee"] is True
    assert answer["immatriculation_concorde"] is True
    assert answer["carte_pro_concorde"] is True
    assert answer["regime"] == "ancienne"
    assert answer["renouvellement_en_retard"] is False
    assert (answer["pmr"], answer["conventionnee_cpam"], answer["certifiee"]) == (
        False,
        False,
        False,
    )
    assert answer["ads"]["id"] == complete_ads.pk


def test_another_plate_or_card_does_not_match(api, le_taxi, complete_ads):
    answer = api(
        VERIFY, le_taxi, insee="30189", numero="12", immatriculation="ZZ-999-ZZ", carte_pro="X1"
    ).json()
    assert (answer["immatriculation_concorde"], answer["carte_pro_concorde"]) == (False, False)


def test_without_plate_nor_card_their_match_is_null(api, le_taxi, complete_ads):
    answer = api(VERIFY, le_taxi, insee="30189", numero="12").json()
    assert (answer["immatriculation_concorde"], answer["carte_pro_concorde"]) == (None, None)


def test_an_unknown_or_deleted_ads_is_not_found(api, le_taxi, complete_ads):
    assert api(VERIFY, le_taxi, insee="30189", numero="13").json()["trouvee"] is False
    complete_ads.deleted_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    complete_ads.save()
    assert api(VERIFY, le_taxi, insee="30189", numero="12").json() == {
        "trouvee": False,
        "exploitee": None,
        "immatriculation_concorde": None,
        "carte_pro_concorde": None,
        "regime": None,
        "echeance_renouvellement": None,
        "renouvellement_en_retard": None,
        "pmr": None,
        "conventionnee_cpam": None,
        "certifiee": None,
        "ads": None,
    }


def test_the_number_is_found_in_another_spelling(api, le_taxi, nimes):
    ads = ADS.objects.create(authority=nimes, number="A-07")
    assert api(VERIFY, le_taxi, insee="30189", numero="a07").json()["ads"]["id"] == ads.pk


def test_an_epci_ads_is_found_by_the_insee_code_of_its_commune(
    api, le_taxi, nimes_metropole, nimes
):
    ads = ADS.objects.create(
        authority=nimes_metropole,
        number="5",
        commune=nimes.commune,
        creation_date=datetime.date(2018, 5, 1),
    )
    answer = api(VERIFY, le_taxi, insee="30189", numero="5").json()
    assert answer["ads"]["id"] == ads.pk
    assert answer["ads"]["insee"] == "30189"
    assert answer["regime"] == "nouvelle"
    assert answer["echeance_renouvellement"] == "2023-05-01"
    assert answer["renouvellement_en_retard"] is True


def test_a_prefecture_de_police_ads_is_found_by_the_code_of_paris(api, le_taxi, paris_prefecture):
    ads = ADS.objects.create(authority=paris_prefecture, number="12345")
    answer = api(VERIFY, le_taxi, insee="75056", numero="12345").json()
    assert answer["ads"]["id"] == ads.pk
    assert answer["ads"]["insee"] == "75056"


def test_a_malformed_insee_code_is_a_400_in_french(api, le_taxi):
    response = api(VERIFY, le_taxi, insee="3O189", numero="12")
    assert response.status_code == 400
    assert response.json()["erreur"] == "parametres_invalides"
    assert "insee" in response.json()["details"]


def test_an_unknown_parameter_is_refused(api, le_taxi):
    response = api(VERIFY, le_taxi, insee="30189", numero="12", immat="AB-123-CD")
    assert response.json()["details"] == {"immat": ["Paramètre inconnu."]}


def test_a_parameter_given_twice_is_refused_not_read_as_one_of_its_values(api, le_taxi):
    response = api(VERIFY, le_taxi, insee="30189", numero=["12", "13"])
    assert response.status_code == 400
    once = "Ce paramètre ne peut être donné qu’une fois."
    assert response.json()["details"] == {"numero": [once]}


def test_an_epci_ads_without_a_commune_is_found_by_a_commune_that_delegated_to_it(
    api, le_taxi, nimes, nimes_metropole
):
    """The EPCI did not say where its ADS is used: any member commune that delegated its
    ADS to it finds it, as the documentation says."""
    nimes.delegated_to = nimes_metropole
    nimes.save()
    ads = ADS.objects.create(authority=nimes_metropole, number="E-9")
    answer = api(VERIFY, le_taxi, insee="30189", numero="e9").json()
    assert answer["trouvee"] is True
    assert answer["ads"]["id"] == ads.pk
    assert answer["ads"]["gestionnaire"] == {"id": nimes_metropole.pk, "type": "epci"}


def test_an_airport_ads_is_found_by_the_code_of_a_commune_of_its_departement(
    api, le_taxi, gard, nimes, montpellier
):
    airport = Airport.objects.create(code="LFTW", name="Nîmes-Garons", departement=gard)
    authority = Authority.objects.create(
        type=Authority.Type.AIRPORT, name=airport.name, airport=airport, departement=gard
    )
    ads = ADS.objects.create(authority=authority, number="A1")
    answer = api(VERIFY, le_taxi, insee="30189", numero="A1").json()
    assert answer["ads"]["id"] == ads.pk
    assert answer["ads"]["gestionnaire"] == {"id": authority.pk, "type": "airport"}
    # A commune of another département does not find it.
    assert api(VERIFY, le_taxi, insee="34172", numero="A1").json()["trouvee"] is False


def test_the_verified_ads_reads_as_the_register_gives_it_everywhere(
    api, make_key, complete_ads, nimes_metropole, nimes, paris_prefecture
):
    """The verification builds its answer from its own queries: the ADS it returns is the
    one the detail endpoint gives, field for field, for a commune's ADS with its holder
    and drivers, an EPCI's ADS used in a commune, and a Paris ADS."""
    raw = make_key(Profile.COMPLET)[0]
    epci_ads = ADS.objects.create(
        authority=nimes_metropole, number="5", commune=nimes.commune, in_use=False
    )
    paris_ads = ADS.objects.create(authority=paris_prefecture, number="75-1")
    for insee, ads in (("30189", complete_ads), ("30189", epci_ads), ("75056", paris_ads)):
        answer = api(VERIFY, raw, insee=insee, numero=ads.number).json()
        detail = api(reverse("api:ads_detail", args=[ads.pk]), raw).json()
        assert answer["ads"] == detail, ads.number


def test_a_verification_is_three_queries_of_the_register(api, le_taxi, complete_ads):
    params = {"insee": "30189", "numero": "12", "immatriculation": "AB123CD"}
    api(VERIFY, le_taxi, **params)
    with CaptureQueriesContext(connection) as queries:
        assert api(VERIFY, le_taxi, **params).json()["immatriculation_concorde"] is True
    register = register_sql(queries)
    # The commune and its authorities, the ADS with what it reads of them, its drivers.
    assert len(register) == 3, register
