"""The register's pages: who may open them, and what a manager finds there.

The ladder on every page: an anonymous visitor is sent to the login page; a manager of
another commune, or someone whose request is still pending, gets a 404 (the page does
not reveal that the ADS exists); the manager of Nîmes and national staff get the page.
"""

import datetime
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority
from mesads.users.models import AuthorityAccess, User

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def years_ago(years: int) -> datetime.date:
    return TODAY.replace(year=TODAY.year - years, day=min(TODAY.day, 28))


def make_ads(authority: Authority, number: str, drivers=(), **fields) -> ADS:
    ads = ADS(authority=authority, number=number, **fields)
    ads.save()
    saved = [Driver.objects.create(ads=ads, **driver) for driver in drivers]
    ads.refresh_derived(saved)
    ads.save()
    return ads


def listed(response) -> list[str]:
    """The ADS numbers shown in the list, in the order shown."""
    assert response.status_code == 200
    return re.findall(
        r'<th scope="row"[^>]*><a href="[^"]+">ADS n° ([^<]+)</a>', response.content.decode()
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the access ladder ------------------------------------------------------------------


@pytest.fixture
def urls(nimes, complete_ads) -> dict[str, str]:
    return {
        "dashboard": reverse("ads:authority", args=[nimes.pk]),
        "declaration": reverse("ads:declaration", args=[nimes.pk]),
        "list": reverse("ads:list", args=[nimes.pk]),
        "create": reverse("ads:create", args=[nimes.pk]),
        "detail": reverse("ads:detail", args=[complete_ads.pk]),
        "edit": reverse("ads:edit", args=[complete_ads.pk]),
        "delete": reverse("ads:delete", args=[complete_ads.pk]),
        "history": reverse("ads:history", args=[complete_ads.pk]),
    }


# What the manager of Nîmes sees on each page.
CONTENT = {
    "dashboard": ["<h1>Nîmes</h1>", "Commune – 30189 – 30 – Gard", "Voir la liste des ADS"],
    "declaration": ["<h1>Aucune ADS ou gestion déléguée</h1>", "le territoire de Nîmes"],
    "list": ["<h1>Les ADS de Nîmes</h1>", "ADS n° 12</a>", "Taxi Arènes SARL", "AB-123-CD"],
    "create": ["<h1>Déclarer une ADS</h1>", "<title>Déclarer une ADS – Nîmes"],
    "detail": ["<h1>ADS n° 12</h1>", "Taxi Arènes SARL", "Jean Martin", "CP-30-0001"],
    "edit": ["<h1>Modifier l’ADS n° 12</h1>", 'value="Taxi Arènes SARL"'],
    "delete": ["<h1>Supprimer l’ADS n° 12 ?</h1>", "Motif de la suppression"],
    "history": ["<h1>Historique de l’ADS n° 12</h1>"],
}
PAGES = list(CONTENT)


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, urls, page):
    response = client.get(urls[page])

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={urls[page]}"


@pytest.mark.parametrize("page", PAGES)
def test_the_manager_of_another_commune_gets_a_404(client, other_manager, urls, page):
    client.force_login(other_manager)

    assert client.get(urls[page]).status_code == 404
    assert client.post(urls[page]).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_a_pending_request_gives_no_access(client, pending_user, urls, page):
    client.force_login(pending_user)

    assert client.get(urls[page]).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_the_manager_sees_the_page(client, manager, urls, page):
    client.force_login(manager)

    response = client.get(urls[page])

    assert response.status_code == 200
    html = response.content.decode()
    for text in CONTENT[page]:
        assert text in html
    assert html.count("<h1") == 1
    assert 'class="fr-breadcrumb"' in html


# Pages that only read are served outside the request's transaction (two round trips
# fewer: mesads.core.http.read_only); the pages that write keep it.
READ_ONLY_PAGES = ["dashboard", "list", "detail", "history"]


@pytest.mark.parametrize("page", PAGES)
def test_only_the_pages_that_write_open_a_transaction(client, manager, urls, page):
    client.force_login(manager)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(urls[page]).status_code == 200

    # Inside the test's own transaction, the request's one is a savepoint.
    savepoints = [query["sql"] for query in queries if "SAVEPOINT" in query["sql"]]
    assert bool(savepoints) == (page not in READ_ONLY_PAGES), savepoints


@pytest.mark.parametrize("page", PAGES)
def test_national_staff_see_every_page(client, staff, urls, page):
    client.force_login(staff)

    response = client.get(urls[page])

    assert response.status_code == 200
    assert CONTENT[page][0] in response.content.decode()
    assert response.content.decode().count("<h1") == 1


def test_the_authority_list_shows_only_the_managers_authorities(
    client, manager, other_manager, pending_user, nimes, ales, complete_ads
):
    url = reverse("ads:authorities")
    assert client.get(url).status_code == 302

    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "<h1>Mes gestionnaires d’ADS</h1>" in page
    assert ">Nîmes</a>" in page
    assert "Alès" not in page

    client.force_login(other_manager)
    page = client.get(url).content.decode()
    assert ">Alès</a>" in page
    assert "Nîmes" not in page

    client.force_login(pending_user)
    page = client.get(url).content.decode()
    assert "Vous ne gérez encore aucune commune" in page
    assert page.count("<h1") == 1


def test_staff_see_and_search_every_authority(client, staff, nimes, ales, montpellier):
    client.force_login(staff)
    url = reverse("ads:authorities")

    page = client.get(url).content.decode()
    assert "<h1>Gestionnaires d’ADS</h1>" in page
    assert all(f">{name}</a>" in page for name in ["Alès", "Montpellier", "Nîmes"])
    assert page.count("<h1") == 1

    by_insee = client.get(url, {"q": "30189"}).content.decode()
    assert ">Nîmes</a>" in by_insee and "Alès" not in by_insee
    by_departement = client.get(url, {"q": "34"}).content.decode()
    assert ">Montpellier</a>" in by_departement and "Nîmes" not in by_departement
    nothing = client.get(url, {"q": "Lyon"}).content.decode()
    assert "Aucun gestionnaire ne correspond à cette recherche." in nothing


def test_only_national_staff_restore(client, manager, other_manager, staff, complete_ads):
    complete_ads.deleted_at = timezone.now()
    complete_ads.save()
    url = reverse("ads:restore", args=[complete_ads.pk])

    anonymous = client.post(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))
    for user in (other_manager, manager):
        client.force_login(user)
        assert client.post(url).status_code == 404
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is not None

    client.force_login(staff)
    assert client.post(url).status_code == 302
    complete_ads.refresh_from_db()
    assert complete_ads.deleted_at is None


# --- a locked register ------------------------------------------------------------------


@pytest.fixture
def locked(nimes) -> Authority:
    nimes.is_locked = True
    nimes.lock_reason = "Fichier hebdomadaire de la Préfecture de police."
    nimes.save()
    return nimes


@pytest.mark.parametrize("page", ["create", "edit", "delete", "declaration"])
def test_a_locked_register_cannot_be_changed_here(client, manager, locked, urls, page):
    client.force_login(manager)

    for response in (client.get(urls[page]), client.post(urls[page], {"comment": "x"})):
        assert response.status_code == 403
        html = response.content.decode()
        assert "Le registre de ce gestionnaire est verrouillé" in html
        assert "Motif : Fichier hebdomadaire de la Préfecture de police." in html
    assert ADS.objects.live().count() == 1


@pytest.mark.parametrize("page", ["dashboard", "list", "detail", "history"])
def test_a_locked_register_can_still_be_read(client, manager, locked, urls, page):
    client.force_login(manager)

    response = client.get(urls[page])

    assert response.status_code == 200
    html = response.content.decode()
    assert CONTENT[page][0] in html
    assert urls["create"] not in html
    assert urls["edit"] not in html


# --- search and filters -----------------------------------------------------------------


@pytest.fixture
def register(nimes, complete_ads) -> dict[str, ADS]:
    """Four ADS of Nîmes, each with something to find, and a deleted one."""
    vacant = make_ads(nimes, "3", creation_date=years_ago(2), in_use=False, cpam_agreement=True)
    overdue = make_ads(
        nimes,
        "A-7",
        creation_date=years_ago(7),
        holder_name="Ana Lopez",
        holder_siret="35600000049837",
        vehicle_plate="1234 AB 30",
        vehicle_pmr=True,
        vehicle_low_emission=True,
        drivers=[{"status": "titulaire_exploitant", "name": "Ana Lopez", "card_number": "CP-7"}],
    )
    incomplete = make_ads(nimes, "20", creation_date=datetime.date(1998, 1, 5))
    make_ads(nimes, "99", creation_date=years_ago(9), deleted_at=timezone.now())
    return {"12": complete_ads, "3": vacant, "A-7": overdue, "20": incomplete}


def test_the_list_shows_every_live_ads_in_natural_order(client, manager, nimes, register):
    client.force_login(manager)

    response = client.get(reverse("ads:list", args=[nimes.pk]))

    assert listed(response) == ["3", "12", "20", "A-7"]
    assert "4 ADS" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("12", ["12"]),
        ("a-7", ["A-7"]),
        ("arènes", ["12"]),
        ("732 829 320 00074", ["12"]),
        ("73282932", ["12"]),
        ("ab123cd", ["12"]),
        ("AB 123 CD", ["12"]),
        ("1234ab30", ["A-7"]),
        ("martin", ["12"]),
        ("CP-30-0001", ["12"]),
        ("Lopez", ["A-7"]),
        ("Dupont", []),
    ],
)
def test_search(client, manager, nimes, register, query, found):
    client.force_login(manager)

    response = client.get(reverse("ads:list", args=[nimes.pk]), {"q": query})

    assert listed(response) == found
    assert f"{len(found)} ADS correspondant à votre recherche" in response.content.decode()


@pytest.mark.parametrize(
    ("filters", "found"),
    [
        ({"exploitation": "vacante"}, ["3"]),
        ({"exploitation": "exploitee"}, ["12", "20", "A-7"]),
        ({"completude": "a_completer"}, ["20"]),
        ({"completude": "complete"}, ["3", "12", "A-7"]),
        ({"regime": "nouvelle"}, ["3", "A-7"]),
        ({"regime": "ancienne"}, ["12", "20"]),
        ({"cpam": "on"}, ["3"]),
        ({"pmr": "on"}, ["A-7"]),
        ({"renouvellement": "on"}, ["A-7"]),
        ({"regime": "ancienne", "q": "taxi"}, ["12"]),
        ({"exploitation": "vacante", "regime": "ancienne"}, []),
    ],
)
def test_filters(client, manager, nimes, register, filters, found):
    client.force_login(manager)

    response = client.get(reverse("ads:list", args=[nimes.pk]), filters)

    assert listed(response) == found
    assert "Réinitialiser" in response.content.decode()


def test_an_empty_register_says_so(client, manager, nimes):
    client.force_login(manager)

    response = client.get(reverse("ads:list", args=[nimes.pk]))

    page = response.content.decode()
    assert "Aucune ADS n’est encore déclarée pour Nîmes." in page
    assert "0 ADS" in page
    assert page.count("<h1") == 1


def test_a_search_without_result_says_so(client, manager, nimes, complete_ads):
    client.force_login(manager)

    response = client.get(reverse("ads:list", args=[nimes.pk]), {"q": "Dupont"})

    page = response.content.decode()
    assert (
        "Aucune ADS ne correspond à cette recherche : modifiez ou réinitialisez les filtres."
        in page
    )
    assert "0 ADS correspondant à votre recherche" in page


def test_the_list_is_paginated_in_natural_order(client, manager, nimes):
    numbers = [str(n) for n in range(1, 54)]
    random.Random(4).shuffle(numbers)
    register = [
        ADS(authority=nimes, number=number, creation_date=years_ago(30)) for number in numbers
    ]
    for ads in register:
        ads.refresh_derived([])
    ADS.objects.bulk_create(register)
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    first = client.get(url, {"regime": "ancienne"})
    second = client.get(url, {"regime": "ancienne", "page": "2"})

    assert listed(first) == [str(n) for n in range(1, 51)]
    assert listed(second) == ["51", "52", "53"]
    assert "Page 1 sur 2" in first.content.decode()
    assert "Page 2 sur 2" in second.content.decode()
    assert "?regime=ancienne&amp;page=2" in first.content.decode()
    assert "53 ADS correspondant à votre recherche" in second.content.decode()


# --- the dashboard ----------------------------------------------------------------------


def tiles(response) -> dict[str, int]:
    """The figures of the dashboard, by their caption."""
    pairs = re.findall(
        r'<p class="fr-tile__title">(?:<a [^>]*>)?([\d\s\u202f\xa0]+)(?:</a>)?</p>'
        r'<p class="fr-tile__desc">([^<]+)</p>',
        response.content.decode(),
    )
    return {caption: int(re.sub(r"\D", "", figure)) for figure, caption in pairs}


def test_the_dashboard_counts_the_register(client, manager, nimes, register):
    client.force_login(manager)

    response = client.get(reverse("ads:authority", args=[nimes.pk]))

    assert tiles(response) == {
        "ADS": 4,
        "exploitées": 3,
        "vacantes": 1,
        "à compléter": 1,
        "renouvellement dépassé": 1,
    }


def test_the_authority_list_counts_the_register(client, manager, nimes, register):
    client.force_login(manager)

    response = client.get(reverse("ads:authorities"))

    row = re.search(r">Nîmes</a>.*?</tr>", response.content.decode(), re.S).group(0)
    code, *counts = re.findall(r"<td>(\d+)</td>", row)
    assert (code, counts) == ("30189", ["4", "3", "1", "1", "1"])


# --- "no ADS" and delegation to an EPCI -------------------------------------------------


def test_an_authority_with_ads_cannot_declare_it_has_none(client, manager, nimes, complete_ads):
    client.force_login(manager)

    response = client.post(reverse("ads:declaration", args=[nimes.pk]), {"declares_no_ads": "on"})

    assert response.status_code == 200
    assert response.context["form"].errors["declares_no_ads"] == [
        "Impossible de déclarer n’avoir aucune ADS : "
        "des ADS sont enregistrées pour ce gestionnaire."
    ]
    assert "Impossible de déclarer n’avoir aucune ADS" in response.content.decode()
    nimes.refresh_from_db()
    assert nimes.declares_no_ads is False


def test_an_authority_without_ads_declares_it_has_none(client, manager, nimes):
    client.force_login(manager)

    response = client.post(
        reverse("ads:declaration", args=[nimes.pk]), {"declares_no_ads": "on"}, follow=True
    )

    assert response.redirect_chain == [(reverse("ads:authority", args=[nimes.pk]), 302)]
    assert messages_of(response) == ["La déclaration a été enregistrée."]
    assert "Ce gestionnaire a déclaré n’avoir aucune ADS sur son territoire." in (
        response.content.decode()
    )
    nimes.refresh_from_db()
    assert nimes.declares_no_ads is True


def test_no_ads_and_delegation_cannot_both_be_declared(client, manager, nimes, nimes_metropole):
    client.force_login(manager)

    response = client.post(
        reverse("ads:declaration", args=[nimes.pk]),
        {"declares_no_ads": "on", "delegated_to": nimes_metropole.pk},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Choisissez : soit aucune ADS sur le territoire, soit une gestion déléguée." in page
    assert "authority_no_ads_or_delegated" not in page
    nimes.refresh_from_db()
    assert (nimes.declares_no_ads, nimes.delegated_to) == (False, None)


@pytest.fixture
def epci_manager(nimes_metropole) -> User:
    user = User.objects.create_user("ads@nimes-metropole.fr", "mot-de-passe-de-test")
    AuthorityAccess.objects.create(
        user=user, authority=nimes_metropole, status=AuthorityAccess.Status.ACCEPTED
    )
    return user


def test_a_commune_delegates_to_its_epci(
    client, manager, epci_manager, nimes, nimes_metropole, complete_ads
):
    client.force_login(manager)
    form = client.get(reverse("ads:declaration", args=[nimes.pk]))
    assert f'<option value="{nimes_metropole.pk}">CA Nîmes Métropole</option>' in (
        form.content.decode()
    )

    response = client.post(
        reverse("ads:declaration", args=[nimes.pk]),
        {"delegated_to": nimes_metropole.pk},
        follow=True,
    )

    assert "Les ADS de ce territoire sont gérées par CA Nîmes Métropole." in (
        response.content.decode()
    )
    nimes.refresh_from_db()
    assert nimes.delegated_to == nimes_metropole

    client.force_login(epci_manager)
    authorities = client.get(reverse("ads:authorities")).content.decode()
    assert ">CA Nîmes Métropole</a>" in authorities
    assert ">Nîmes</a>" in authorities
    dashboard = client.get(reverse("ads:authority", args=[nimes_metropole.pk])).content.decode()
    assert "Communes ayant délégué leurs ADS" in dashboard
    assert listed(client.get(reverse("ads:list", args=[nimes.pk]))) == ["12"]
    assert client.get(reverse("ads:edit", args=[complete_ads.pk])).status_code == 200
    assert {a.name for a in Authority.objects.for_user(epci_manager)} == {
        "CA Nîmes Métropole",
        "Nîmes",
    }


def test_a_commune_delegates_only_to_an_epci_it_belongs_to(
    client, other_manager, ales, nimes_metropole
):
    client.force_login(other_manager)
    url = reverse("ads:declaration", args=[ales.pk])
    assert "CA Nîmes Métropole" not in client.get(url).content.decode()

    response = client.post(url, {"delegated_to": nimes_metropole.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["delegated_to"]
    ales.refresh_from_db()
    assert ales.delegated_to is None


def test_an_epci_ads_is_placed_in_one_of_its_member_communes(
    client, epci_manager, nimes, ales, nimes_metropole
):
    client.force_login(epci_manager)
    url = reverse("ads:create", args=[nimes_metropole.pk])

    page = client.get(url).content.decode()

    assert "Commune de stationnement" in page
    options = re.findall(
        r'<option value="(\d+)"', page.split('name="commune"')[1].split("</select>")[0]
    )
    assert options == [str(nimes.commune.pk)]
    data = {
        "number": "1",
        "in_use": "",
        "vehicle_pmr": "unknown",
        "vehicle_low_emission": "unknown",
        "drivers-TOTAL_FORMS": "0",
        "drivers-INITIAL_FORMS": "0",
        "attest": "on",
    }
    refused = client.post(url, {**data, "commune": ales.commune.pk})
    assert refused.status_code == 200
    assert refused.context["form"].errors["commune"]
    accepted = client.post(url, {**data, "commune": nimes.commune.pk})
    assert accepted.status_code == 302
    assert ADS.objects.get(authority=nimes_metropole).commune == nimes.commune


def test_a_commune_ads_form_has_no_commune_field(client, manager, nimes):
    client.force_login(manager)

    page = client.get(reverse("ads:create", args=[nimes.pk])).content.decode()

    assert 'name="commune"' not in page


def test_a_number_that_looks_like_an_old_plate_is_still_found_as_a_number(client, manager, nimes):
    ADS.objects.create(authority=nimes, number="2B12", creation_date=datetime.date(2001, 1, 1))
    client.force_login(manager)
    page = client.get(reverse("ads:list", args=[nimes.pk]), {"q": "2b12"}).content.decode()
    assert "ADS n° 2B12" in page
