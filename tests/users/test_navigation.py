"""The navigation is the same on every page (issue 10, point 9): a prefecture agent lost
« Préfecture » and « Demandes à traiter » on an access request's page, whose own
``access`` shadowed the navigation's."""

import re

import pytest
from django.urls import reverse

from mesads.users.models import AuthorityAccess


def menu(page: str) -> list[str]:
    nav = page[page.index('<nav class="fr-nav"') :]
    nav = nav[: nav.index("</nav>")]
    return re.findall(r'class="fr-nav__link"[^>]*>([^<]+)</a>', nav)


@pytest.fixture
def pages(nimes, pending_user, manager):
    request = AuthorityAccess.objects.get(user=pending_user, authority=nimes)
    granted = AuthorityAccess.objects.get(user=manager, authority=nimes)
    return [
        reverse("home"),
        reverse("ads:authorities"),
        reverse("access:requests"),
        reverse("access:request_detail", args=[request.pk]),
        reverse("access:revoke", args=[granted.pk]),
        reverse("prefecture:index"),
    ]


def test_a_prefecture_agent_has_the_same_menu_on_every_page(client, prefecture_agent, pages):
    client.force_login(prefecture_agent)
    menus = {}
    for url in pages:
        response = client.get(url)
        if response.status_code == 200:
            menus[url] = menu(response.content.decode())
    assert len(menus) == len(pages)  # every page opened
    home = menus[reverse("home")]
    assert "Préfecture" in home and "Demandes à traiter" in home
    for url, items in menus.items():
        assert items == home, url
