"""The register's activity (issue 12, point 5): national staff see, month by month and by
département, who logged in, how many ADS were changed and imported, and download it."""

import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from reversion.models import Revision

from mesads.ads.models import ADS, RegisterChange
from mesads.authorities.models import Authority
from mesads.deployment.activity import month_starts
from mesads.exchange.models import ImportJob
from mesads.geo.models import Commune, Departement
from mesads.users.models import AuthorityAccess, LoginEvent, PrefectureMembership, User


def _at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _login(user: User, moment: datetime.datetime, kind=LoginEvent.Kind.LOGIN) -> None:
    event = LoginEvent.objects.create(kind=kind, user=user, email=user.email)
    LoginEvent.objects.filter(pk=event.pk).update(created_at=moment)  # auto_now_add


def _changes(ads: ADS, moment: datetime.datetime, count: int = 1, job: ImportJob | None = None):
    """``count`` ADS changes of one revision (a bulk import changes many at once)."""
    revision = Revision.objects.create(date_created=moment, comment="Modification")
    for _ in range(count):
        RegisterChange.objects.create(
            revision=revision,
            ads=ads,
            authority=ads.authority,
            departement_id=ads.authority.departement_id,
            created_at=moment,
        )
    if job is not None:
        ImportJob.objects.filter(pk=job.pk).update(revision=revision)
    return revision


@pytest.fixture
def months():
    """This month and the last one (first days)."""
    *_, last, this = month_starts(2)
    return last, this


@pytest.fixture
def activity(months, nimes, montpellier, manager, prefecture_agent, other_prefecture_agent, staff):
    last, this = months
    now_ = _at(this, 1)
    # This month: Camille (manager of Nîmes, Gard) twice, the Gard's agent, national staff;
    # a failed login does not count. Last month: Camille, the Hérault's agent. Thirteen
    # months ago: outside the year.
    _login(manager, now_)
    _login(manager, now_ + datetime.timedelta(minutes=30))
    _login(prefecture_agent, now_)
    _login(staff, now_)
    _login(other_prefecture_agent, now_, kind=LoginEvent.Kind.FAILED)
    _login(manager, _at(last))
    _login(other_prefecture_agent, _at(last))
    _login(manager, _at(month_starts(14)[0]))

    nimes_ads = ADS.objects.create(authority=nimes, number="1")
    montpellier_ads = ADS.objects.create(authority=montpellier, number="1")
    # This month: two edits in Nîmes, an import of three ADS of Nîmes, one edit in
    # Montpellier. Last month: one edit in Nîmes.
    _changes(nimes_ads, now_)
    _changes(nimes_ads, now_)
    job = ImportJob.objects.create(
        original_name="registre.xlsx",
        status=ImportJob.Status.DONE,
        finished_at=now_,
        created_count=2,
        updated_count=1,
    )
    _changes(nimes_ads, now_, count=3, job=job)
    _changes(montpellier_ads, now_)
    _changes(nimes_ads, _at(last))
    # An import that failed is not one.
    ImportJob.objects.create(original_name="faux.csv", status=ImportJob.Status.FAILED)
    return job


def _month(response, day: datetime.date):
    return next(row for row in response.context["months"] if row.month == day)


def _departement(response, code: str):
    return next(row for row in response.context["departements"] if row.code == code)


def test_staff_see_the_activity_of_each_month(client, staff, activity, months):
    last, this = months
    client.force_login(staff)

    response = client.get(reverse("deployment:activity"))

    assert response.status_code == 200
    assert len(response.context["months"]) == 12
    now = _month(response, this)
    assert (now.users, now.managers, now.agents) == (3, 1, 1)
    assert (now.changes, now.import_changes, now.imports) == (6, 3, 1)
    before = _month(response, last)
    assert (before.users, before.managers, before.agents, before.changes) == (2, 1, 1, 1)
    assert response.context["totals"] == {
        "users": 4,
        "imports": 1,
        "created": 2,
        "updated": 1,
        "deleted": 0,
    }
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert "Activité par mois, France entière" in page


def test_by_departement_over_the_period(client, staff, activity):
    client.force_login(staff)

    response = client.get(reverse("deployment:activity"))

    gard, herault = _departement(response, "30"), _departement(response, "34")
    assert (gard.managers, gard.agents, gard.changes, gard.import_changes, gard.imports) == (
        1,
        1,
        6,
        3,
        1,
    )
    assert (herault.managers, herault.agents, herault.changes, herault.imports) == (0, 1, 1, 0)


def test_one_departement_month_by_month(client, staff, activity, months):
    last, this = months
    client.force_login(staff)

    response = client.get(reverse("deployment:activity"), {"departement": "30"})

    now = _month(response, this)
    # Camille and the Gard's agent; national staff belong to no département.
    assert (now.users, now.managers, now.agents) == (2, 1, 1)
    assert (now.changes, now.import_changes, now.imports) == (5, 3, 1)
    assert _month(response, last).users == 1
    assert "Activité par mois dans le département Gard" in response.content.decode()


def test_a_shorter_period_and_a_sort(client, staff, activity):
    client.force_login(staff)

    response = client.get(reverse("deployment:activity"), {"periode": "6", "tri": "-changes"})

    assert len(response.context["months"]) == 6
    assert [row.code for row in response.context["departements"]][:2] == ["30", "34"]
    assert 'aria-sort="descending"' in response.content.decode()


def test_the_activity_export(client, staff, activity, months):
    last, this = months
    client.force_login(staff)

    response = client.get(reverse("deployment:activity_export"), {"departement": "30"})

    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames == ["Par mois", "Par département"]
    by_month = list(workbook["Par mois"].iter_rows(values_only=True))
    assert by_month[0] == (
        "Mois",
        "Utilisateurs actifs",
        "dont gestionnaires",
        "dont agents de préfecture",
        "Modifications d’ADS",
        "dont par import",
        "Imports",
    )
    assert by_month[-1] == (f"{this:%m/%Y}", 2, 1, 1, 5, 3, 1)
    by_departement = {
        row[0]: row for row in workbook["Par département"].iter_rows(values_only=True)
    }
    assert by_departement["34"] == ("34", "Hérault", 0, 1, 1, 0, 0)
    assert "activite-30-12-mois" in response["Content-Disposition"]


@pytest.mark.parametrize("name", ["deployment:activity", "deployment:activity_export"])
def test_only_national_staff_see_the_activity(client, name, manager, prefecture_agent, inspector):
    url = reverse(name)
    assert client.get(url).url.startswith(reverse("login"))
    for user in (manager, prefecture_agent, inspector):
        client.force_login(user)
        assert client.get(url).status_code == 404


def _queries(client, url: str, params: dict) -> int:
    client.get(url, params)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


def _grow(count: int, start: int, moment: datetime.datetime) -> None:
    """``count`` more départements, each with a manager and an agent who log in, and
    changes of their ADS."""
    for d in range(start, start + count):
        departement = Departement.objects.create(code=f"9{d:02d}", name=f"Département {d}")
        commune = Commune.objects.create(
            insee_code=f"9{d:02d}01",
            type=Commune.Type.ACTUELLE,
            name=f"C{d}",
            departement=departement,
        )
        authority = Authority.objects.create(
            type="commune", name=f"C{d}", commune=commune, departement=departement
        )
        manager = User.objects.create_user(f"m{d}@example.com")
        AuthorityAccess.objects.create(user=manager, authority=authority, status="accepted")
        agent = User.objects.create_user(f"a{d}@example.com")
        PrefectureMembership.objects.create(user=agent, departement=departement, status="accepted")
        _login(manager, moment)
        _login(agent, moment)
        _changes(ADS.objects.create(authority=authority, number="1"), moment, count=2)


@pytest.mark.parametrize("params", [{}, {"departement": "900", "periode": "24"}])
@pytest.mark.parametrize("name", ["deployment:activity", "deployment:activity_export"])
def test_the_query_count_does_not_grow_with_the_register(client, staff, months, name, params):
    client.force_login(staff)
    moment = _at(months[1], 1)
    _grow(2, 0, moment)
    small = _queries(client, reverse(name), params)

    _grow(20, 2, moment)
    large = _queries(client, reverse(name), params)

    assert large == small
