"""E-mail notifications, sent through the task queue so that a failing mail server never
breaks the save that triggered them (the failure is logged, not hidden).

Each kind of notification matches a preference on ``User`` that its recipient may switch
off in their profile.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django_tasks import task

from .models import User

logger = logging.getLogger(__name__)

# kind -> the User field that must be True for the mail to be sent
PREFERENCES = {
    "access_request": "notify_access_requests",
    "access_decision": "notify_access_decisions",
    "sent_back": "notify_sent_back",
    "changes": "notify_changes",
}


@task(queue_name="emails")
def send_email(recipient: str, subject: str, body: str) -> None:
    subject = " ".join(subject.split())  # one line, whatever a name in it holds
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    except Exception:
        logger.exception("Notification e-mail to %s failed (%s)", recipient, subject)
        raise


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
        transaction.on_commit(
            lambda email=user.email, body=body: _enqueue(email, f"[Mes ADS] {subject}", body)
        )
        sent += 1
    return sent


def _enqueue(recipient: str, subject: str, body: str) -> None:
    try:
        send_email.enqueue(recipient, subject, body)
    except Exception:
        # With the immediate backend the mail is sent here; its failure must not turn a
        # saved change into an error page.
        logger.exception("Could not send or queue the notification to %s", recipient)
