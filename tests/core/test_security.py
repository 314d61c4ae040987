"""Security hardening as a visitor meets it: the Content-Security-Policy of every page,
sessions that end (idle, too old, account deactivated), cookies, password rules."""

import re
import time

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesads.users.middleware import LAST_ACTIVITY_AT, LOGIN_AT
from mesads.users.models import LoginEvent, User

PASSWORD = "mot-de-passe-de-test"
EXPIRED = "Votre session a expiré"


def log_in(client, user, password=PASSWORD):
    response = client.post(reverse("login"), {"username": user.email, "password": password})
    assert response.status_code == 302, response.content.decode()
    return response


# --- Content-Security-Policy --------------------------------------------------------------


def csp_directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def script_tags(response) -> list[str]:
    return re.findall(r"<script\b[^>]*>", response.content.decode())


@pytest.fixture
def pages(client, manager, nimes, staff):
    """A few pages of each kind: public, login, logged-in, admin."""

    def fetch(who):
        client.logout()
        if who is not None:
            client.force_login(who)
        return client

    return [
        (None, reverse("home")),
        (None, reverse("login")),
        (None, reverse("password_reset")),
        (manager, reverse("home")),
        (manager, reverse("profile")),
        (manager, reverse("password_change")),
        (manager, reverse("email_change")),
        (manager, reverse("ads:authorities")),
    ], fetch


def test_every_page_has_a_strict_content_security_policy(pages):
    urls, as_user = pages
    for who, url in urls:
        response = as_user(who).get(url)
        assert response.status_code == 200, url
        policy = csp_directives(response)

        assert "'unsafe-inline'" not in policy["script-src"], url
        assert "'unsafe-eval'" not in policy["script-src"], url
        assert policy["script-src"][0] == "'self'"
        assert re.fullmatch(r"'nonce-[A-Za-z0-9+/=]{20,}'", policy["script-src"][1]), url
        assert policy["default-src"] == ["'self'"]
        assert "'unsafe-inline'" not in policy["style-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]


def test_the_design_system_scripts_carry_the_nonce_of_the_header(client, manager):
    client.force_login(manager)
    response = client.get(reverse("profile"))

    nonce = csp_directives(response)["script-src"][1].removeprefix("'nonce-").rstrip("'")
    tags = script_tags(response)
    assert any("dsfr.module.min.js" in tag for tag in tags)
    assert any("dsfr.nomodule.min.js" in tag for tag in tags)
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, tag


def test_the_nonce_is_new_for_each_response(client, db):
    first = csp_directives(client.get(reverse("login")))["script-src"][1]
    second = csp_directives(client.get(reverse("login")))["script-src"][1]

    assert first != second


def test_pages_have_no_inline_script_style_or_event_handler(pages):
    # The policy would block them: they must not be written in the first place.
    urls, as_user = pages
    for who, url in urls:
        html = as_user(who).get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"inline script on {url}: {tag}"
        assert not re.search(r"<[a-z][^>]*\sstyle=", html), url
        assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html), url


def test_the_admin_works_under_the_policy(client, db):
    admin = User.objects.create_superuser("chef@mesads.example", PASSWORD)
    client.force_login(admin)

    response = client.get(reverse("admin:users_loginevent_changelist"))

    assert response.status_code == 200
    assert "'unsafe-inline'" not in csp_directives(response)["script-src"]
    for tag in script_tags(response):
        assert "src=" in tag, tag


def test_clickjacking_and_sniffing_headers(client, db):
    response = client.get(reverse("login"))

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


# --- cookies --------------------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(client, manager):
    response = log_in(client, manager)

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.SESSION_ABSOLUTE_TIMEOUT


# --- session timeouts ---------------------------------------------------------------------


def age_session(client, key: str, seconds: float) -> None:
    session = client.session
    session[key] -= seconds
    session.save()


def test_login_starts_both_session_clocks(client, manager):
    before = time.time()
    log_in(client, manager)

    session = client.session
    assert before <= session[LOGIN_AT] <= time.time()
    assert session[LAST_ACTIVITY_AT] == session[LOGIN_AT]


def test_a_session_idle_too_long_ends_and_returns_to_the_page_after_login(client, manager):
    log_in(client, manager)
    age_session(client, LAST_ACTIVITY_AT, settings.SESSION_IDLE_TIMEOUT + 1)
    page = reverse("profile") + "?onglet=1"

    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/compte/profil/%3Fonglet%3D1"
    assert client.session.get(SESSION_KEY) is None
    login_page = client.get(response["Location"]).content.decode()
    assert f"{EXPIRED} après 30 minutes d’inactivité." in login_page
    assert "Reconnectez-vous pour continuer." in login_page
    assert LoginEvent.objects.filter(kind=LoginEvent.Kind.LOGOUT, user=manager).exists()

    response = client.post(
        response["Location"],
        {"username": manager.email, "password": PASSWORD, "next": "/compte/profil/?onglet=1"},
    )
    assert response["Location"] == "/compte/profil/?onglet=1"


def test_activity_keeps_the_session_alive(client, manager):
    log_in(client, manager)
    # Just under the idle timeout: still active, and the clock restarts.
    age_session(client, LAST_ACTIVITY_AT, settings.SESSION_IDLE_TIMEOUT - 5)

    assert client.get(reverse("profile")).status_code == 200
    assert time.time() - client.session[LAST_ACTIVITY_AT] < 5
    assert client.get(reverse("profile")).status_code == 200


def test_a_session_ends_after_the_absolute_timeout_even_when_active(client, manager):
    log_in(client, manager)
    age_session(client, LOGIN_AT, settings.SESSION_ABSOLUTE_TIMEOUT + 1)

    response = client.get(reverse("profile"), follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert f"{EXPIRED} : elle dure au plus 12 heures." in response.content.decode()
    assert client.session.get(SESSION_KEY) is None


def test_the_timeouts_come_from_the_settings(client, manager, settings):
    settings.SESSION_IDLE_TIMEOUT = 5 * 60
    log_in(client, manager)
    age_session(client, LAST_ACTIVITY_AT, 5 * 60 + 1)

    response = client.get(reverse("profile"), follow=True)

    assert f"{EXPIRED} après 5 minutes d’inactivité." in response.content.decode()


def test_an_expired_session_on_the_login_page_shows_the_form_without_a_loop(client, manager):
    log_in(client, manager)
    age_session(client, LAST_ACTIVITY_AT, settings.SESSION_IDLE_TIMEOUT + 1)

    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert EXPIRED in response.content.decode()
    assert client.session.get(SESSION_KEY) is None


def test_a_form_posted_after_expiry_is_not_replayed(client, manager):
    log_in(client, manager)
    age_session(client, LAST_ACTIVITY_AT, settings.SESSION_IDLE_TIMEOUT + 1)

    response = client.post(reverse("logout"))

    # Back to the login page, then home: the logout URL only accepts POST.
    assert response["Location"] == f"{reverse('login')}?next=/"
    assert client.session.get(SESSION_KEY) is None


def test_a_session_opened_before_the_clocks_existed_starts_counting_now(client, manager):
    log_in(client, manager)
    session = client.session
    del session[LOGIN_AT]
    del session[LAST_ACTIVITY_AT]
    session.save()

    assert client.get(reverse("profile")).status_code == 200
    assert LOGIN_AT in client.session


# --- deactivated accounts -----------------------------------------------------------------


def test_a_deactivated_user_is_logged_out_at_the_next_request(client, manager):
    log_in(client, manager)
    session_key = client.session.session_key

    manager.is_active = False
    manager.save()

    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    # The session itself is gone: reactivating the account does not bring it back.
    assert not Session.objects.filter(session_key=session_key).exists()
    manager.is_active = True
    manager.save()
    assert client.get(reverse("profile")).status_code == 302


# --- password rules -----------------------------------------------------------------------


def test_password_rules_follow_current_guidance(db):
    user = User(email="camille.durand@mairie-exemple.fr", first_name="Camille")

    # Length matters, not composition: a lower-case passphrase is fine.
    validate_password("le taxi de la gare part à midi", user)
    validate_password("taxibleunimes", user)

    def refused(password: str) -> str:
        with pytest.raises(ValidationError) as error:
            validate_password(password, user)
        return " ".join(error.value.messages)

    assert "trop court" in refused("Court-1!")
    assert "au minimum 12 caractères" in refused("Court-1!")
    assert "trop courant" in refused("password1234")
    assert "trop long" in refused("phrase de passe " * 10)
    assert "au maximum 128 caractères" in refused("a" * 129)
    assert "trop semblable" in refused("camille.durand@mairie")
    validate_password("b" * 60 + "-taxi-" + "c" * 62, user)  # 128 characters exactly
