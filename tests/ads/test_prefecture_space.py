"""The prefecture's space: the state of its département's registers, the latest changes,
the ADS to certify.

Who opens it: the agents of that département's prefecture and national staff. Anyone
else gets a 404, inspectors included: the space is the prefecture's desk (requests to
decide, expected numbers to set, records to certify), not a part of the register.
"""

import datetime
import re
from html import unescape

import pytest
import reversion
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.certification import certify
from mesads.ads.models import ADS, AuthorityDecree
from mesads.ads.services import record_change
from mesads.authorities.models import Authority
from mesads.geo.models import Commune
from mesads.users.models import AuthorityAccess, PrefectureMembership, User
from tests.ads.test_ads_edit import declare, edit, messages_of
from tests.ads.test_certification import make_ads

pytestmark = pytest.mark.django_db

# Session, user, the request's savepoint and its release, the navigation's roles, the
# département; then the page's own: table (count, page, totals, pending requests, latest
# changes), feed (count, page), ADS list (count, page, the filter's authorities).
TABLE_QUERIES = 11
FEED_QUERIES = 8
ADS_LIST_QUERIES = 9
INDEX_QUERIES = 5


def rows(response) -> list[list[str]]:
    """The cells of the page's first table body, as text."""
    assert response.status_code == 200
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [
        [
            " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def names(response) -> list[str]:
    return [row[0] for row in rows(response)]


def table_url(code: str = "30") -> str:
    return reverse("prefecture:departement", args=[code])


def add_commune(code: str, name: str, departement) -> Authority:
    commune = Commune.objects.create(
        insee_code=code, type=Commune.Type.ACTUELLE, name=name, departement=departement
    )
    return Authority.objects.create(
        type=Authority.Type.COMMUNE, name=name, commune=commune, departement=departement
    )


# --- who may open it --------------------------------------------------------------------


@pytest.fixture
def pages(nimes) -> list[str]:
    return [
        reverse("prefecture:index"),
        table_url(),
        reverse("prefecture:changes", args=["30"]),
        reverse("prefecture:ads", args=["30"]),
        reverse("prefecture:expected_count", args=["30", nimes.pk]),
    ]


def test_an_anonymous_visitor_is_sent_to_login(client, pages):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "persona",
    [
        "manager",
        "other_manager",
        "pending_user",
        "other_prefecture_agent",
        "inspector",
        "other_inspector",
    ],
)
def test_only_the_prefecture_of_the_departement_opens_it(client, request, pages, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)

    for url in pages[1:]:
        assert client.get(url).status_code == 404, url
    # The root lists the user's départements: none but its own for the Hérault's agent.
    expected = 200 if persona == "other_prefecture_agent" else 404
    assert client.get(pages[0]).status_code == expected


def test_a_pending_membership_opens_nothing(client, gard, pages):
    user = User.objects.create_user("candidat@gard.gouv.fr", "mot-de-passe-de-test")
    PrefectureMembership.objects.create(user=user, departement=gard)
    client.force_login(user)

    for url in pages:
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize("persona", ["prefecture_agent", "staff"])
def test_the_prefecture_and_national_staff_open_every_page(client, request, pages, persona):
    client.force_login(request.getfixturevalue(persona))

    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert page.count("<h1") == 1
        assert "<title>" in page and "fr-breadcrumb" in page


def test_the_root_lists_the_agents_departements(client, prefecture_agent, staff, herault):
    client.force_login(prefecture_agent)
    assert names(client.get(reverse("prefecture:index"))) == ["30 – Gard"]

    client.force_login(staff)
    assert names(client.get(reverse("prefecture:index"))) == ["30 – Gard", "34 – Hérault"]


def test_an_unknown_departement_is_a_404(client, staff):
    client.force_login(staff)

    assert client.get(table_url("99")).status_code == 404


# --- the table of authorities -----------------------------------------------------------


@pytest.fixture
def gard_registers(gard, nimes, ales, nimes_metropole, montpellier, prefecture_agent):
    """Nîmes: 4 ADS (3 complete, 2 attested this year, 1 certified, 1 to recertify) and a
    deleted one; Alès: no ADS; Uzès: delegated to the EPCI; Beaucaire: nothing declared."""
    now = timezone.now()
    first = make_ads(nimes, "1", attested_at=now)
    second = make_ads(nimes, "2", attested_at=now - datetime.timedelta(days=30))
    make_ads(nimes, "3", attested_at=now - datetime.timedelta(days=400))
    make_ads(nimes, "4", complete=False)
    make_ads(nimes, "5", deleted_at=now, attested_at=now)
    certify(first, prefecture_agent)
    certify(second, prefecture_agent)
    ADS.objects.filter(pk=second.pk).update(substantive_change_at=timezone.now())
    Authority.objects.filter(pk=ales.pk).update(declares_no_ads=True, expected_ads_count=0)
    Authority.objects.filter(pk=nimes.pk).update(expected_ads_count=6)
    uzes = add_commune("30334", "Uzès", gard)
    uzes.delegated_to = nimes_metropole
    uzes.save()
    add_commune("30032", "Beaucaire", gard)
    make_ads(montpellier, "1")  # the Hérault's: never in the Gard's figures


def test_the_table_tells_the_state_of_each_register(client, prefecture_agent, gard_registers):
    client.force_login(prefecture_agent)

    response = client.get(table_url())

    assert rows(response) == [
        ["Alès", "30007", "0", "0 Modifier le nombre d’ADS attendu pour Alès", "—", "—", "—",
         "Aucune ADS sur son territoire"],
        ["Beaucaire", "30032", "0", "— Modifier le nombre d’ADS attendu pour Beaucaire", "—",
         "—", "—", "Rien déclaré"],
        ["CA Nîmes Métropole", "200035319", "0",
         "— Modifier le nombre d’ADS attendu pour CA Nîmes Métropole", "—", "—", "—",
         "Gère les ADS de 1 commune Rien déclaré"],
        ["Nîmes", "30189", "4 ADS de Nîmes",
         "6 écart Modifier le nombre d’ADS attendu pour Nîmes",
         "75 % 3 sur 4", "50 % 2 sur 4", "25 % 1 sur 4", "ADS déclarées"],
        ["Uzès", "30334", "0", "— Modifier le nombre d’ADS attendu pour Uzès", "—", "—", "—",
         "Déléguée à CA Nîmes Métropole"],
    ]  # fmt: skip
    totals = response.context["totals"]
    assert (totals["ads_total"], totals["ads_complete"]) == (4, 3)
    assert (totals["ads_attested"], totals["ads_certified"]) == (2, 1)


def test_the_table_is_searched_by_name_or_insee_code(client, prefecture_agent, gard_registers):
    client.force_login(prefecture_agent)

    assert names(client.get(table_url(), {"q": "nîmes"})) == ["CA Nîmes Métropole", "Nîmes"]
    assert names(client.get(table_url(), {"q": "30334"})) == ["Uzès"]
    assert names(client.get(table_url(), {"q": "200035319"})) == ["CA Nîmes Métropole"]
    assert names(client.get(table_url(), {"situation": "sans_declaration"})) == [
        "Beaucaire",
        "CA Nîmes Métropole",  # Uzès delegated its ADS to it, but it declared none yet
    ]
    assert names(client.get(table_url(), {"situation": "deleguee"})) == ["Uzès"]
    assert names(client.get(table_url(), {"situation": "aucune_ads"})) == ["Alès"]
    assert names(client.get(table_url(), {"situation": "avec_ads"})) == ["Nîmes"]


def test_the_table_sorts_by_number_of_ads_and_completion(
    client, prefecture_agent, gard, gard_registers
):
    vauvert = add_commune("30341", "Vauvert", gard)
    make_ads(vauvert, "1")
    make_ads(vauvert, "2")
    client.force_login(prefecture_agent)

    by_ads = names(client.get(table_url(), {"tri": "ads"}))
    by_completion = names(client.get(table_url(), {"tri": "completude"}))
    by_completion_desc = names(client.get(table_url(), {"tri": "completude_decroissant"}))

    assert by_ads[:2] == ["Nîmes", "Vauvert"]
    # Lowest rate first; authorities without ADS have no rate and come last.
    assert by_completion[:2] == ["Nîmes", "Vauvert"]
    assert by_completion_desc[:2] == ["Vauvert", "Nîmes"]
    assert by_completion[2:] == ["Alès", "Beaucaire", "CA Nîmes Métropole", "Uzès"]


def test_the_table_is_paginated_by_fifty(client, prefecture_agent, gard):
    for n in range(55):
        add_commune(f"30{n + 500}", f"Commune {n:02}", gard)
    client.force_login(prefecture_agent)

    first = client.get(table_url())
    second = client.get(table_url(), {"page": "2"})

    assert len(rows(first)) == 50
    assert names(second) == [f"Commune {n:02}" for n in range(50, 55)]
    assert "55 gestionnaires" in first.content.decode()


def test_the_pending_requests_are_counted_with_a_link(
    client, prefecture_agent, pending_user, montpellier
):
    other = User.objects.create_user("demandeur@montpellier.fr", "mot-de-passe-de-test")
    AuthorityAccess.objects.create(user=other, authority=montpellier)
    client.force_login(prefecture_agent)

    response = client.get(table_url())

    assert response.context["pending_requests"] == 1
    assert "Demandes d’accès en attente : 1" in response.content.decode()
    assert f'href="{response.context["access_requests_url"]}"' in response.content.decode()


# --- the expected number of ADS ---------------------------------------------------------


def test_the_prefecture_sets_the_expected_number_of_ads(client, prefecture_agent, nimes):
    AuthorityDecree.objects.create(
        authority=nimes,
        date=datetime.date(2021, 5, 3),
        ads_count=14,
        file="arretes/a.pdf",
        original_name="a.pdf",
    )
    make_ads(nimes, "1")
    client.force_login(prefecture_agent)
    url = reverse("prefecture:expected_count", args=["30", nimes.pk])

    page = client.get(url).content.decode()
    response = client.post(url, {"expected_ads_count": "14"}, follow=True)

    assert "<h1>Nombre d’ADS attendu pour Nîmes</h1>" in page
    assert "Nîmes a déclaré 1 ADS." in page
    assert "Le dernier arrêté déposé, du 03/05/2021, en fixe le nombre à 14." in page
    assert response.redirect_chain == [(table_url(), 302)]
    assert messages_of(response) == ["Nombre d’ADS attendu pour Nîmes : 14."]
    assert Authority.objects.get(pk=nimes.pk).expected_ads_count == 14
    nimes_row = [row for row in rows(response) if row[0] == "Nîmes"][0]
    assert nimes_row[3].startswith("14 écart")


def test_the_expected_number_is_a_whole_number(client, prefecture_agent, nimes):
    client.force_login(prefecture_agent)
    url = reverse("prefecture:expected_count", args=["30", nimes.pk])

    response = client.post(url, {"expected_ads_count": "-3"})

    assert response.status_code == 200
    assert response.context["form"].errors["expected_ads_count"]
    assert Authority.objects.get(pk=nimes.pk).expected_ads_count is None


def test_another_departements_authority_is_out_of_reach(
    client, prefecture_agent, other_prefecture_agent, montpellier, herault
):
    client.force_login(prefecture_agent)
    # Through the Gard's space, even with the Hérault's authority id.
    url = reverse("prefecture:expected_count", args=["30", montpellier.pk])
    assert client.post(url, {"expected_ads_count": "3"}).status_code == 404
    url = reverse("prefecture:expected_count", args=["34", montpellier.pk])
    assert client.post(url, {"expected_ads_count": "3"}).status_code == 404

    client.force_login(other_prefecture_agent)
    assert client.post(url, {"expected_ads_count": "3"}).status_code == 302
    assert Authority.objects.get(pk=montpellier.pk).expected_ads_count == 3


# --- the feed of changes ----------------------------------------------------------------


def test_the_feed_shows_the_latest_changes_of_the_departement(
    client, manager, prefecture_agent, nimes, montpellier
):
    client.force_login(manager)
    declare(client, nimes)
    ads = ADS.objects.get(number="7")
    edit(client, ads, holder_name="Taxi Costières", comment="Cession du fonds")
    client.force_login(prefecture_agent)
    client.post(reverse("prefecture:certify", args=[ads.pk]))
    with reversion.create_revision():  # a change in the Hérault
        other = make_ads(montpellier, "1")
        reversion.add_to_revision(other)
        record_change(other)
        reversion.set_comment("Ailleurs")

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("prefecture:changes", args=["30"]))

    today = timezone.localtime().strftime("%d/%m/%Y")
    assert [row[1:] for row in rows(response)] == [
        ["Claude", "Nîmes", "n° 7", "Certification par la préfecture"],
        ["Camille", "Nîmes", "n° 7", "Cession du fonds"],
        ["Camille", "Nîmes", "n° 7", "Reprise du registre papier"],
    ]
    assert all(row[0].startswith(today) for row in rows(response))
    assert f'href="{reverse("ads:detail", args=[ads.pk])}"' in response.content.decode()
    # The feed reads its index, never the stored versions.
    assert not any("reversion_version" in query["sql"] for query in queries.captured_queries)


def make_changes(authority: Authority, count: int, user=None) -> None:
    for n in range(count):
        with reversion.create_revision():
            ads = ADS.objects.create(authority=authority, number=f"N-{n}")
            reversion.add_to_revision(ads)
            record_change(ads)
            reversion.set_user(user)
            reversion.set_comment(f"Modification {n}")


def test_the_feed_is_paginated_newest_first(client, prefecture_agent, nimes):
    make_changes(nimes, 55)
    client.force_login(prefecture_agent)
    url = reverse("prefecture:changes", args=["30"])

    first = rows(client.get(url))
    second = rows(client.get(url, {"page": "2"}))

    assert len(first) == 50
    assert first[0][1:] == ["Import", "Nîmes", "n° N-54", "Modification 54"]
    assert [row[4] for row in second] == [f"Modification {n}" for n in range(4, -1, -1)]


def test_the_table_page_shows_the_five_latest_changes(client, prefecture_agent, nimes):
    make_changes(nimes, 7)
    client.force_login(prefecture_agent)

    page = client.get(table_url()).content.decode()

    assert "Modification 6" in page and "Modification 2" in page
    assert "Modification 1" not in page
    assert reverse("prefecture:changes", args=["30"]) in page


# --- the list of the département's ADS --------------------------------------------------


def test_the_departements_ads_are_listed_and_filtered(
    client, prefecture_agent, nimes, ales, montpellier
):
    make_ads(nimes, "1")
    make_ads(nimes, "2", complete=False)
    make_ads(ales, "1")
    make_ads(montpellier, "8")
    client.force_login(prefecture_agent)
    url = reverse("prefecture:ads", args=["30"])

    every = rows(client.get(url))
    of_nimes = rows(client.get(url, {"gestionnaire": nimes.pk}))
    incomplete = rows(client.get(url, {"completude": "a_completer"}))

    assert [(row[1], row[2]) for row in every] == [
        ("ADS n° 1", "Alès"),
        ("ADS n° 1", "Nîmes"),
        ("ADS n° 2", "Nîmes"),
    ]
    assert [row[1] for row in of_nimes] == ["ADS n° 1", "ADS n° 2"]
    assert [(row[1], row[2]) for row in incomplete] == [("ADS n° 2", "Nîmes")]


# --- query counts -----------------------------------------------------------------------


def fill_departement(gard, size: int) -> None:
    for n in range(size):
        authority = add_commune(f"30{n + 600}", f"Commune {n:03}", gard)
        make_ads(authority, "1", attested_at=timezone.now())
        make_ads(authority, "2", complete=False)


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize(
    "query", [{}, {"tri": "completude", "page": "2"}, {"q": "Commune", "situation": "avec_ads"}]
)
def test_the_table_costs_the_same_whatever_its_size(
    client, prefecture_agent, gard, nimes_metropole, size, query, django_assert_max_num_queries
):
    fill_departement(gard, size)
    make_changes(nimes_metropole, 10, prefecture_agent)
    client.force_login(prefecture_agent)

    with django_assert_max_num_queries(TABLE_QUERIES):
        response = client.get(table_url(), query)

    assert response.status_code == 200


@pytest.mark.parametrize("size", [3, 60])
def test_the_feed_costs_the_same_whatever_its_size(
    client, prefecture_agent, manager, nimes, size, django_assert_max_num_queries
):
    make_changes(nimes, size, manager)
    client.force_login(prefecture_agent)

    with django_assert_max_num_queries(FEED_QUERIES):
        response = client.get(reverse("prefecture:changes", args=["30"]))

    assert len(rows(response)) == min(size, 50)


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize("query", [{}, {"certification": "non_certifiee", "q": "Taxi"}])
def test_the_ads_list_costs_the_same_whatever_its_size(
    client, prefecture_agent, gard, size, query, django_assert_max_num_queries
):
    fill_departement(gard, size)
    client.force_login(prefecture_agent)

    with django_assert_max_num_queries(ADS_LIST_QUERIES):
        response = client.get(reverse("prefecture:ads", args=["30"]), query)

    assert len(rows(response)) == min(2 * size, 50)


def test_the_root_costs_the_same_for_national_staff(
    client, staff, gard, herault, django_assert_max_num_queries
):
    client.force_login(staff)

    with django_assert_max_num_queries(INDEX_QUERIES):
        response = client.get(reverse("prefecture:index"))

    assert response.status_code == 200
