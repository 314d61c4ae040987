"""People type names as they come: without accents, in capitals, with or without dashes."""

from django.urls import reverse

from mesads.ads.models import Authority
from mesads.core.text import search_key


def test_search_key_ignores_accents_case_and_punctuation():
    assert search_key("Saint-Étienne") == "saint etienne"
    assert search_key("  L’ABERGEMENT-Clémenciat ") == "l abergement clemenciat"


def test_nimes_without_its_accent_finds_nimes(nimes, ales):
    assert list(Authority.objects.search("nimes")) == [nimes]
    assert list(Authority.objects.search("NÎMES")) == [nimes]
    assert list(Authority.objects.search("30007")) == [ales]


def test_a_newcomer_asking_for_nimes_finds_it_without_typing_the_accent(client, nimes, db):
    from mesads.users.models import User

    client.force_login(User.objects.create_user("nouveau@nimes.fr", "mot-de-passe-de-test"))
    response = client.get(reverse("access:search"), {"q": "Nimes"})
    assert "Demander l’accès" in response.content.decode()
    assert "Nîmes" in response.content.decode()


def test_national_staff_find_an_authority_without_accents(client, staff, nimes, ales):
    client.force_login(staff)
    page = client.get(reverse("ads:authorities"), {"q": "nimes"}).content.decode()
    assert "Nîmes" in page and "Alès" not in page
