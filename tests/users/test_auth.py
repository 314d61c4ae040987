"""Signing in and out, forgotten passwords and brute-force lockout, as a user lives them."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse

from mesads.users.models import User

PASSWORD = "Taxi-Licence-2024!"
NEW_PASSWORD = "Nouveau-Registre-2025?"
WRONG_LOGIN = "Adresse électronique ou mot de passe incorrect."


@pytest.fixture
def manager(db):
    return User.objects.create_user(
        "marie.dupont@mairie-exemple.fr", PASSWORD, first_name="Marie", last_name="Dupont"
    )


@pytest.fixture
def colleague(db):
    return User.objects.create_user("jean.martin@mairie-exemple.fr", PASSWORD)


def log_in(client, email, password, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def logged_in_user_id(client):
    return client.session.get(SESSION_KEY)


def without_nonce(content: bytes) -> bytes:
    return re.sub(rb'nonce="[^"]+"', b'nonce=""', content)


def reset_link_from(message) -> str:
    match = re.search(
        re.escape(settings.SITE_URL) + r"(/compte/mot-de-passe/reinitialiser/\S+/)", message.body
    )
    assert match, message.body
    return match.group(1)


def request_reset_link(client, email) -> str:
    response = client.post(reverse("password_reset"), {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return reset_link_from(mail.outbox[0])


# Signing in and out


def test_login_accepts_the_email_in_any_case(client, manager):
    response = log_in(client, "Marie.DUPONT@Mairie-Exemple.FR", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert logged_in_user_id(client) == str(manager.pk)
    assert "Bonjour Marie" in client.get(reverse("home")).content.decode()


def test_wrong_password_shows_a_french_error(client, manager):
    response = log_in(client, manager.email, "not-the-password")

    assert response.status_code == 200
    assert WRONG_LOGIN in response.content.decode()
    assert logged_in_user_id(client) is None


def test_unknown_email_gets_the_same_error_as_a_wrong_password(client, db):
    response = log_in(client, "personne@exemple.fr", PASSWORD)

    assert response.status_code == 200
    assert WRONG_LOGIN in response.content.decode()


def test_an_inactive_account_cannot_log_in(client, manager):
    manager.is_active = False
    manager.save()

    response = log_in(client, manager.email, PASSWORD)

    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_logout_is_post_only_and_ends_the_session(client, manager):
    log_in(client, manager.email, PASSWORD)

    # A link (or an image on another site) must not log anyone out.
    assert client.get(reverse("logout")).status_code == 405
    assert logged_in_user_id(client) == str(manager.pk)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert logged_in_user_id(client) is None
    assert "Se connecter" in client.get(reverse("home")).content.decode()


# Forgotten password


def test_password_reset_full_flow(client, manager):
    page = client.get(reverse("password_reset"))
    assert page.status_code == 200
    assert "Mot de passe oublié" in page.content.decode()

    response = client.post(reverse("password_reset"), {"email": "MARIE.Dupont@mairie-exemple.fr"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert "Vérifiez votre messagerie" in client.get(response["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [manager.email]
    assert "Mes ADS" in message.subject
    assert "Mes ADS" in message.body
    link = reset_link_from(message)

    # The link redirects to a URL without the token, where the new password is chosen.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]

    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    assert "Mot de passe modifié" in client.get(response["Location"]).content.decode()

    assert log_in(client, manager.email, PASSWORD).status_code == 200
    assert logged_in_user_id(client) is None
    assert log_in(client, manager.email, NEW_PASSWORD).status_code == 302
    assert logged_in_user_id(client) == str(manager.pk)


def test_a_reset_link_works_only_once(client, manager):
    link = request_reset_link(client, manager.email)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    assert response.status_code == 200
    assert "Lien invalide ou expiré" in response.content.decode()
    assert "Recevoir un nouveau lien" in response.content.decode()


def test_a_too_short_password_is_refused_in_french(client, manager):
    link = request_reset_link(client, manager.email)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]

    response = client.post(set_password_url, {"new_password1": "court", "new_password2": "court"})

    assert response.status_code == 200
    assert "trop court" in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_unknown_email_gets_the_same_sent_page_and_no_mail(client, manager):
    known = client.post(reverse("password_reset"), {"email": manager.email}, follow=True)
    mail.outbox.clear()

    unknown = client.post(reverse("password_reset"), {"email": "inconnu@exemple.fr"}, follow=True)

    # Nothing tells a visitor whether the address has an account (only the per-response
    # Content-Security-Policy nonce differs).
    assert unknown.redirect_chain == known.redirect_chain
    assert without_nonce(unknown.content) == without_nonce(known.content)
    assert mail.outbox == []


# Brute-force lockout


def fail_until_locked(client, email):
    """Make AXES_FAILURE_LIMIT failed attempts; the last one triggers the lockout."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = log_in(client, email, "wrong-password")
        assert response.status_code == 200
        assert WRONG_LOGIN in response.content.decode()
    return log_in(client, email, "wrong-password")


def test_lockout_after_repeated_failures_even_with_the_right_password(client, manager):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail_until_locked(client, manager.email).status_code == 429

    response = log_in(client, manager.email, PASSWORD)

    assert response.status_code == 429
    assert logged_in_user_id(client) is None
    page = response.content.decode()
    assert "Connexion temporairement bloquée" in page
    assert "Trop de tentatives de connexion ont échoué" in page
    assert "pendant une heure" in page
    assert reverse("password_reset") in page
    assert page.count("<h1") == 1


def test_changing_the_case_of_the_email_does_not_escape_the_lockout(client, manager):
    fail_until_locked(client, manager.email)

    response = log_in(client, manager.email.upper(), PASSWORD)

    assert response.status_code == 429
    assert logged_in_user_id(client) is None


def test_the_admin_login_shares_the_lockout_whatever_the_case(client, db):
    admin = User.objects.create_superuser("chef@mesads.example", PASSWORD)
    fail_until_locked(client, admin.email)

    response = client.post(
        reverse("admin:login"), {"username": "CHEF@MesADS.example", "password": PASSWORD}
    )

    assert response.status_code == 429
    assert logged_in_user_id(client) is None


def test_lockout_is_per_email_and_address(client, manager, colleague):
    fail_until_locked(client, manager.email)

    # A colleague in the same town hall (same IP address) still signs in.
    assert log_in(client, colleague.email, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    # The same person from another network too.
    assert log_in(client, manager.email, PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302


def test_lockout_ends_after_the_cool_off(client, manager):
    fail_until_locked(client, manager.email)

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(hours=1, minutes=1))

    assert log_in(client, manager.email, PASSWORD).status_code == 302


def test_resetting_the_password_lifts_the_lockout(client, manager):
    fail_until_locked(client, manager.email)

    link = request_reset_link(client, manager.email)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert log_in(client, manager.email, NEW_PASSWORD).status_code == 302
    assert logged_in_user_id(client) == str(manager.pk)


# Accounts


def test_email_uniqueness_ignores_case_in_the_database(db):
    User.objects.create_user("a@x.fr", PASSWORD)

    # create() skips the manager's lower-casing: only the constraint stands in the way.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="A@x.fr")


def test_create_superuser(client, db):
    admin = User.objects.create_superuser("Chef@MesADS.example", PASSWORD)

    assert admin.email == "chef@mesads.example"
    assert admin.is_staff and admin.is_superuser and admin.is_active
    assert admin.check_password(PASSWORD)
    assert log_in(client, "chef@mesads.example", PASSWORD).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_createsuperuser_command(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    call_command("createsuperuser", "--noinput", "--email", "Equipe@MesADS.example", verbosity=0)

    admin = User.objects.get()
    assert admin.email == "equipe@mesads.example"
    assert admin.is_superuser
    assert admin.check_password(PASSWORD)
