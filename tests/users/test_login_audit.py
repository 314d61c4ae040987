"""The login audit: national staff see who logged in, out, or failed to, from where."""

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from mesads.users.middleware import client_ip
from mesads.users.models import LoginEvent, User

PASSWORD = "mot-de-passe-de-test"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def log_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def test_a_login_is_recorded_with_address_and_browser(client, manager):
    response = log_in(client, manager.email, REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT=FIREFOX)
    assert response.status_code == 302

    event = LoginEvent.objects.get()
    assert event.kind == LoginEvent.Kind.LOGIN
    assert event.user == manager
    assert event.email == manager.email
    assert event.ip_address == "192.0.2.10"
    assert event.user_agent == FIREFOX
    assert event.created_at is not None


def test_a_logout_is_recorded(client, manager):
    log_in(client, manager.email)

    client.post(reverse("logout"), REMOTE_ADDR="192.0.2.11")

    event = LoginEvent.objects.get(kind=LoginEvent.Kind.LOGOUT)
    assert event.user == manager
    assert event.ip_address == "192.0.2.11"


def test_logging_out_without_a_session_records_nothing(client, db):
    client.post(reverse("logout"))

    assert not LoginEvent.objects.exists()


def test_a_failed_login_names_the_account_it_was_tried_on(client, manager):
    log_in(client, "GESTIONNAIRE@Nimes.fr", "pas-le-bon", REMOTE_ADDR="198.51.100.4")

    event = LoginEvent.objects.get()
    assert event.kind == LoginEvent.Kind.FAILED
    assert event.user == manager
    assert event.email == "GESTIONNAIRE@Nimes.fr"  # as typed
    assert event.ip_address == "198.51.100.4"


def test_a_failed_login_on_an_unknown_address(client, db):
    log_in(client, "personne@exemple.fr", "peu-importe")

    event = LoginEvent.objects.get()
    assert event.kind == LoginEvent.Kind.FAILED
    assert event.user is None
    assert event.email == "personne@exemple.fr"


def test_attempts_during_a_lockout_are_recorded_as_failures(client, manager):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, manager.email, "pas-le-bon")

    assert log_in(client, manager.email).status_code == 429

    failures = LoginEvent.objects.filter(kind=LoginEvent.Kind.FAILED, user=manager)
    assert failures.count() == settings.AXES_FAILURE_LIMIT + 1
    assert not LoginEvent.objects.filter(kind=LoginEvent.Kind.LOGIN).exists()


def test_the_admin_login_is_audited_too(client, staff):
    client.post(reverse("admin:login"), {"username": staff.email, "password": "faux"})

    assert LoginEvent.objects.get().kind == LoginEvent.Kind.FAILED


def test_a_long_user_agent_is_cut_to_fit(client, manager):
    log_in(client, manager.email, HTTP_USER_AGENT="A" * 1000)

    assert LoginEvent.objects.get().user_agent == "A" * 300


def test_the_password_is_never_stored(client, manager):
    log_in(client, manager.email, "secret-essai-4242")

    event = LoginEvent.objects.values().get()
    assert "secret-essai-4242" not in str(event)


# --- the client's address -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        # A developer's machine: the header is anyone's to forge, it is ignored.
        (0, "203.0.113.5", "10.0.0.2"),
        # One proxy that sets the header, or appends to what the client sent.
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Two proxies (a CDN, then the platform's router).
        (2, "6.6.6.6, 203.0.113.5, 198.51.100.1", "203.0.113.5"),
        # Fewer entries than proxies: the furthest known address.
        (2, "203.0.113.5", "203.0.113.5"),
        # Not an address: fall back on the peer.
        (1, "unknown", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_ip(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_behind_the_proxy_the_audit_shows_the_client(client, manager, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    log_in(client, manager.email, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert LoginEvent.objects.get().ip_address == "203.0.113.5"


def test_a_forged_forwarded_address_gives_no_fresh_lockout_quota(client, manager, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(
            client,
            manager.email,
            "pas-le-bon",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{attempt}, 203.0.113.5",
        )

    response = log_in(
        client, manager.email, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.99, 203.0.113.5"
    )

    assert response.status_code == 429


# --- national staff read the audit in the admin -------------------------------------------


@pytest.fixture
def admin_client_(client, db):
    admin = User.objects.create_superuser("chef@mesads.example", PASSWORD, is_staff=True)
    client.force_login(admin)
    return client


@pytest.fixture
def events(manager, other_manager):
    LoginEvent.objects.all().delete()
    return [
        LoginEvent.objects.create(
            kind=LoginEvent.Kind.LOGIN, user=manager, email=manager.email, ip_address="192.0.2.1"
        ),
        LoginEvent.objects.create(
            kind=LoginEvent.Kind.FAILED,
            user=None,
            email="inconnu@exemple.fr",
            ip_address="2001:db8::7",
        ),
        LoginEvent.objects.create(
            kind=LoginEvent.Kind.LOGOUT,
            user=other_manager,
            email=other_manager.email,
            ip_address="198.51.100.9",
        ),
    ]


def changelist(client, **params):
    response = client.get(reverse("admin:users_loginevent_changelist"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_staff_list_filter_and_search_the_audit(admin_client_, events):
    page = changelist(admin_client_)
    assert "Journal des connexions" in page
    for email in ("gestionnaire@nimes.fr", "inconnu@exemple.fr", "gestionnaire@ales.fr"):
        assert email in page

    failed = changelist(admin_client_, kind="failed")
    assert "inconnu@exemple.fr" in failed
    assert "gestionnaire@nimes.fr" not in failed

    by_email = changelist(admin_client_, q="ales")
    assert "gestionnaire@ales.fr" in by_email
    assert "gestionnaire@nimes.fr" not in by_email

    by_address = changelist(admin_client_, q="192.0.2")
    assert "gestionnaire@nimes.fr" in by_address
    assert "gestionnaire@ales.fr" not in by_address


def test_the_audit_is_read_only(admin_client_, events):
    event = events[0]
    page = changelist(admin_client_)
    assert reverse("admin:users_loginevent_add") not in page
    assert 'value="delete_selected"' not in page

    detail = admin_client_.get(reverse("admin:users_loginevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert (
        admin_client_.post(
            reverse("admin:users_loginevent_change", args=[event.pk]), {}
        ).status_code
        == 403
    )
    delete_url = reverse("admin:users_loginevent_delete", args=[event.pk])
    assert admin_client_.post(delete_url, {"post": "yes"}).status_code == 403
    assert LoginEvent.objects.filter(pk=event.pk).exists()


def test_managers_cannot_read_the_audit(client, manager):
    client.force_login(manager)

    response = client.get(reverse("admin:users_loginevent_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
