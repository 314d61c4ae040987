"""E-mail notifications, sent through the task queue so that a failing mail server never
breaks the save that triggered them (the failure is logged, not hidden).

Each kind of notification matches a preference on ``User`` that its recipient may switch
off in their profile.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from mesads.core.workers import (
    PRIORITY_NOTIFICATION,
    PRIORITY_PASSWORD_RESET,
    backoff,
    retry_when_interrupted,
)

from .models import FailedEmail, User

logger = logging.getLogger(__name__)

# kind -> the User field that must be True for the mail to be sent
PREFERENCES = {
    "access_request": "notify_access_requests",
    "access_decision": "notify_access_decisions",
    "sent_back": "notify_sent_back",
    "changes": "notify_changes",
}


PRIORITIES = {
    FailedEmail.Kind.PASSWORD_RESET: PRIORITY_PASSWORD_RESET,
    FailedEmail.Kind.NOTIFICATION: PRIORITY_NOTIFICATION,
}


# Sent twice rather than never when its worker dies mid-way (a lost password reset is worse).
@retry_when_interrupted
@task(queue_name="emails")
def send_email(
    recipient: str, subject: str, body: str, kind: str = "notification", attempt: int = 1
) -> None:
    """Send one e-mail; when it fails, queue the next attempt (``EMAIL_MAX_ATTEMPTS`` in
    all, with a growing delay) or, after the last one, record it as ``FailedEmail``."""
    subject = " ".join(subject.split())  # one line, whatever a name in it holds
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    except Exception as error:
        if attempt < settings.EMAIL_MAX_ATTEMPTS and send_email.get_backend().supports_defer:
            delay = backoff(attempt, settings.EMAIL_RETRY_DELAY, settings.EMAIL_RETRY_MAX_DELAY)
            logger.warning(
                "E-mail to %s (%s) failed, attempt %d of %d: %s; next in %.0f s",
                recipient,
                subject,
                attempt,
                settings.EMAIL_MAX_ATTEMPTS,
                error,
                delay,
            )
            queue_email(
                recipient,
                subject,
                body,
                kind=kind,
                attempt=attempt + 1,
                run_after=timezone.now() + timedelta(seconds=delay),
            )
        else:
            # Without a worker (the immediate backend) there is no later: recorded at once.
            logger.exception(
                "E-mail to %s (%s) given up after %d attempt(s)", recipient, subject, attempt
            )
            FailedEmail.objects.create(
                recipient=recipient,
                subject=subject[:300],
                kind=kind,
                attempts=attempt,
                last_error=f"{type(error).__name__}: {error}"[:2000],
            )
        raise


def queue_email(
    recipient: str,
    subject: str,
    body: str,
    *,
    kind: str = FailedEmail.Kind.NOTIFICATION,
    attempt: int = 1,
    run_after: datetime | None = None,
):
    """Queue ``send_email`` with the priority of its kind (a password reset goes first)."""
    options = {"priority": PRIORITIES[kind]}
    if run_after is not None:
        options["run_after"] = run_after
    return send_email.using(**options).enqueue(recipient, subject, body, kind=kind, attempt=attempt)


def notify(kind: str, users: Iterable[User], subject: str, template: str, context: dict) -> int:
    """Queue one e-mail per user who has not switched this kind off; returns how many.

    The mails leave once the current transaction commits: a rolled-back change notifies
    nobody.
    """
    preference = PREFERENCES[kind]
    sent = 0
    for user in users:
        if not user.is_active or not getattr(user, preference):
            continue
        body = render_to_string(template, {**context, "recipient": user})
        send_after_commit(user.email, f"[Mes ADS] {subject}", body)
        sent += 1
    return sent


def queue_quietly(
    recipient: str, subject: str, body: str, *, kind: str = FailedEmail.Kind.NOTIFICATION
) -> None:
    """Queue one e-mail; a failure is logged with its traceback, never raised: with the
    immediate backend (tests, ``make run``) the mail is sent right here, and a failing
    mail server must not turn a saved change into an error page."""
    try:
        queue_email(recipient, subject, body, kind=kind)
    except Exception:
        logger.exception("Could not send or queue the e-mail to %s (%s)", recipient, subject)


def send_after_commit(
    recipient: str, subject: str, body: str, *, kind: str = FailedEmail.Kind.NOTIFICATION
) -> None:
    """Queue one e-mail once the current transaction commits: a rolled-back change tells
    nobody."""
    transaction.on_commit(lambda: queue_quietly(recipient, subject, body, kind=kind))
