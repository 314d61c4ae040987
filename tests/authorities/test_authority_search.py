"""People type names as they come: without accents, in capitals, with or without dashes."""

import importlib

import pytest
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from mesads.authorities.models import Authority
from mesads.authorities.territories import ensure_authorities
from mesads.core.text import search_key
from mesads.users.models import User
from tests.geo import test_geography_load as geography


def test_search_key_ignores_accents_case_and_punctuation():
    assert search_key("Saint-Étienne") == "saint etienne"
    assert search_key("  L’ABERGEMENT-Clémenciat ") == "l abergement clemenciat"


def test_nimes_without_its_accent_finds_nimes(nimes, ales):
    assert list(Authority.objects.search("nimes")) == [nimes]
    assert list(Authority.objects.search("NÎMES")) == [nimes]
    assert list(Authority.objects.search("30007")) == [ales]


def test_a_newcomer_asking_for_nimes_finds_it_without_typing_the_accent(client, nimes, db):
    client.force_login(User.objects.create_user("nouveau@nimes.fr", "mot-de-passe-de-test"))
    response = client.get(reverse("access:search"), {"q": "Nimes"})
    assert "Demander l’accès" in response.content.decode()
    assert "Nîmes" in response.content.decode()


def test_national_staff_find_an_authority_without_accents(client, staff, nimes, ales):
    client.force_login(staff)
    page = client.get(reverse("ads:authorities"), {"q": "nimes"}).content.decode()
    assert "Nîmes" in page and "Alès" not in page


# --- authorities as production creates them: in bulk, by load_geography ----------------


@pytest.fixture
def loaded_gard(tmp_path, db):
    """Nîmes and Alès loaded by ``load_geography``, as on a fresh ``make run``."""
    fixture = geography.write_fixture(
        tmp_path / "gard.json.gz",
        [geography.commune("30189", "Nîmes", "30"), geography.commune("30007", "Alès", "30")],
        extra_departements=[
            geography.departement("30", "Gard"),
            geography.departement("75", "Paris"),
        ],
    )
    call_command("load_geography", file=str(fixture), verbosity=0)


def test_authorities_loaded_with_the_geography_are_found_by_name(loaded_gard):
    nimes = Authority.objects.get(commune__insee_code="30189")
    assert list(Authority.objects.search("nimes")) == [nimes]
    assert list(Authority.objects.search("Nîmes")) == [nimes]
    assert Authority.objects.search("Alès").get().name == "Alès"
    assert Authority.objects.search("préfecture de police").get().name == (
        "Préfecture de police de Paris"
    )


def test_a_newcomer_asks_for_nimes_on_a_fresh_register(client, loaded_gard):
    client.force_login(User.objects.create_user("agent@nimes.fr", "mot-de-passe-de-test"))
    page = client.get(reverse("access:search"), {"q": "Nîmes"}).content.decode()
    assert "Demander l’accès" in page and "Nîmes" in page
    suggestions = client.get(reverse("access:suggestions"), {"q": "nimes"}).json()["results"]
    assert [s["value"] for s in suggestions] == ["Nîmes (30189)"]


def test_national_staff_find_alès_in_the_list_of_authorities(client, staff, loaded_gard):
    client.force_login(staff)
    page = client.get(reverse("ads:authorities"), {"q": "ales"}).content.decode()
    assert "Alès" in page and "Nîmes" not in page


def test_the_next_geography_load_and_the_migration_refill_empty_search_names(loaded_gard):
    Authority.objects.update(search_name="")  # what earlier loads left
    ensure_authorities()
    assert Authority.objects.search("nimes").count() == 1

    Authority.objects.update(search_name="")
    name = "0007_authority_search_name_refill"
    migration = importlib.import_module(f"mesads.ads.migrations.{name}")
    # The models as that migration sees them (Authority was then the register's).
    migration.refill_search_names(MigrationLoader(None).project_state(("ads", name)).apps, None)
    assert Authority.objects.search("alès").count() == 1
    assert not Authority.objects.filter(search_name="").exists()
