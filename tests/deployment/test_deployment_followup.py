"""« Suivi du déploiement » (issue 12, point 3): national staff see, per département, where
its authorities stand in their declaration, who has access and who never comes, the
requests waiting for the prefecture, the completeness and certification of its ADS; per
prefecture its agents and how fast it decides; then the authorities of one département.
Every figure is checked against a register built for it."""

import datetime
import io
import os

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.authorities.models import Authority
from mesads.geo.models import Commune, Departement
from mesads.users.models import AuthorityAccess, PrefectureMembership, User
from tests.core.test_e2e_browser import _login
from tests.support.browser import CHROMIUM

DAY = datetime.timedelta(days=1)


def _commune(code: str, name: str, departement: Departement, **fields) -> Authority:
    commune = Commune.objects.create(
        insee_code=code, type=Commune.Type.ACTUELLE, name=name, departement=departement
    )
    return Authority.objects.create(
        type=Authority.Type.COMMUNE, name=name, commune=commune, departement=departement, **fields
    )


def _user(email: str, last_login: datetime.datetime | None = None) -> User:
    return User.objects.create_user(email, "mot-de-passe-de-test", last_login=last_login)


def _access(user, authority, status, *, asked: datetime.datetime, decided=None, **fields):
    access = AuthorityAccess.objects.create(user=user, authority=authority, status=status, **fields)
    # created_at is set on creation: the request's age is what the page measures.
    AuthorityAccess.objects.filter(pk=access.pk).update(created_at=asked, decided_at=decided)
    return access


@pytest.fixture
def register(
    gard,
    herault,
    nimes,
    ales,
    montpellier,
    nimes_metropole,
    manager,
    other_manager,
    pending_user,
    prefecture_agent,
    other_prefecture_agent,
    complete_ads,
):
    """The Gard: one authority in each state of declaration, managers who came, never
    came or stopped coming, requests pending and decided. The Hérault: one commune that
    declared nothing. The Lozère: nothing at all."""
    now = timezone.now()
    lozere = Departement.objects.create(code="48", name="Lozère", region_code="76")
    uzes = _commune("30334", "Uzès", gard, delegated_to=nimes_metropole)
    beaucaire = _commune("30032", "Beaucaire", gard)
    Authority.objects.filter(pk=ales.pk).update(declares_no_ads=True)
    # Delegated to the EPCI, but still holding an ADS of its own: it has declared ADS.
    vauvert = _commune("30341", "Vauvert", gard, delegated_to=nimes_metropole)
    ADS.objects.create(authority=vauvert, number="1", creation_date=datetime.date(2001, 1, 2))

    # Nîmes: one complete ADS, certified; one incomplete; one deleted (not counted).
    ADS.objects.filter(pk=complete_ads.pk).update(certified_at=now)
    ADS.objects.create(authority=nimes, number="13", creation_date=datetime.date(2016, 1, 4))
    ADS.objects.create(
        authority=nimes, number="14", creation_date=datetime.date(2016, 1, 4), deleted_at=now
    )

    # Managers: Camille (Nîmes, conftest) never logged in; Alès' manager not for 200 days.
    User.objects.filter(pk=other_manager.pk).update(last_login=now - 200 * DAY)
    recent = _user("recente@nimes.fr", last_login=now - DAY)
    _access(recent, nimes, "accepted", asked=now - 5 * DAY, decided=now - 3 * DAY)  # 2 days
    refused = _user("refuse@beaucaire.fr")
    _access(refused, beaucaire, "refused", asked=now - 10 * DAY, decided=now - 6 * DAY)  # 4
    late = _user("tardif@nimes-metropole.fr", last_login=now - 2 * DAY)
    _access(late, nimes_metropole, "accepted", asked=now - 20 * DAY, decided=now - 11 * DAY)  # 9
    # Left out: a revoked access (its date is the revocation's), an agent's own choice,
    # a decision older than twelve months.
    revoked = _user("revoque@nimes.fr", last_login=now - DAY)
    _access(revoked, nimes, "revoked", asked=now - 100 * DAY, decided=now - DAY)
    _access(
        prefecture_agent,
        beaucaire,
        "accepted",
        asked=now - DAY,
        decided=now - DAY,
        via_prefecture=True,
    )
    old = _user("ancien@ales.fr", last_login=now - DAY)
    _access(old, ales, "refused", asked=now - 500 * DAY, decided=now - 400 * DAY)

    # Pending: the conftest's request for Nîmes, 10 days old; one for Uzès, 3 days old.
    AuthorityAccess.objects.filter(user=pending_user).update(created_at=now - 10 * DAY)
    _access(_user("demandeur@uzes.fr"), uzes, "pending", asked=now - 3 * DAY)

    candidate = _user("candidat@gard.gouv.fr")
    PrefectureMembership.objects.create(user=candidate, departement=gard)
    return {"lozere": lozere, "uzes": uzes, "beaucaire": beaucaire}


def _rows(response) -> dict[str, object]:
    return {row.code: row for row in response.context["rows"]}


# --- the national table ----------------------------------------------------------------


def test_staff_see_each_departement_figures_as_the_register_holds_them(client, staff, register):
    client.force_login(staff)

    response = client.get(reverse("deployment:index"))

    assert response.status_code == 200
    gard = _rows(response)["30"]
    assert (gard.authorities, gard.with_ads, gard.no_ads, gard.delegates, gard.nothing) == (
        6,
        2,
        1,
        1,
        2,
    )
    assert gard.declared_rate == pytest.approx(4 / 6)
    # Camille, Nîmes' recent manager, Alès' manager, Nîmes Métropole's: not the revoked
    # one, not the agent acting as manager, not the refused ones.
    assert gard.managers == 4
    assert gard.never_logged_in == 1
    assert gard.dormant == 1
    assert gard.pending == 2
    assert gard.oldest_pending_days == 10
    assert (gard.ads_total, gard.ads_complete, gard.ads_certified) == (3, 1, 1)
    assert gard.complete_rate == gard.certified_rate == pytest.approx(1 / 3)
    herault, lozere = _rows(response)["34"], _rows(response)["48"]
    assert (herault.authorities, herault.nothing, herault.managers) == (1, 1, 0)
    assert (lozere.authorities, lozere.ads_total, lozere.complete_rate) == (0, 0, None)
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "Déploiement par département" in html  # the caption
    assert "la plus ancienne depuis 10 jours" in html
    assert "1 sur 3 ADS" in html


def test_each_prefecture_shows_its_agents_and_how_fast_it_decides(client, staff, register):
    client.force_login(staff)

    response = client.get(reverse("deployment:prefectures"))

    gard = _rows(response)["30"]
    assert (gard.agents, gard.memberships_pending) == (1, 1)
    # Decided within twelve months: in 2, 4 and 9 days.
    assert (gard.decided, gard.accepted, gard.refused) == (3, 2, 1)
    assert gard.median_decision_days == pytest.approx(4.0)
    assert _rows(response)["48"].median_decision_days is None
    html = response.content.decode()
    assert "4,0 jours" in html
    assert "Aucun agent" in html  # the Lozère


def test_the_table_sorts_by_its_headers_and_says_so(client, staff, register):
    client.force_login(staff)

    by_code = client.get(reverse("deployment:index"))
    by_pending = client.get(reverse("deployment:index"), {"tri": "-pending"})
    by_nothing = client.get(reverse("deployment:index"), {"tri": "nothing"})

    assert [row.code for row in by_code.context["rows"]] == ["30", "34", "48"]
    assert 'aria-sort="ascending"><a class="fr-link" href="?tri=-code">' in (
        by_code.content.decode()
    )
    assert by_pending.context["rows"][0].code == "30"
    assert 'aria-sort="descending"' in by_pending.content.decode()
    assert [row.code for row in by_nothing.context["rows"]] == ["48", "34", "30"]


def test_the_table_filters_keep_the_sort(client, staff, register):
    client.force_login(staff)
    url = reverse("deployment:index")

    assert list(_rows(client.get(url, {"situation": "en_attente"}))) == ["30"]
    assert list(_rows(client.get(url, {"q": "hera"}))) == ["34"]
    assert list(_rows(client.get(url, {"situation": "sans_agent"}))) == ["48"]
    filtered = client.get(url, {"q": "r", "tri": "-authorities"})
    assert list(_rows(filtered)) == ["30", "34", "48"]
    # The sort is a hidden field of the filters' form; the headers keep the filters.
    html = filtered.content.decode()
    assert 'type="hidden" name="tri" value="-authorities"' in html
    assert "?q=r&amp;tri=code" in html
    empty = client.get(url, {"q": "Bretagne"})
    assert "Aucun département ne correspond à ces filtres." in empty.content.decode()


# --- one département ---------------------------------------------------------------------


def _authorities(response) -> dict[str, Authority]:
    return {authority.name: authority for authority in response.context["page_obj"]}


def test_the_departement_lists_its_authorities_with_their_figures(client, staff, register):
    client.force_login(staff)

    response = client.get(reverse("deployment:departement", args=["30"]))

    assert response.status_code == 200
    rows = _authorities(response)
    assert {name: a.declaration for name, a in rows.items()} == {
        "Nîmes": "ads",
        "Vauvert": "ads",
        "Alès": "aucune",
        "Uzès": "delegue",
        "Beaucaire": "jamais",
        "CA Nîmes Métropole": "jamais",
    }
    nimes = rows["Nîmes"]
    assert (nimes.ads_total, nimes.managers, nimes.never_logged_in, nimes.pending) == (2, 2, 1, 1)
    assert nimes.complete_rate == 0.5
    assert rows["Alès"].dormant == 1
    assert rows["Uzès"].pending == 1
    assert rows["Beaucaire"].managers == 0  # the agent acting as manager is not one
    html = response.content.decode()
    assert "Délègue à CA Nîmes Métropole" in html
    assert "Gère les ADS de 2 communes" in html
    assert response.context["figures"].managers == 4


def test_the_authorities_sort_filter_and_paginate(client, staff, register):
    client.force_login(staff)
    url = reverse("deployment:departement", args=["30"])

    by_ads = client.get(url, {"tri": "-ads"})
    never = client.get(url, {"declaration": "jamais"})
    waiting = client.get(url, {"en_attente": "on", "tri": "-attente"})

    assert next(iter(by_ads.context["page_obj"])).name == "Nîmes"
    assert set(_authorities(never)) == {"Beaucaire", "CA Nîmes Métropole"}
    dormant = client.get(url, {"tri": "-inactives"})
    assert next(iter(dormant.context["page_obj"])).name == "Alès"
    # The oldest request first: Nîmes' (10 days), then Uzès' (3 days).
    assert [a.name for a in waiting.context["page_obj"]] == ["Nîmes", "Uzès"]

    lozere = register["lozere"]
    for number in range(60):
        _commune(f"48{number:03d}", f"Commune {number:02d}", lozere)
    first = client.get(reverse("deployment:departement", args=["48"]))
    assert first.context["page_obj"].paginator.count == 60
    assert len(first.context["page_obj"]) == 50
    assert "page 1 sur 2" in first.content.decode()
    second = client.get(reverse("deployment:departement", args=["48"]), {"page": 2})
    assert [a.name for a in second.context["page_obj"]][0] == "Commune 50"


def test_an_unknown_departement_is_a_404(client, staff, register):
    client.force_login(staff)

    assert client.get(reverse("deployment:departement", args=["99"])).status_code == 404


# --- exports -----------------------------------------------------------------------------


def _workbook(response) -> openpyxl.Workbook:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def _sheet_rows(sheet) -> list[dict]:
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_the_national_export_holds_both_tables(client, staff, register):
    client.force_login(staff)

    workbook = _workbook(client.get(reverse("deployment:export"), {"tri": "-pending"}))

    assert workbook.sheetnames == ["Départements", "Préfectures"]
    departements = _sheet_rows(workbook["Départements"])
    assert [row["Département"] for row in departements] == ["30", "34", "48"]
    gard = departements[0]
    assert gard["N’ont rien déclaré"] == 2
    assert gard["Personnes ayant accès (gestionnaires)"] == 4
    assert gard["Comptes jamais connectés"] == 1
    assert gard["Plus ancienne demande en attente (jours)"] == 10
    assert gard["Taux de complétude"] == pytest.approx(1 / 3)
    assert workbook["Départements"]["P2"].number_format == "0%"
    prefecture = _sheet_rows(workbook["Préfectures"])[0]
    assert prefecture["Agents"] == 1
    assert prefecture["Délai médian de décision (jours)"] == 4


def test_the_departement_export_keeps_filters_and_never_runs_a_formula(
    client, staff, register, gard
):
    _commune("30999", '=HYPERLINK("http://example.com")', gard)
    client.force_login(staff)

    workbook = _workbook(
        client.get(reverse("deployment:departement_export", args=["30"]), {"tri": "name"})
    )
    rows = _sheet_rows(workbook["Gestionnaires"])

    assert [row["Gestionnaire"] for row in rows][0] == '=HYPERLINK("http://example.com")'
    cell = workbook["Gestionnaires"]["A2"]
    assert cell.data_type == "s" and cell.quotePrefix
    nimes = next(row for row in rows if row["Gestionnaire"] == "Nîmes")
    assert (nimes["Déclaration"], nimes["ADS"], nimes["Personnes ayant accès"]) == (
        "ADS déclarées",
        2,
        2,
    )
    assert nimes["Code INSEE ou SIREN"] == "30189"
    uzes = next(row for row in rows if row["Gestionnaire"] == "Uzès")
    assert uzes["Délègue à"] == "CA Nîmes Métropole"
    filtered = _workbook(
        client.get(reverse("deployment:departement_export", args=["30"]), {"declaration": "aucune"})
    )
    assert [row["Gestionnaire"] for row in _sheet_rows(filtered["Gestionnaires"])] == ["Alès"]


# --- who may see it ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["deployment:index", "deployment:prefectures", "deployment:export"]
)
def test_only_national_staff_reach_the_follow_up(
    client, name, manager, prefecture_agent, inspector
):
    url = reverse(name)
    assert client.get(url).url.startswith(reverse("login"))
    for user in (manager, prefecture_agent, inspector):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_a_prefecture_agent_cannot_open_its_own_departement_here(client, prefecture_agent, gard):
    client.force_login(prefecture_agent)

    assert client.get(reverse("deployment:departement", args=["30"])).status_code == 404
    assert client.get(reverse("deployment:departement_export", args=["30"])).status_code == 404


def test_the_staff_menu_leads_here(client, staff, manager):
    client.force_login(staff)
    assert "Suivi du déploiement" in client.get(reverse("home")).content.decode()
    client.force_login(manager)
    assert "Suivi du déploiement" not in client.get(reverse("home")).content.decode()


# --- cost: constant in the number of départements and authorities ------------------------


def _queries(client, url: str, **params) -> int:
    client.get(url, params)  # the session, the first time
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


def _grow(departements: int, authorities: int) -> None:
    """More départements, each with authorities, ADS, managers and requests."""
    now = timezone.now()
    for d in range(departements):
        departement = Departement.objects.create(code=f"9{d:02d}", name=f"Département {d}")
        for a in range(authorities):
            authority = _commune(f"9{d:02d}{a:02d}", f"Commune {d}-{a}", departement)
            ADS.objects.create(authority=authority, number="1")
            user = _user(f"gestionnaire-{d}-{a}@example.com")
            _access(user, authority, "accepted", asked=now - 9 * DAY, decided=now - 2 * DAY)
            _access(_user(f"demande-{d}-{a}@example.com"), authority, "pending", asked=now)
        PrefectureMembership.objects.create(
            user=_user(f"agent-{d}@example.com"), departement=departement, status="accepted"
        )


@pytest.mark.parametrize(
    ("name", "args", "params"),
    [
        ("deployment:index", [], {}),
        ("deployment:index", [], {"tri": "-complete_rate", "situation": "en_attente"}),
        ("deployment:prefectures", [], {"tri": "-median_decision_days"}),
        ("deployment:export", [], {}),
        ("deployment:departement", ["900"], {}),
        ("deployment:departement", ["900"], {"tri": "-attente"}),
        ("deployment:departement_export", ["900"], {}),
    ],
)
def test_the_query_count_does_not_grow_with_the_register(client, staff, name, args, params):
    client.force_login(staff)
    _grow(departements=2, authorities=2)
    small = _queries(client, reverse(name, args=args), **params)

    # Fifteen more départements, and 28 more authorities in the one drilled into.
    now = timezone.now()
    first = Departement.objects.get(code="900")
    for a in range(2, 30):
        authority = _commune(f"900{a:02d}", f"Commune 0-{a}", first)
        ADS.objects.create(authority=authority, number="1")
        _access(_user(f"plus-{a}@example.com"), authority, "accepted", asked=now, decided=now)
    for d in range(10, 25):
        departement = Departement.objects.create(code=f"8{d:02d}", name=f"Autre {d}")
        authority = _commune(f"8{d:02d}00", f"Autre commune {d}", departement)
        _access(_user(f"autre-{d}@example.com"), authority, "pending", asked=now)
    large = _queries(client, reverse(name, args=args), **params)

    assert large == small


# --- in a real browser -------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.django_db(transaction=True)
def test_staff_follow_the_deployment_in_a_browser(page, staff, register):
    """From the menu to the Gard's authorities and the month's activity; axe-core finds
    no serious violation on the way."""
    from tests.core.test_e2e_accessibility import violations

    _login(page, staff.email)
    page.get_by_role("link", name="Suivi du déploiement").first.click()
    page.get_by_role("heading", name="Suivi du déploiement", level=1).wait_for()
    found = violations(page)

    page.get_by_role("link", name="Demandes en attente (trier par ordre décroissant)").click()
    header = page.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "descending"
    assert page.locator("tbody tr").first.locator("th").inner_text() == "30 – Gard"
    found += violations(page)

    page.get_by_role("link", name="30 – Gard").click()
    page.get_by_role("heading", name="Déploiement dans le département Gard (30)").wait_for()
    page.get_by_label("Déclaration").select_option("jamais")
    page.get_by_role("button", name="Appliquer").click()
    rows = page.locator("tbody th").all_inner_texts()
    assert [row.splitlines()[0] for row in rows] == ["Beaucaire", "CA Nîmes Métropole"]
    found += violations(page)

    page.get_by_role("link", name="Suivi du déploiement").first.click()
    page.get_by_role("link", name="Activité", exact=True).click()
    page.get_by_role("heading", name="Activité du registre").wait_for()
    # This login is the month's only one: one active user, who manages nothing.
    this_month = page.locator("tbody").first.locator("tr").last.locator("td")
    assert this_month.all_inner_texts()[:3] == ["1", "0", "0"]
    found += violations(page)
    assert found == []
