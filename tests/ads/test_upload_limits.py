"""An oversized request body is refused from its Content-Length, before it is read
(OPERATIONS.md #3): a real server, a raw socket that announces 300 MB and sends a few."""

import socket
import time

import pytest
from django.urls import reverse

MEGABYTE = 1024 * 1024


def announce_and_send(live_server, path: str, announced: int, sent: int = 64 * 1024) -> tuple:
    host, port = live_server.url.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {announced}\r\n\r\n"
            ).encode()
        )
        try:
            sock.sendall(b"x" * sent)
        except OSError:
            pass  # the server may already have answered and closed
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - start


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_300_mb_post_to_the_login_page_is_refused_unread(live_server, settings):
    answer, seconds = announce_and_send(live_server, reverse("login"), 300 * MEGABYTE)
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, answer[:200]
    assert seconds < 5


@pytest.mark.django_db(transaction=True)
def test_a_300_mb_decree_is_refused_before_it_is_received(live_server, nimes):
    path = reverse("ads:decree_create", args=[nimes.pk])
    answer, seconds = announce_and_send(live_server, path, 300 * MEGABYTE)
    assert b" 413 " in answer.split(b"\r\n", 1)[0]


def test_the_page_says_the_limit_in_french(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(reverse("login"), {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    page = response.content.decode()
    assert "Envoi trop volumineux" in page and "Rien n’a été enregistré" in page
    assert page.count("<h1") == 1


@pytest.mark.django_db
def test_upload_pages_accept_their_own_limit(rf, settings):
    from mesads.core.middleware import RequestBodyLimitMiddleware

    settings.MAX_DOCUMENT_SIZE = 10 * MEGABYTE
    decree = rf.post(reverse("ads:decree_create", args=[1]))
    assert RequestBodyLimitMiddleware.limit_for(decree) > 10 * MEGABYTE
    login = rf.post(reverse("login"))
    assert RequestBodyLimitMiddleware.limit_for(login) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
