"""Renewals of new-regime ADS (valid five years, L3121-1-2 of the transport code) and
vacant ADS (to re-attribute or withdraw within three months): the managers' calendar,
their reminders, and the prefectures' weekly digest.

The due date is the ADS's own rule (``ADS.renewal_due_date``); the queries select with
``renewal_overdue_q(day)``, which is "due on or before ``day``", whatever ``day`` is.
"""

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from mesads.ads.models import ADS, renewal_overdue_q, validity_start
from mesads.authorities.models import Authority
from mesads.core.http import site_url
from mesads.users.notifications import send_after_commit

from .models import (
    PrefectureDigest,
    RenewalNotice,
    Vacancy,
    iso_week,
    reminders_on_q,
    weekly_digest_on_q,
)
from .recipients import manager_accesses, prefecture_agents

SOON_DAYS = 90
CALENDAR_MONTHS = 12
CALENDAR_LIMIT = 200
VACANCY_MONTHS = 3
DIGEST_LIMIT = 30
RENEWAL_SUBJECT = "[Mes ADS] Renouvellement de vos ADS"


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- the manager's calendar -----------------------------------------------------------


@dataclass
class CalendarMonth:
    month: datetime.date | None  # None: overdue
    ads: list[ADS] = field(default_factory=list)


@dataclass
class Calendar:
    months: list[CalendarMonth]
    total: int
    shown: int

    @property
    def truncated(self) -> bool:
        return self.total > self.shown


def renewal_calendar(authority: Authority, today: datetime.date) -> Calendar:
    """The authority's new-regime ADS overdue or due in the next 12 months, grouped by
    month: one query (two when there are more than can be shown)."""
    horizon = add_months(today, CALENDAR_MONTHS)
    # The due date is five years after the start of validity: ordering by it orders by
    # due date, read in order from the index (the first 200 of Paris's 2,300).
    due = (
        ADS.objects.live()
        .filter(authority=authority)
        .renewal_due_by(horizon)
        .only("pk", "number", "creation_date", "last_renewal_date", "holder_name", "in_use")
        .order_by("validity_start", "number_sort_key", "pk")
    )
    rows = list(due[: CALENDAR_LIMIT + 1])
    total = len(rows) if len(rows) <= CALENDAR_LIMIT else due.count()
    rows = rows[:CALENDAR_LIMIT]
    months: dict[datetime.date | None, CalendarMonth] = {}
    for ads in rows:
        day = ads.renewal_due_date
        ads.due_date = day
        key = None if day <= today else day.replace(day=1)
        months.setdefault(key, CalendarMonth(key)).ads.append(ads)
    return Calendar(months=list(months.values()), total=total, shown=len(rows))


# --- reminders to managers -------------------------------------------------------------


def send_renewal_reminders(today: datetime.date) -> str:
    """E-mail each manager the new-regime ADS whose renewal falls within 90 days or is
    overdue, once per threshold and due date (``RenewalNotice``). An ADS none of whose
    managers may be told (none, or all opted out) is not recorded: it is looked at again
    the next day."""
    horizon = today + datetime.timedelta(days=SOON_DAYS)
    candidates = ADS.objects.live().filter(renewal_overdue_q(horizon))
    done = set(
        RenewalNotice.objects.filter(ads__in=candidates.values("pk")).values_list(
            "ads_id", "threshold", "due_date"
        )
    )
    items_by_authority: dict[int, list[tuple[ADS, str]]] = defaultdict(list)
    rows = (
        candidates.select_related("authority")
        .only(
            "pk",
            "number",
            "creation_date",
            "last_renewal_date",
            "authority__id",
            "authority__name",
        )
        .order_by("authority_id", validity_start(), "number_sort_key")
    )
    for ads in rows.iterator(chunk_size=2000):
        ads.due_date = ads.renewal_due_date
        threshold = (
            RenewalNotice.Threshold.OVERDUE
            if ads.due_date <= today
            else RenewalNotice.Threshold.SOON
        )
        if (ads.pk, threshold, ads.due_date) not in done:
            items_by_authority[ads.authority_id].append((ads, threshold))
    if not items_by_authority:
        return "0 rappel de renouvellement"

    managers: dict[int, list[int]] = defaultdict(list)
    emails: dict[int, object] = {}
    accesses = (
        manager_accesses()
        .filter(authority_id__in=sorted(items_by_authority))
        .filter(reminders_on_q("user__"))
        .select_related("user")
        .order_by("user_id", "authority__name")
    )
    for access in accesses:
        managers[access.user_id].append(access.authority_id)
        emails[access.user_id] = access.user
    reached: dict[int, int] = defaultdict(int)  # ADS id -> recipients
    url = site_url()
    mails = 0
    with transaction.atomic():
        for user_id, authority_ids in managers.items():
            user = emails[user_id]
            sections = []
            for authority_id in authority_ids:
                items = items_by_authority[authority_id]
                for ads, _ in items:
                    reached[ads.pk] += 1
                sections.append(
                    {
                        "authority": items[0][0].authority,
                        "overdue": [a for a, t in items if t == RenewalNotice.Threshold.OVERDUE],
                        "soon": [a for a, t in items if t == RenewalNotice.Threshold.SOON],
                        "url": url + reverse("ads:authority", args=[authority_id]),
                    }
                )
            body = render_to_string(
                "reminders/emails/renewal_reminder.txt",
                {
                    "recipient": user,
                    "sections": sections,
                    "soon_days": SOON_DAYS,
                    "profile_url": url + reverse("profile"),
                },
            )
            send_after_commit(user.email, RENEWAL_SUBJECT, body)
            mails += 1
        RenewalNotice.objects.bulk_create(
            [
                RenewalNotice(
                    ads=ads,
                    threshold=threshold,
                    due_date=ads.due_date,
                    sent_on=today,
                    recipients_count=reached[ads.pk],
                )
                for items in items_by_authority.values()
                for ads, threshold in items
                if reached[ads.pk]
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
    return f"{mails} rappel(s) de renouvellement, pour {len(reached)} ADS"


# --- vacancies -------------------------------------------------------------------------


def track_vacancies(today: datetime.date) -> str:
    """Record since when each vacant ADS is vacant (from its history the first time it is
    seen), forget the ones in use again or deleted."""
    with transaction.atomic():
        ended, _ = Vacancy.objects.filter(
            Q(ads__in_use=True) | Q(ads__deleted_at__isnull=False)
        ).delete()
        new = list(
            ADS.objects.live()
            .filter(in_use=False, vacancy__isnull=True)
            .values_list("pk", "created_at", "updated_at")
        )
        content_type = ContentType.objects.get_for_model(ADS)
        created = []
        for start in range(0, len(new), 500):
            chunk = new[start : start + 500]
            versions = defaultdict(list)
            rows = (
                Version.objects.filter(
                    content_type=content_type, object_id__in=[str(pk) for pk, _, _ in chunk]
                )
                .order_by("object_id", "-revision__date_created", "-pk")
                .values_list("object_id", "revision__date_created", "serialized_data")
            )
            for object_id, date, data in rows:
                versions[int(object_id)].append((date, data))
            for pk, created_at, updated_at in chunk:
                since = _vacant_since(versions.get(pk, []), created_at, updated_at)
                created.append(Vacancy(ads_id=pk, since=min(since, today)))
        Vacancy.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
    return f"{len(created)} ADS devenue(s) vacante(s), {ended} de nouveau exploitée(s)"


def _vacant_since(versions, created_at, updated_at) -> datetime.date:
    """The date of the first of the latest run of versions showing the ADS vacant.
    Without history, since it is in the register; if its latest version shows it in use
    (changed without a revision, e.g. a bulk update), since its last change."""
    since = None
    for date, data in versions:  # latest first
        try:
            in_use = json.loads(data)[0]["fields"].get("in_use", True)
        except (ValueError, KeyError, IndexError):
            break
        if in_use:
            break
        since = date
    if since is None:
        since = created_at if not versions else updated_at
    return timezone.localdate(since)


# --- the prefectures' weekly digest ------------------------------------------------------


def send_prefecture_digests(today: datetime.date) -> str:
    """Once per ISO week (the first run of the week), e-mail each prefecture agent its
    département's overdue renewals and the ADS vacant for over three months. A
    département with neither is sent nothing (and looked at again the next day)."""
    week = iso_week(today)
    agents = (
        prefecture_agents()
        .filter(weekly_digest_on_q("user__"))
        .exclude(
            user__in=PrefectureDigest.objects.filter(
                week=week, departement=OuterRef("departement")
            ).values("user")
        )
        .select_related("user", "departement")
        .order_by("departement__code", "user__email")
    )
    by_departement = defaultdict(list)
    for membership in agents:
        by_departement[membership.departement].append(membership.user)
    vacant_before = add_months(today, -VACANCY_MONTHS)
    url = site_url()
    mails = 0
    with transaction.atomic():
        for departement, users in by_departement.items():
            live = ADS.objects.live().filter(authority__departement=departement)
            overdue = live.filter(renewal_overdue_q(today))
            vacant = live.filter(in_use=False, vacancy__since__lte=vacant_before)
            overdue_count, vacant_count = overdue.count(), vacant.count()
            if not overdue_count and not vacant_count:
                continue
            overdue_rows = list(
                overdue.select_related("authority").order_by(validity_start(), "pk")[:DIGEST_LIMIT]
            )
            for ads in overdue_rows:
                ads.due_date = ads.renewal_due_date
            vacant_rows = list(
                vacant.select_related("authority", "vacancy").order_by("vacancy__since", "pk")[
                    :DIGEST_LIMIT
                ]
            )
            context = {
                "departement": departement,
                "overdue": overdue_rows,
                "overdue_count": overdue_count,
                "vacant": vacant_rows,
                "vacant_count": vacant_count,
                "list_url": url + reverse("prefecture:ads", args=[departement.code]),
                "profile_url": url + reverse("profile"),
                "site_url": url,
            }
            subject = f"[Mes ADS] Récapitulatif de la semaine – {departement}"
            for user in users:
                body = render_to_string(
                    "reminders/emails/prefecture_digest.txt", {**context, "recipient": user}
                )
                send_after_commit(user.email, subject, body)
                mails += 1
            PrefectureDigest.objects.bulk_create(
                [
                    PrefectureDigest(user=user, departement=departement, week=week, sent_on=today)
                    for user in users
                ],
                ignore_conflicts=True,
            )
    return f"{mails} récapitulatif(s) hebdomadaire(s) ({week})"
