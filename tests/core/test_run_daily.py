"""``python manage.py run_daily``: the daily work, for cron or a systemd timer. It runs
every step of ``mesads.core.daily.STEPS``; a failing step is reported, the others still
run, and the command exits non-zero; run twice the same day, it writes nothing twice."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.core import daily
from mesads.geo.models import Departement
from mesads.stats.models import DailySnapshot

DAY = datetime.date(2026, 12, 3)
RAN: list[str] = []


# Steps for the tests, named by their dotted path as STEPS names the real ones.
def first_step(today: datetime.date) -> str:
    RAN.append(f"first {today}")
    return "premier"


def failing_step(today: datetime.date) -> str:
    RAN.append("failing")
    raise RuntimeError("the mail server is down")


def last_step(today: datetime.date) -> str:
    RAN.append("last")
    return "dernier"


def run_daily(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("run_daily", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _nothing_ran():
    RAN.clear()


@pytest.mark.django_db
def test_every_step_runs_and_says_what_it_did(gard, nimes, complete_ads, mailoutbox):
    out, err = run_daily("--date", DAY.isoformat())

    assert err == ""
    for path in daily.STEPS:
        assert f"{path}: " in out, path
    assert "mesads.stats.snapshots.take_daily_snapshot: chiffres clés du 03/12/2026" in out


@pytest.mark.django_db
def test_a_failing_step_is_reported_and_the_others_still_run(monkeypatch, caplog):
    module = __name__
    monkeypatch.setattr(
        daily,
        "STEPS",
        [f"{module}.first_step", f"{module}.failing_step", f"{module}.last_step"],
    )
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("run_daily", "--date", "2026-12-03", stdout=out, stderr=err)

    assert RAN == ["first 2026-12-03", "failing", "last"]
    assert f"{module}.first_step: premier" in out.getvalue()
    assert f"{module}.last_step: dernier" in out.getvalue()
    assert f"{module}.failing_step: ÉCHEC" in err.getvalue()
    assert "1 étape(s) en échec" in str(failure.value)
    assert failure.value.returncode == 1  # manage.py exits with it: cron sees the failure
    assert "the mail server is down" in caplog.text  # the traceback is logged


@pytest.mark.django_db
def test_run_twice_the_same_day_the_snapshot_is_written_once(monkeypatch, gard, herault):
    monkeypatch.setattr(daily, "STEPS", ["mesads.stats.snapshots.take_daily_snapshot"])

    run_daily("--date", DAY.isoformat())
    run_daily("--date", DAY.isoformat())

    assert DailySnapshot.objects.filter(date=DAY).count() == Departement.objects.count() + 1
    assert DailySnapshot.objects.count() == 3


@pytest.mark.django_db
def test_run_twice_the_same_day_nothing_is_sent_twice(
    gard, nimes, manager, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    """Every real step, twice: the renewal reminder and the weekly digest leave once."""
    ADS.objects.create(authority=nimes, number="N-2", creation_date=datetime.date(2020, 1, 10))

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run_daily("--date", DAY.isoformat())
        assert sorted(mail.to[0] for mail in mailoutbox) == [
            "agent@gard.gouv.fr",  # the digest: one renewal overdue in the Gard
            "gestionnaire@nimes.fr",  # the renewal reminder
        ]
    assert DailySnapshot.objects.filter(date=DAY, departement=None).count() == 1


@pytest.mark.django_db
def test_finished_tasks_are_kept_a_month_then_pruned():
    from django_tasks_db.models import DBTaskResult

    from mesads.users.notifications import send_email

    midnight = timezone.make_aware(datetime.datetime.combine(DAY, datetime.time()))

    def finished(days_before: int, status: str = "SUCCESSFUL") -> DBTaskResult:
        return DBTaskResult.objects.create(
            task_path="mesads.users.notifications.send_email",
            args_kwargs={"args": ["a@b.fr", "Objet", "Corps"], "kwargs": {}},
            queue_name="emails",
            backend_name="default",
            status=status,
            finished_at=midnight - datetime.timedelta(days=days_before),
        )

    old, old_failed, recent = finished(31), finished(45, "FAILED"), finished(29)
    waiting = DBTaskResult.objects.create(
        task_path=send_email.module_path,
        args_kwargs={"args": [], "kwargs": {}},
        queue_name="emails",
        backend_name="default",
        status="READY",
    )

    out, _ = run_daily("--date", DAY.isoformat())

    assert "mesads.core.daily.prune_finished_tasks: 2 tâche(s) terminée(s)" in out
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not DBTaskResult.objects.filter(pk__in=[old.pk, old_failed.pk]).exists()
