"""Login audit: every login, logout and failed login becomes a LoginEvent row, with the
client's address and browser, for national staff (admin, "Journal des connexions").

There is no receiver for a deactivated account: its sessions stop authenticating at once
(ModelBackend refuses inactive users) and SessionTimeoutMiddleware deletes each one at its
next request. Finding them all beforehand would mean decoding every stored session.
"""

import logging

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django_tasks.signals import task_finished
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from .middleware import client_ip, start_session_clock
from .models import LoginEvent, User
from .proconnect import BACKEND as PROCONNECT_BACKEND
from .proconnect import CLAIMS_CREDENTIAL as PROCONNECT_CLAIMS

logger = logging.getLogger(__name__)

_EMAIL_LENGTH = LoginEvent._meta.get_field("email").max_length
_USER_AGENT_LENGTH = LoginEvent._meta.get_field("user_agent").max_length


def _method(backend: str | None) -> str:
    """How the person logged in: the authentication backend says it."""
    if backend == PROCONNECT_BACKEND:
        return LoginEvent.Method.PROCONNECT
    return LoginEvent.Method.PASSWORD


def _record(
    kind: str,
    request: HttpRequest | None,
    user: User | None,
    email: str,
    method: str = LoginEvent.Method.PASSWORD,
) -> None:
    meta = request.META if request is not None else {}
    LoginEvent.objects.create(
        kind=kind,
        method=method,
        user=user,
        email=email[:_EMAIL_LENGTH],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=meta.get("HTTP_USER_AGENT", "")[:_USER_AGENT_LENGTH],
    )


@receiver(user_logged_in, dispatch_uid="mesads_login_audit")
def on_login(sender, request: HttpRequest | None, user: User, **kwargs) -> None:
    _record(
        LoginEvent.Kind.LOGIN, request, user, user.email, _method(getattr(user, "backend", None))
    )
    if request is not None and hasattr(request, "session"):
        start_session_clock(request)


@receiver(user_logged_out, dispatch_uid="mesads_logout_audit")
def on_logout(sender, request: HttpRequest | None, user: User | None, **kwargs) -> None:
    if user is None:  # logging out an anonymous visitor ends nothing
        return
    # Still the session being ended: Django sends the signal before flushing it.
    session = getattr(request, "session", None)
    backend = session.get(BACKEND_SESSION_KEY) if session is not None else None
    _record(LoginEvent.Kind.LOGOUT, request, user, user.email, _method(backend))


@receiver(user_login_failed, dispatch_uid="mesads_login_failed_audit")
def on_login_failed(
    sender, credentials: dict, request: HttpRequest | None = None, **kwargs
) -> None:
    # The address as typed (Django has already masked the password in credentials); the
    # account it names, if any, so that staff can list the failures against an account.
    typed = str(credentials.get("username") or credentials.get("email") or "")
    email = User.objects.normalize_email(typed)
    user = User.objects.filter(email__iexact=email).first() if email else None
    method = (
        LoginEvent.Method.PROCONNECT
        if PROCONNECT_CLAIMS in credentials
        else LoginEvent.Method.PASSWORD
    )
    _record(LoginEvent.Kind.FAILED, request, user, typed, method)


def record_failed_proconnect_login(request: HttpRequest) -> None:
    """A ProConnect login that failed before anyone was identified (a forged or replayed
    state, a token that does not verify): audited, but not counted by the lockout, which
    counts attempts against an address."""
    _record(LoginEvent.Kind.FAILED, request, None, "", LoginEvent.Method.PROCONNECT)


# The stored arguments of an e-mail task (django-tasks-db keeps them in its table).
SEND_EMAIL_TASK = "mesads.users.notifications.send_email"
BODY_FORGOTTEN = "[corps effacé une fois la tâche terminée]"


@receiver(task_finished, dispatch_uid="mesads_forget_email_bodies")
def forget_the_body_of_a_finished_email(sender, task_result, **kwargs) -> None:
    """An e-mail's body may hold a secret: a password-reset link works for 72 hours. Once
    its task is over (sent; or failed, its next attempt queued as a task of its own; or
    given up), the stored task keeps the recipient and subject, not the body: a reader of
    the tasks table (admin, a database dump) finds no working link.

    Never raises: django-tasks-db's worker sends this signal inside the task's own error
    handling, where an exception would mark a sent e-mail as failed (and send it again)."""
    # The worker sends the backend itself, the immediate backend its class.
    backend = sender if isinstance(sender, type) else type(sender)
    if not issubclass(backend, DatabaseBackend):  # the immediate backend stores nothing
        return
    try:
        _forget_the_body(task_result.id)
    except Exception:
        logger.exception("Could not forget the body of e-mail task %s", task_result.id)


def _forget_the_body(task_id: str) -> None:
    stored = (
        DBTaskResult.objects.filter(pk=task_id, task_path=SEND_EMAIL_TASK)
        .only("args_kwargs")
        .first()
    )
    if stored is None:  # another task
        return
    arguments = stored.args_kwargs
    if len(arguments.get("args", [])) > 2:
        arguments["args"][2] = BODY_FORGOTTEN
    if "body" in arguments.get("kwargs", {}):
        arguments["kwargs"]["body"] = BODY_FORGOTTEN
    DBTaskResult.objects.filter(pk=stored.pk).update(args_kwargs=arguments)
