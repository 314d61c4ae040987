"""A re-user's key: what it opens, what it refuses (in French, as JSON), what it shows.

A Gard key never sees an Hérault ADS, through any endpoint or filter; a le.taxi key never
sees a holder's phone or e-mail; every error is a JSON body with a code and a message.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, Driver
from mesads.api import changes
from mesads.api.models import APIKey, APIKeyUsage, Profile

from .conftest import register_sql

pytestmark = pytest.mark.django_db

VERIFY = reverse("api:verification")
LIST = reverse("api:ads_list")
CHANGES = reverse("api:changes")
AUTHORITIES = reverse("api:authorities")


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= {"erreur", "message"}
    return body


def test_without_a_key_the_api_answers_401_in_french(api, complete_ads):
    body = _error(api(VERIFY, insee="30189", numero="12"), 401)
    assert body["erreur"] == "cle_manquante"
    assert body["message"].startswith("Clé d’API manquante")


def test_a_wrong_key_gets_401(api, make_key, complete_ads):
    raw, _ = make_key()
    body = _error(api(LIST, raw[:-2] + "xx"), 401)
    assert body == {
        "erreur": "cle_inconnue",
        "message": "Clé d’API inconnue : vérifiez qu’elle a été copiée en entier.",
    }
    assert _error(api(LIST, "n'importe-quoi"), 401)["erreur"] == "cle_inconnue"
    assert _error(api(LIST, "x" * 300 + "." + raw), 401)["erreur"] == "cle_inconnue"


def test_a_revoked_key_gets_403(api, make_key, complete_ads):
    raw, key = make_key()
    key.revoked = True
    key.save()
    body = _error(api(LIST, raw), 403)
    assert body["erreur"] == "cle_revoquee"
    assert "révoquée" in body["message"]


def test_an_expired_key_gets_403(api, make_key, complete_ads):
    raw, _ = make_key(expiry_date=timezone.now() - datetime.timedelta(days=1))
    assert _error(api(LIST, raw), 403)["erreur"] == "cle_expiree"


def test_the_key_is_accepted_in_the_authorization_header_too(client, make_key, complete_ads):
    raw, _ = make_key()
    response = client.get(LIST, HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert response.status_code == 200
    assert [ads["numero"] for ads in response.json()["resultats"]] == ["12"]


def test_the_key_is_stored_hashed(make_key):
    raw, key = make_key()
    key.refresh_from_db()
    assert raw.split(".")[1] not in key.hashed_key
    assert key.hashed_key.startswith("sha512$$")


# --- scope: a Gard key and the Hérault -----------------------------------------------------


@pytest.fixture
def gard_key(make_key, gard):
    return make_key(Profile.COMPLET, gard, organisation="Préfecture du Gard")[0]


def test_a_gard_key_never_sees_an_herault_ads(
    api, gard_key, complete_ads, montpellier_ads, montpellier, herault
):
    listed = api(LIST, gard_key, taille=1000).json()["resultats"]
    assert [ads["id"] for ads in listed] == [complete_ads.pk]
    for filters in (
        {"insee": "34172"},
        {"gestionnaire": montpellier.pk},
        {"exploitee": "true"},
        {"conventionnee_cpam": "false"},
        {"pmr": "false"},
        {"modifiee_depuis": "2000-01-01T00:00:00Z"},
    ):
        found = api(LIST, gard_key, **filters).json()["resultats"]
        assert montpellier_ads.pk not in [ads["id"] for ads in found], filters
    # Asking for the Hérault by name is « not found », as the ADS itself.
    assert _error(api(LIST, gard_key, departement="34"), 404)["erreur"] == "introuvable"
    detail = reverse("api:ads_detail", args=[montpellier_ads.pk])
    assert _error(api(detail, gard_key), 404)["message"].startswith("Aucun objet")
    assert _error(api(VERIFY, gard_key, insee="34172", numero="3"), 404)
    # Both filters at once, or a cursor: still only the Gard.
    both = api(LIST, gard_key, departement="30", insee="34172").json()["resultats"]
    assert both == []
    after_cursor = api(LIST, gard_key, curseur=0, taille=1).json()["resultats"]
    assert [ads["id"] for ads in after_cursor] == [complete_ads.pk]
    for depuis in ("0", changes.encode_position(1)):
        feed = api(CHANGES, gard_key, depuis=depuis, taille=1000).json()["resultats"]
        assert montpellier_ads.pk not in {entry["ads_id"] for entry in feed}
    feed = api(CHANGES, gard_key, taille=1000).json()["resultats"]
    assert {entry["ads_id"] for entry in feed} == {complete_ads.pk}
    for filters in ({}, {"type": "commune"}, {"declaration": "jamais"}, {"curseur": 0}):
        authorities = api(AUTHORITIES, gard_key, taille=1000, **filters).json()["resultats"]
        assert "Montpellier" not in [a["nom"] for a in authorities], filters
        assert {a["departement"] for a in authorities} <= {"30"}, filters
    assert _error(api(AUTHORITIES, gard_key, departement="34"), 404)


def test_a_gard_key_sees_the_gard(api, gard_key, complete_ads, montpellier_ads):
    response = api(reverse("api:ads_detail", args=[complete_ads.pk]), gard_key)
    assert response.json()["numero"] == "12"
    assert api(LIST, gard_key, departement="30").json()["resultats"][0]["insee"] == "30189"


def test_an_ads_moved_to_the_herault_leaves_the_gard_mirror(
    api, gard_key, complete_ads, nimes, herault
):
    after = api(CHANGES, gard_key).json()["curseur"]
    nimes.departement = herault
    nimes.save()
    entries = api(CHANGES, gard_key, depuis=after).json()["resultats"]
    assert [(e["ads_id"], e["ads"]) for e in entries] == [(complete_ads.pk, None)]


def test_a_key_limited_to_no_departement_sees_nothing(api, make_key, complete_ads, gard):
    raw, key = make_key(Profile.COMPLET, gard)
    key.departements.clear()
    assert api(LIST, raw).json()["resultats"] == []
    assert api(CHANGES, raw).json()["resultats"] == []


# --- profiles -------------------------------------------------------------------------------


@pytest.fixture
def contact_ads(complete_ads):
    complete_ads.holder_phone = "0612345678"
    complete_ads.holder_email = "arenes@taxi.fr"
    complete_ads.notes = "Note interne"
    complete_ads.save()
    return complete_ads


def _every_answer(api, key, ads):
    """Every endpoint's answer about ``ads``, as text."""
    yield api(VERIFY, key, insee="30189", numero=ads.number).content.decode()
    yield api(LIST, key).content.decode()
    yield api(reverse("api:ads_detail", args=[ads.pk]), key).content.decode()
    yield api(CHANGES, key).content.decode()


def test_a_le_taxi_key_never_sees_the_holders_phone_or_email(api, make_key, contact_ads):
    raw, _ = make_key(Profile.LE_TAXI)
    for text in _every_answer(api, raw, contact_ads):
        assert "0612345678" not in text
        assert "arenes@taxi.fr" not in text
        assert "Note interne" not in text
        assert "Taxi Arènes SARL" in text
        assert "CP-30-0001" in text


def test_a_cpam_key_gets_the_agreement_and_the_vehicle_without_drivers(api, make_key, contact_ads):
    raw, _ = make_key(Profile.CPAM, organisation="CNAM")
    ads = api(reverse("api:ads_detail", args=[contact_ads.pk]), raw).json()
    assert ads["conventionnee_cpam"] is False
    assert ads["vehicule"] == {
        "immatriculation": "AB-123-CD",
        "pmr": False,
        "faibles_emissions": True,
    }
    assert ads["titulaire"] == {"nom": "Taxi Arènes SARL", "siret": "73282932000074"}
    assert "conducteurs" not in ads


def test_an_anonymous_profile_gets_no_personal_data(api, make_key, contact_ads):
    raw, _ = make_key(Profile.ANONYME)
    for text in _every_answer(api, raw, contact_ads):
        assert "Taxi Arènes" not in text and "Jean Martin" not in text and "0612" not in text


def test_the_complete_profile_gets_the_contact_but_never_the_notes(api, make_key, contact_ads):
    raw, _ = make_key(Profile.COMPLET)
    ads = api(reverse("api:ads_detail", args=[contact_ads.pk]), raw).json()
    assert ads["titulaire"]["telephone"] == "0612345678"
    assert ads["titulaire"]["email"] == "arenes@taxi.fr"
    assert "Note interne" not in str(ads)


# --- counting -------------------------------------------------------------------------------


def test_every_call_is_counted_and_written_at_most_once_a_minute(
    api, make_key, complete_ads, shared_cache
):
    from mesads.api.keys import flush_usage, pending_calls

    raw, key = make_key()
    for _ in range(5):
        assert api(LIST, raw).status_code == 200
    today = timezone.localdate()
    key.refresh_from_db()
    assert key.last_used_at is not None
    if shared_cache == "redis-down":
        # Nothing can wait in a cache that keeps nothing: every call is written at once.
        assert APIKeyUsage.objects.get(key=key, day=today).calls == 5
        assert flush_usage(today) == "0 appel(s) à l’API comptabilisé(s)"
        return
    # The first call wrote its count; the next four wait in the cache.
    assert APIKeyUsage.objects.get(key=key, day=today).calls == 1
    assert pending_calls(key.pk, today) == 4
    assert flush_usage(today) == "4 appel(s) à l’API comptabilisé(s)"
    assert APIKeyUsage.objects.get(key=key, day=today).calls == 5
    assert flush_usage(today) == "0 appel(s) à l’API comptabilisé(s)"


def test_a_key_over_its_limit_gets_429_with_retry_after(api, make_key, complete_ads, shared_cache):
    raw, _ = make_key(rate_limit=3)
    statuses = [api(LIST, raw).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api(LIST, raw)
    body = _error(response, 429)
    assert body["erreur"] == "trop_d_appels"
    assert 1 <= int(response["Retry-After"]) <= 61


def _key_queries(api, raw, **params) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        api(VERIFY, raw, **params)
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "api_apikey"' in q["sql"]
    ]


def test_a_key_is_read_in_one_query_and_follows_every_change_at_once(
    api, make_key, gard, herault, complete_ads, montpellier_ads, shared_cache
):
    """Every call reads its key and its départements from the database in one query: a
    change holds from the next call on, through the admin or a bulk update alike
    (OPERATIONS.md L11: a bulk revocation was accepted 60 s longer from a cached key)."""
    raw, key = make_key(Profile.LE_TAXI, gard)
    nimes_12 = {"insee": "30189", "numero": "12"}
    montpellier_3 = {"insee": "34172", "numero": "3"}
    assert api(VERIFY, raw, **nimes_12).json()["trouvee"] is True
    assert len(_key_queries(api, raw, **nimes_12)) == 1

    key.departements.set([herault])
    assert api(VERIFY, raw, **nimes_12).status_code == 404
    assert api(VERIFY, raw, **montpellier_3).json()["trouvee"] is True
    # The through table written directly (no signal): the next call sees it too.
    APIKey.departements.through.objects.filter(apikey=key).update(departement=gard)
    assert api(VERIFY, raw, **nimes_12).json()["trouvee"] is True

    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    assert _error(api(VERIFY, raw, **montpellier_3), 403)["erreur"] == "cle_revoquee"


def test_a_key_that_expires_is_refused_from_the_next_call(api, make_key, complete_ads):
    raw, key = make_key(expiry_date=timezone.now() + datetime.timedelta(days=1))
    assert api(LIST, raw).status_code == 200
    APIKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now())
    assert _error(api(LIST, raw), 403)["erreur"] == "cle_expiree"


def _register_queries(api, raw, url, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api(url, raw, **params).status_code == 200
    return len(register_sql(queries))


@pytest.mark.parametrize("url", [LIST, CHANGES, AUTHORITIES])
def test_a_page_costs_the_same_queries_for_1_or_50_rows(api, make_key, nimes, url):
    raw, _ = make_key(Profile.COMPLET)
    for n in range(50):
        ads = ADS.objects.create(authority=nimes, number=str(n + 100))
        Driver.objects.create(ads=ads, status=Driver.Status.SALARIE, name=f"Conducteur {n}")
    api(url, raw, taille=1)  # the key's first call writes its count; the feed is numbered

    one = _register_queries(api, raw, url, taille=1)
    fifty = _register_queries(api, raw, url, taille=50)

    assert one == fifty
    assert one <= 8


def test_a_moment_before_the_first_representable_one_means_since_forever(
    api, gard_key, complete_ads
):
    response = api(LIST, gard_key, modifiee_depuis="0001-01-01T00:00:01+01:00")
    assert response.status_code == 200, response.json()
    assert len(response.json()["resultats"]) == 1
    response = api(LIST, gard_key, modifiee_depuis="9999-12-31T23:59:59-01:00")
    assert response.json()["resultats"] == []
