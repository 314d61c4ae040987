"""Renewal calendar (issue 12, point 6): a new-regime ADS is valid five years. The daily
job reminds managers once per threshold (90 days before, then overdue), sends each
prefecture a weekly digest of overdue renewals and ADS vacant for over three months,
and the manager's dashboard lists the coming renewals month by month.

The job is run as in production, ``manage.py run_daily --date``, on several dates.
"""

import datetime

import pytest
import reversion
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from mesads.ads.models import ADS, add_years
from mesads.core import daily
from mesads.reminders.models import ReminderPreferences, RenewalNotice, Vacancy

pytestmark = pytest.mark.django_db

OUR_STEPS = [
    "mesads.reminders.renewals.track_vacancies",
    "mesads.reminders.renewals.send_renewal_reminders",
    "mesads.reminders.renewals.send_prefecture_digests",
]


@pytest.fixture(autouse=True)
def only_our_steps(monkeypatch):
    # The other steps of the daily job (snapshots, open data…) are tested on their own.
    monkeypatch.setattr(daily, "STEPS", OUR_STEPS)


@pytest.fixture
def run(django_capture_on_commit_callbacks, mailoutbox):
    def run(day: str) -> list:
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_daily", "--date", day, stdout=open("/dev/null", "w"))
        return mailoutbox[before:]

    return run


@pytest.fixture
def register(nimes, manager):
    """Nîmes: one ADS due on 15 June 2026, one overdue since 10 January 2025, an old one."""
    ADS.objects.create(authority=nimes, number="N-1", creation_date=datetime.date(2021, 6, 15))
    ADS.objects.create(authority=nimes, number="N-2", creation_date=datetime.date(2020, 1, 10))
    ADS.objects.create(authority=nimes, number="A-1", creation_date=datetime.date(2001, 5, 2))


def to(mails, email):
    return [mail for mail in mails if mail.to == [email]]


def test_each_threshold_is_sent_once_and_a_renewal_starts_again(register, run, manager):
    mails = to(run("2026-03-01"), manager.email)
    assert len(mails) == 1
    body = mails[0].body
    assert mails[0].subject == "[Mes ADS] Renouvellement de vos ADS"
    assert "Renouvellement dépassé :\n- ADS n° N-2 : échéance le 10/01/2025" in body
    assert "N-1" not in body  # 106 days away
    assert "A-1" not in body  # an old ADS has no renewal
    assert "Pour ne plus recevoir les rappels de renouvellement" in body
    assert "http://127.0.0.1:8000/compte/profil/" in body

    assert run("2026-03-01") == []  # run again the same day
    assert run("2026-03-02") == []  # the next day

    mails = to(run("2026-03-20"), manager.email)  # 87 days before N-1's due date
    assert len(mails) == 1
    assert "moins de 90 jours :\n- ADS n° N-1 : échéance le 15/06/2026" in mails[0].body
    assert "N-2" not in mails[0].body
    assert run("2026-04-01") == []

    mails = to(run("2026-06-15"), manager.email)  # due today: overdue
    assert "Renouvellement dépassé :\n- ADS n° N-1 : échéance le 15/06/2026" in mails[0].body
    assert run("2026-06-16") == []
    assert RenewalNotice.objects.count() == 3

    # Renewed: five more years, and the reminders start again for the new due date.
    ADS.objects.filter(number="N-1").update(last_renewal_date=datetime.date(2026, 6, 20))
    assert run("2031-01-01") == []  # 170 days before the new due date
    mails = to(run("2031-04-01"), manager.email)
    assert "- ADS n° N-1 : échéance le 20/06/2031" in mails[0].body


def test_a_manager_who_switched_reminders_off_is_sent_none(register, run, manager):
    ReminderPreferences.objects.create(user=manager, reminders=False)
    assert to(run("2026-03-01"), manager.email) == []
    # Nothing recorded: switched back on, the manager is told the next day.
    assert not RenewalNotice.objects.exists()
    ReminderPreferences.objects.filter(user=manager).update(reminders=True)
    assert len(to(run("2026-03-02"), manager.email)) == 1


def test_a_deleted_ads_or_another_communes_manager_gets_nothing(
    register, run, manager, other_manager, ales
):
    ADS.objects.create(
        authority=ales,
        number="X",
        creation_date=datetime.date(2019, 1, 1),
        deleted_at=timezone.now(),
    )
    mails = run("2026-03-01")
    assert to(mails, other_manager.email) == []
    assert len(to(mails, manager.email)) == 1


@pytest.fixture
def vacant(nimes):
    """Nîmes' ADS V-1 is vacant, and entered the register so on 1 October 2025."""
    ads = ADS.objects.create(
        authority=nimes, number="V-1", creation_date=datetime.date(2012, 1, 1), in_use=False
    )
    ADS.objects.filter(pk=ads.pk).update(
        created_at=datetime.datetime(2025, 10, 1, 9, tzinfo=datetime.UTC)
    )
    return ads


def test_the_weekly_digest_goes_to_the_prefecture_once_a_week(
    register, vacant, run, prefecture_agent, other_prefecture_agent
):
    mails = run("2026-03-02")  # a Monday
    digest = to(mails, prefecture_agent.email)
    assert len(digest) == 1
    assert digest[0].subject == "[Mes ADS] Récapitulatif de la semaine – 30 – Gard"
    body = digest[0].body
    assert "Renouvellements dépassés : 1 ADS\n- Nîmes, ADS n° N-2 : échéance le 10/01/2025" in body
    assert (
        "vacantes depuis plus de 3 mois : 1 ADS\n- Nîmes, ADS n° V-1 : vacante depuis le 01/10/2025"
        in body
    )
    assert "http://127.0.0.1:8000/prefecture/30/ads/" in body
    assert "Pour ne plus recevoir ce récapitulatif" in body
    assert to(mails, other_prefecture_agent.email) == []  # nothing in the Hérault

    assert to(run("2026-03-04"), prefecture_agent.email) == []  # same ISO week
    assert to(run("2026-03-08"), prefecture_agent.email) == []  # its Sunday
    assert len(to(run("2026-03-09"), prefecture_agent.email)) == 1  # the next week


def test_a_vacancy_under_three_months_is_not_in_the_digest(nimes, vacant, run, prefecture_agent):
    # 1 October 2025 + 3 months = 1 January 2026.
    assert to(run("2025-12-29"), prefecture_agent.email) == []
    digest = to(run("2026-01-05"), prefecture_agent.email)
    assert "ADS n° V-1 : vacante depuis le 01/10/2025" in digest[0].body


def test_an_agent_who_switched_the_digest_off_gets_none(register, vacant, run, prefecture_agent):
    ReminderPreferences.objects.create(user=prefecture_agent, weekly_digest=False)
    assert to(run("2026-03-02"), prefecture_agent.email) == []


def test_the_agent_turns_the_digest_off_and_on_in_the_profile(
    client, register, vacant, run, prefecture_agent
):
    client.force_login(prefecture_agent)
    assert (
        "Récapitulatif hebdomadaire de la préfecture"
        in client.get(reverse("profile")).content.decode()
    )
    # Every e-mail kept but the digest.
    kept = {"notify_access_decisions": "on", "notify_sent_back": "on", "rappels-reminders": "on"}
    assert client.post(reverse("profile"), kept).status_code == 302

    assert to(run("2026-03-02"), prefecture_agent.email) == []
    assert ReminderPreferences.objects.get(user=prefecture_agent).reminders is True

    client.post(reverse("profile"), {**kept, "rappels-weekly_digest": "on"})
    assert len(to(run("2026-03-03"), prefecture_agent.email)) == 1  # none went this week yet


def test_since_when_an_ads_is_vacant_comes_from_its_history(nimes, run):
    with reversion.create_revision():
        reversion.set_date_created(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
        ads = ADS.objects.create(
            authority=nimes, number="H", creation_date=datetime.date(2010, 1, 1)
        )
    for day, note in (
        (datetime.datetime(2025, 9, 1, tzinfo=datetime.UTC), "vacante"),
        (datetime.datetime(2025, 11, 1, tzinfo=datetime.UTC), "toujours"),
    ):
        with reversion.create_revision():
            reversion.set_date_created(day)
            ads.in_use, ads.notes = False, note
            ads.save()
    run("2026-01-10")
    assert Vacancy.objects.get(ads=ads).since == datetime.date(2025, 9, 1)
    # In use again: forgotten.
    ADS.objects.filter(pk=ads.pk).update(in_use=True)
    run("2026-01-11")
    assert not Vacancy.objects.filter(ads=ads).exists()


# --- the manager's dashboard -----------------------------------------------------------


def _due_in(nimes, number: str, days: int) -> ADS:
    due = timezone.localdate() + datetime.timedelta(days=days)
    return ADS.objects.create(
        authority=nimes, number=number, creation_date=add_years(due, -5), holder_name="Taxi"
    )


def test_the_dashboard_lists_the_renewals_by_month(client, nimes, manager):
    _due_in(nimes, "R-1", -20)
    soon = _due_in(nimes, "R-2", 40)
    _due_in(nimes, "R-3", 500)  # beyond 12 months
    client.force_login(manager)
    page = client.get(reverse("ads:authority", args=[nimes.pk])).content.decode()
    section = page[page.index("Calendrier des renouvellements") :]
    section = section[: section.index("</section>")]
    assert "Renouvellement dépassé" in section
    assert "ADS n° R-1" in section and "ADS n° R-2" in section
    assert "R-3" not in section
    month = soon.renewal_due_date.replace(day=1)
    assert date_format(month, "F Y").capitalize() in section
    assert section.index("R-1") < section.index("R-2")


def test_the_dashboard_costs_the_same_whatever_the_number_of_ads(client, nimes, manager):
    client.force_login(manager)
    url = reverse("ads:authority", args=[nimes.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for index in range(3):
        _due_in(nimes, f"S-{index}", 30 * index)
    few = count()
    for index in range(3, 40):
        _due_in(nimes, f"S-{index}", 9 * index - 60)
    assert count() == few
