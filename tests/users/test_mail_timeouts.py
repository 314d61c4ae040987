"""A mail server that accepts the connection and never answers (OPERATIONS.md #11): no
request waits on it, a send gives up after EMAIL_TIMEOUT, and the password-reset page
answers the same way for a known and an unknown address."""

import socket
import threading
import time

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from mesads.users.models import FailedEmail
from mesads.users.notifications import send_email


@pytest.fixture
def silent_smtp(settings):
    """A real listener on loopback that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.getsockname()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1
    yield accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.django_db
def test_a_send_to_a_silent_server_gives_up_after_the_timeout(silent_smtp, caplog):
    start = time.monotonic()
    with pytest.raises(OSError):
        send_email.call("gestionnaire@mairie.example", "Objet", "Texte")
    assert time.monotonic() - start < 5
    assert silent_smtp  # it did connect: the timeout, not a refusal, ended it
    assert "given up" in caplog.text  # logged, not hidden
    # Without a worker to try again later (the immediate backend), recorded at once.
    [failed] = FailedEmail.objects.all()
    assert (failed.recipient, failed.attempts) == ("gestionnaire@mairie.example", 1)


@pytest.mark.django_db
def test_password_reset_answers_alike_for_known_and_unknown_addresses(
    client, manager, silent_smtp, settings
):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "emails", "imports"],
        }
    }
    timings, answers = [], []
    for address in (manager.email, "inconnu@mairie.example"):
        start = time.monotonic()
        response = client.post(reverse("password_reset"), {"email": address})
        timings.append(time.monotonic() - start)
        answers.append((response.status_code, response.get("Location")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302
    assert max(timings) < 1  # nothing waited on the silent server
    assert not silent_smtp
    [queued] = DBTaskResult.objects.filter(queue_name="emails")
    assert manager.email in str(queued.args_kwargs)
    assert queued.priority > 0  # before notifications and campaigns
