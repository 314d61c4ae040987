"""An action's address opened by a link (a bookmark, ``next=`` after logging in again)
shows a French page, not the browser's bare « HTTP ERROR 405 »."""

import pytest
from django.urls import reverse

from mesads.core.middleware import MethodNotAllowedPageMiddleware

pytestmark = pytest.mark.django_db

TITLE = "Cette action ne s’ouvre pas par un lien"


def test_logging_in_again_towards_an_action_shows_a_french_page(client, manager, complete_ads):
    attest_url = reverse("ads:attest", args=[complete_ads.pk])

    response = client.post(
        f"{reverse('login')}?next={attest_url}",
        {"username": manager.email, "password": "mot-de-passe-de-test", "next": attest_url},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == attest_url
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert f"<h1>{TITLE}</h1>" in page
    assert "Rien n’a été fait." in page
    assert f'href="{reverse("ads:detail", args=[complete_ads.pk])}"' in page
    assert 'class="fr-header"' in page
    # And nothing was attested.
    complete_ads.refresh_from_db()
    assert complete_ads.attested_at is None


def test_an_action_without_a_page_above_links_to_the_home_page(client, manager):
    client.force_login(manager)

    response = client.get(reverse("logout"))

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    page = response.content.decode()
    assert TITLE in page
    assert "Revenir à la page de l’action" not in page
    assert 'href="/">Retour à l’accueil' in page


def test_an_anonymous_visitor_is_still_sent_to_the_login(client, complete_ads):
    attest_url = reverse("ads:attest", args=[complete_ads.pk])

    response = client.get(attest_url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={attest_url}"


@pytest.mark.parametrize("path", ["//evil.example/ads/attester/", "/\\evil.example/attester/"])
def test_the_link_back_never_leaves_the_site(path):
    assert MethodNotAllowedPageMiddleware.page_of(path) == "/"
