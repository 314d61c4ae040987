"""The relay taxis in the re-use API: plate verification and list, with the keys' scopes
and profiles."""

import datetime

import pytest
from django.urls import reverse

from mesads.api.models import APIKey, Profile
from mesads.relais import services
from mesads.relais.models import Use


@pytest.fixture
def make_key(db):
    def make(profile: str, *departements) -> str:
        key, raw = APIKey.objects.create_key(
            name="Production",
            organisation="Police",
            profile=profile,
            scope=APIKey.Scope.DEPARTEMENTS if departements else APIKey.Scope.NATIONAL,
        )
        key.departements.set(departements)
        return raw

    return make


def _get(client, name: str, key: str, **params):
    return client.get(reverse(name), params, HTTP_X_API_KEY=key)


@pytest.fixture
def in_use(vehicle_a, complete_ads, owner_a):
    user, _ = owner_a
    today = datetime.date.today()
    return services.record_use(
        Use(vehicle=vehicle_a, ads=complete_ads, start=today, end=today, reason="accident"), user
    )


def test_verification_by_plate(client, make_key, in_use, complete_ads, gard):
    key = make_key(Profile.LE_TAXI)
    answer = _get(client, "relais_api:verification", key, immatriculation="ab123cd").json()
    assert answer == {
        "inscrit": True,
        "numero": "30-01",
        "departement": "30",
        "statut": "actif",
        "ads_remplacee": {
            "id": complete_ads.pk,
            "numero": complete_ads.number,
            "insee": "30189",
            "du": in_use.start.isoformat(),
            "au": in_use.end.isoformat(),
            "motif": "accident",
        },
    }
    answer = _get(client, "relais_api:verification", key, immatriculation="ZZ-000-ZZ").json()
    assert answer == {"inscrit": False}


def test_anonymous_profile_does_not_learn_the_replaced_ads(client, make_key, in_use):
    key = make_key(Profile.ANONYME)
    answer = _get(client, "relais_api:verification", key, immatriculation="AB-123-CD").json()
    assert answer == {"inscrit": True, "numero": "30-01", "departement": "30", "statut": "actif"}


def test_scoped_key(client, make_key, vehicle_a, vehicle_herault, herault):
    key = make_key(Profile.COMPLET, herault)
    response = _get(client, "relais_api:verification", key, immatriculation="AB-123-CD")
    assert response.status_code == 404
    listed = _get(client, "relais_api:list", key).json()
    assert [v["numero"] for v in listed["resultats"]] == ["34-01"]
    assert _get(client, "relais_api:list", key, departement="30").status_code == 404


def test_list_pages_and_no_key(client, make_key, vehicle_a, vehicle_b, vehicle_herault):
    key = make_key(Profile.ANONYME)
    first = _get(client, "relais_api:list", key, taille=2).json()
    assert [v["numero"] for v in first["resultats"]] == ["30-01", "30-02"]
    assert first["resultats"][0]["proprietaire"] == {
        "nom": "Taxis A",
        "telephone": "0466000000",
        "email": "contact@taxis-a.fr",
    }
    second = _get(client, "relais_api:list", key, taille=2, curseur=first["curseur_suivant"])
    assert [v["numero"] for v in second.json()["resultats"]] == ["34-01"]
    assert client.get(reverse("relais_api:list")).status_code == 401
    assert _get(client, "relais_api:list", key, inconnu="1").status_code == 400


def test_change_feed_follows_registrations_changes_and_withdrawals(
    client, make_key, owner_a, vehicle_a, vehicle_herault, herault
):
    user, owner = owner_a
    key = make_key(Profile.LE_TAXI)
    first = _get(client, "relais_api:changes", key).json()
    assert [(e["numero"], e["evenement"]) for e in first["resultats"]] == [
        ("30-01", "creation"),
        ("34-01", "creation"),
    ]
    assert first["resultats"][0]["vehicule"]["immatriculation"] == "AB-123-CD"
    # Nothing new: the same cursor comes back, empty.
    again = _get(client, "relais_api:changes", key, depuis=first["curseur"]).json()
    assert again["resultats"] == [] and again["curseur"] == first["curseur"]
    services.withdraw_vehicle(vehicle_a, user, "vendu")
    page = _get(client, "relais_api:changes", key, depuis=first["curseur"]).json()
    assert page["resultats"] == [
        {
            "position": page["resultats"][0]["position"],
            "numero": "30-01",
            "evenement": "retrait",
            "vehicule": None,
        }
    ]
    # A key of the Hérault sees only the Hérault's changes.
    scoped = make_key(Profile.LE_TAXI, herault)
    assert [
        e["numero"] for e in _get(client, "relais_api:changes", scoped).json()["resultats"]
    ] == ["34-01"]
    assert _get(client, "relais_api:changes", key, depuis="nimporte").status_code == 400
