"""The daily step of waiting lists (``mesads.core.daily.STEPS``): reminders of renewal.

An application lapses one year after its registration or last renewal unless the
applicant renews it (L3121-5). ``REMINDER_DAYS`` before, the applicant (when an e-mail
address is known) and the authority's managers are told; once it has lapsed, they are
told again. Each reminder is recorded (``Reminder``, unique per application, kind and
end of validity) in the transaction that queues its mails: run twice the same day, the
step sends nothing twice; a renewed application gets its reminders for the new year.
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse

from mesads.core.text import de
from mesads.users.models import AuthorityAccess
from mesads.users.notifications import send_after_commit

from .models import REMINDER_DAYS, Application, Reminder

SUBJECTS = {
    Reminder.Kind.DUE: "Votre demande sur la liste d’attente {de_authority} est à renouveler",
    Reminder.Kind.EXPIRED: "Votre demande sur la liste d’attente {de_authority} a expiré",
}


def _queue(recipient: str, subject: str, body: str) -> None:
    """After commit, through the task queue: a failing mail server is logged, and never
    undoes the reminders recorded."""
    send_after_commit(recipient, f"[Mes ADS] {subject}", body)


def _pending(kind: str, today: datetime.date):
    applications = (
        Application.objects.due(today)
        if kind == Reminder.Kind.DUE
        else (Application.objects.expired(today))
    )
    already = Reminder.objects.filter(
        application=OuterRef("pk"), kind=kind, valid_until=OuterRef("valid_until")
    )
    return (
        applications.filter(~Exists(already))
        .select_related("authority")
        .select_for_update(of=("self",))
        .order_by("authority_id", "valid_until", "pk")
    )


@transaction.atomic
def send_renewal_reminders(today: datetime.date) -> str:
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    reminders: list[Reminder] = []
    by_authority: dict[int, list[tuple[str, Application]]] = defaultdict(list)
    applicants = 0
    for kind in (Reminder.Kind.DUE, Reminder.Kind.EXPIRED):
        for application in _pending(kind, today):
            authority = application.authority
            told = bool(application.applicant_email)
            if told:
                subject = SUBJECTS[kind].format(
                    de_authority=de(authority.name), date=f"{application.valid_until:%d/%m/%Y}"
                )
                body = render_to_string(
                    f"waitinglists/emails/applicant_{kind}.txt",
                    {"application": application, "authority": authority},
                )
                _queue(application.applicant_email, subject, body)
                applicants += 1
            by_authority[authority.pk].append((kind, application))
            reminders.append(
                Reminder(
                    application=application,
                    kind=kind,
                    valid_until=application.valid_until,
                    applicant_told=told,
                )
            )
    managers = defaultdict(list)
    for access in AuthorityAccess.objects.filter(
        authority_id__in=list(by_authority),
        status=AuthorityAccess.Status.ACCEPTED,
        user__is_active=True,
    ).select_related("user"):
        managers[access.authority_id].append(access.user)
    told_by_authority: dict[int, int] = {}
    for authority_id, items in by_authority.items():
        authority = items[0][1].authority
        url = reverse("waitinglists:list", args=[authority_id])
        recipients = managers.get(authority_id, [])
        for user in recipients:
            body = render_to_string(
                "waitinglists/emails/managers.txt",
                {
                    "recipient": user,
                    "authority": authority,
                    "due": [a for kind, a in items if kind == Reminder.Kind.DUE],
                    "expired": [a for kind, a in items if kind == Reminder.Kind.EXPIRED],
                    "url": site + url if site else "",
                    "days": REMINDER_DAYS,
                },
            )
            _queue(
                user.email, f"Liste d’attente {de(authority.name)} : demandes à renouveler", body
            )
        told_by_authority[authority_id] = len(recipients)
    for reminder in reminders:
        reminder.managers_told = told_by_authority.get(reminder.application.authority_id, 0)
    Reminder.objects.bulk_create(reminders)
    return (
        f"{len(reminders)} rappel(s) de liste d’attente : {applicants} demandeur(s) et "
        f"{sum(told_by_authority.values())} courriel(s) aux gestionnaires"
    )
