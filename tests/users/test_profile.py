"""A user's profile: who they are, which e-mails they get, and changing the address or
password they log in with (only after typing the current password again)."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from mesads.users.models import LoginEvent, User

PASSWORD = "mot-de-passe-de-test"
NEW_PASSWORD = "un taxi bleu devant la gare"

PAGES = ["profile", "password_change", "email_change"]


@pytest.fixture
def logged_in(client, manager):
    client.post(reverse("login"), {"username": manager.email, "password": PASSWORD})
    assert client.session.get(SESSION_KEY) == str(manager.pk)
    return client


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse(name)}"


@pytest.mark.parametrize("name", PAGES)
def test_every_profile_page_has_one_title_and_breadcrumbs(logged_in, name):
    page = logged_in.get(reverse(name)).content.decode()

    assert page.count("<h1") == 1
    assert "– Mes ADS</title>" in page
    assert 'class="fr-breadcrumb"' in page


# --- the profile page ---------------------------------------------------------------------


def checkbox(page: str, name: str) -> str:
    match = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page)
    assert match, name
    return match.group(0)


def test_the_header_links_to_the_profile(client, manager):
    assert "Mon profil" not in client.get(reverse("home")).content.decode()

    client.force_login(manager)

    assert f'href="{reverse("profile")}"' in client.get(reverse("home")).content.decode()


def test_the_profile_shows_identity_and_preferences(logged_in, manager):
    page = logged_in.get(reverse("profile")).content.decode()

    assert "<h1>Mon profil</h1>" in page
    assert "Camille" in page
    assert manager.email in page
    assert reverse("password_change") in page
    assert reverse("email_change") in page
    # Every notification starts on, except the changes of a département.
    assert checkbox(page, "notify_access_requests").endswith(" checked>")
    assert checkbox(page, "notify_access_decisions").endswith(" checked>")
    assert checkbox(page, "notify_sent_back").endswith(" checked>")
    assert "checked" not in checkbox(page, "notify_changes")
    assert "(Optionnel)" not in page


def test_switching_notifications_off_and_on(logged_in, manager):
    response = logged_in.post(
        reverse("profile"), {"notify_access_decisions": "on", "notify_changes": "on"}, follow=True
    )

    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert "Vos préférences de notification sont enregistrées." in response.content.decode()
    manager.refresh_from_db()
    assert not manager.notify_access_requests
    assert manager.notify_access_decisions
    assert not manager.notify_sent_back
    assert manager.notify_changes

    logged_in.post(reverse("profile"), {})

    manager.refresh_from_db()
    assert not any(
        [
            manager.notify_access_requests,
            manager.notify_access_decisions,
            manager.notify_sent_back,
            manager.notify_changes,
        ]
    )


def test_the_profile_form_only_changes_preferences(logged_in, manager):
    logged_in.post(
        reverse("profile"),
        {"email": "pirate@exemple.fr", "is_staff": "on", "notify_sent_back": "on"},
    )

    manager.refresh_from_db()
    assert manager.email == "gestionnaire@nimes.fr"
    assert not manager.is_staff


# --- changing the password ----------------------------------------------------------------


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirmation=None):
    return client.post(
        reverse("password_change"),
        {
            "current_password": current,
            "new_password1": new,
            "new_password2": new if confirmation is None else confirmation,
        },
    )


def test_the_password_page_explains_the_rules_in_french(logged_in):
    page = logged_in.get(reverse("password_change")).content.decode()

    assert "Mot de passe actuel" in page
    assert "Au moins 12 caractères" in page
    assert "phrase de passe" in page


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    logged_in, manager, django_capture_on_commit_callbacks
):
    other_browser = Client()
    other_browser.force_login(manager)
    assert other_browser.get(reverse("profile")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = change_password(logged_in)

    assert response.status_code == 302
    assert response["Location"] == reverse("profile")
    page = logged_in.get(reverse("profile")).content.decode()
    assert "Votre mot de passe a été modifié." in page
    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    # The other browser is logged out at its next request.
    response = other_browser.get(reverse("profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert other_browser.session.get(SESSION_KEY) is None
    # The owner is told, in case it was not them.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [manager.email]
    assert "mot de passe a été modifié" in mail.outbox[0].subject
    assert NEW_PASSWORD not in mail.outbox[0].body


def test_the_current_password_is_required(logged_in, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = change_password(logged_in, current="pas-le-bon")

    assert response.status_code == 200
    assert "Le mot de passe actuel est incorrect." in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)
    assert mail.outbox == []
    # Recorded like any failed login.
    assert LoginEvent.objects.filter(kind=LoginEvent.Kind.FAILED, user=manager).count() == 1


def test_guessing_the_current_password_meets_the_lockout(logged_in, manager):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert change_password(logged_in, current="pas-le-bon").status_code == 200

    assert change_password(logged_in, current="pas-le-bon").status_code == 429
    assert change_password(logged_in).status_code == 429
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("new", "confirmation", "message"),
    [
        ("court-1", None, "Ce mot de passe est trop court."),
        ("password1234", None, "Ce mot de passe est trop courant."),
        ("x" * 129, None, "au plus 128 caractères"),
        (NEW_PASSWORD, "autre chose encore", "Les deux mots de passe ne correspondent pas."),
    ],
)
def test_a_weak_new_password_is_refused_in_french(logged_in, manager, new, confirmation, message):
    response = change_password(logged_in, new=new, confirmation=confirmation)

    assert response.status_code == 200
    assert message in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


# --- changing the e-mail address ----------------------------------------------------------


def change_email(client, email, password=PASSWORD):
    return client.post(reverse("email_change"), {"email": email, "current_password": password})


def test_changing_the_email_address(logged_in, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = change_email(logged_in, "Camille.Martin@Nimes.fr")

    assert response.status_code == 302
    assert response["Location"] == reverse("profile")
    page = logged_in.get(reverse("profile")).content.decode()
    assert "Votre adresse électronique est désormais camille.martin@nimes.fr." in page
    manager.refresh_from_db()
    assert manager.email == "camille.martin@nimes.fr"
    # The former address is told.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["gestionnaire@nimes.fr"]
    assert "camille.martin@nimes.fr" in mail.outbox[0].body
    # The new address is the one to log in with.
    logged_in.post(reverse("logout"))
    new_login = logged_in.post(
        reverse("login"), {"username": "camille.martin@nimes.fr", "password": PASSWORD}
    )
    assert new_login.status_code == 302


def test_an_address_already_used_is_refused_whatever_its_case(logged_in, manager, other_manager):
    response = change_email(logged_in, "GESTIONNAIRE@Ales.FR")

    assert response.status_code == 200
    assert "Un autre compte Mes ADS utilise déjà cette adresse électronique." in (
        response.content.decode()
    )
    manager.refresh_from_db()
    assert manager.email == "gestionnaire@nimes.fr"


def test_the_same_address_is_not_a_change(logged_in, manager):
    response = change_email(logged_in, "Gestionnaire@Nimes.fr")

    assert "C’est déjà l’adresse de votre compte." in response.content.decode()


def test_changing_the_email_requires_the_current_password(
    logged_in, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = change_email(logged_in, "camille.martin@nimes.fr", password="pas-le-bon")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Le mot de passe actuel est incorrect." in page
    manager.refresh_from_db()
    assert manager.email == "gestionnaire@nimes.fr"
    assert mail.outbox == []


def test_an_invalid_address_is_refused(logged_in, manager):
    response = change_email(logged_in, "pas-une-adresse")

    assert response.status_code == 200
    assert "Saisissez une adresse électronique valide." in response.content.decode()
    assert User.objects.filter(email="gestionnaire@nimes.fr").exists()
