import logging

from django.db import transaction

from mesads.users.notifications import queue_email

logger = logging.getLogger(__name__)


def send_after_commit(recipient: str, subject: str, body: str) -> None:
    """Queue the e-mail once the current transaction commits (a rolled-back change tells
    nobody). A failure to queue is logged with its traceback, as the password reset does
    (``mesads.users.forms``): with the immediate backend the mail is sent right there,
    and its failure must not turn a saved registration into an error page."""

    def enqueue() -> None:
        try:
            queue_email(recipient, subject, body)
        except Exception:
            logger.exception("Could not send or queue the e-mail to %s (%s)", recipient, subject)

    transaction.on_commit(enqueue)
