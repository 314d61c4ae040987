"""E-mail notifications: who gets which, who switched them off, and what happens when the
mail server fails (the action succeeds, the failure is logged).

Sending goes through the task queue; in tests its backend is immediate, so a mail leaves
as soon as the request's transaction commits.
"""

import logging

import pytest
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.urls import reverse

from mesads.users.access_requests import request_access
from mesads.users.models import AuthorityAccess, PrefectureMembership, User
from mesads.users.notifications import notify

pytestmark = pytest.mark.django_db


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server unreachable")


@pytest.fixture
def second_gard_agent(gard) -> User:
    user = User.objects.create_user("agent2@gard.gouv.fr", "mot-de-passe-de-test")
    PrefectureMembership.objects.create(
        user=user, departement=gard, status=PrefectureMembership.Status.ACCEPTED
    )
    return user


@pytest.fixture
def newcomer(db) -> User:
    return User.objects.create_user("camille@nimes.fr", "mot-de-passe-de-test")


def ask(client, authority):
    return client.post(
        reverse("access:request", args=[authority.pk]),
        {"message": "Service des taxis", "attestation": "on"},
    )


def test_every_agent_of_the_departement_is_told_of_a_new_request(
    client,
    newcomer,
    nimes,
    prefecture_agent,
    second_gard_agent,
    other_prefecture_agent,
    staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(newcomer)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, nimes)
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "agent2@gard.gouv.fr",
        "agent@gard.gouv.fr",
    ]
    for mail in mailoutbox:
        assert len(mail.to) == 1  # one mail each: no agent learns the others' addresses
        assert mail.subject == "[Mes ADS] Nouvelle demande d’accès à Nîmes"
        assert "camille@nimes.fr demande à gérer les ADS de Nîmes" in mail.body
        assert "Service des taxis" in mail.body


def test_an_agent_who_switched_requests_off_gets_none(
    client,
    newcomer,
    nimes,
    prefecture_agent,
    second_gard_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    prefecture_agent.notify_access_requests = False
    prefecture_agent.save()
    client.force_login(newcomer)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, nimes)
    assert [mail.to for mail in mailoutbox] == [["agent2@gard.gouv.fr"]]


def test_a_deactivated_agent_gets_none(
    client, newcomer, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    prefecture_agent.is_active = False
    prefecture_agent.save()
    client.force_login(newcomer)
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client, nimes).status_code == 302
    assert mailoutbox == []
    assert AuthorityAccess.objects.filter(user=newcomer).exists()


def test_a_requester_who_switched_decisions_off_gets_none_but_sees_it_at_home(
    client, pending_user, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    pending_user.notify_access_decisions = False
    pending_user.save()
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(prefecture_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("access:accept", args=[access.pk]))
    assert mailoutbox == []

    client.force_login(pending_user)
    home = client.get(reverse("home")).content.decode()
    assert "Acceptée" in home
    assert client.get(reverse("ads:authority", args=[nimes.pk])).status_code == 200


def test_the_preference_is_switched_off_from_the_profile(
    client, pending_user, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(pending_user)
    # Every box but the decisions one stays ticked.
    client.post(
        reverse("profile"),
        {"notify_access_requests": "on", "notify_sent_back": "on"},
    )
    pending_user.refresh_from_db()
    assert not pending_user.notify_access_decisions

    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(prefecture_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("access:refuse", args=[access.pk]), {"comment": ""})
    assert mailoutbox == []


def test_a_failing_mail_server_does_not_break_the_request_and_is_logged(
    client,
    newcomer,
    nimes,
    prefecture_agent,
    settings,
    caplog,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    client.force_login(newcomer)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = ask(client, nimes)

    assert response.status_code == 302
    assert AuthorityAccess.objects.get(user=newcomer).status == AuthorityAccess.Status.PENDING
    assert mailoutbox == []
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures, "the failure must be logged"
    assert any("agent@gard.gouv.fr" in record.getMessage() for record in failures)
    assert any(
        record.exc_info and record.exc_info[0] is ConnectionRefusedError for record in failures
    )


def test_a_failing_mail_server_does_not_undo_a_decision(
    client,
    pending_user,
    prefecture_agent,
    settings,
    caplog,
    django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(prefecture_agent)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("access:accept", args=[access.pk]))
    assert response.status_code == 302
    assert AuthorityAccess.objects.get(pk=access.pk).status == AuthorityAccess.Status.ACCEPTED
    assert any("demandeur@nimes.fr" in record.getMessage() for record in caplog.records)


def test_nothing_is_sent_when_the_change_is_rolled_back(
    newcomer, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            request_access(newcomer, nimes, "Service des taxis", site_url="http://testserver")
            raise RuntimeError("something failed later in the same transaction")
    assert callbacks == []
    assert mailoutbox == []
    assert not AuthorityAccess.objects.exists()


# --- the other kinds, for the certification workflow ------------------------------------


def test_a_record_sent_back_tells_the_managers_who_did_not_opt_out(
    manager, complete_ads, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    colleague = User.objects.create_user("collegue@nimes.fr", notify_sent_back=False)
    AuthorityAccess.objects.create(
        user=colleague, authority=nimes, status=AuthorityAccess.Status.ACCEPTED
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = notify(
            "sent_back",
            [manager, colleague],
            "L’ADS n° 12 de Nîmes vous est renvoyée",
            "users/emails/sent_back.txt",
            {
                "ads": complete_ads,
                "authority": nimes,
                "by": prefecture_agent,
                "comment": "La plaque ne correspond pas au titulaire.",
                "url": "http://testserver/ads/1/",
            },
        )
    assert sent == 1
    assert [mail.to for mail in mailoutbox] == [["gestionnaire@nimes.fr"]]
    mail = mailoutbox[0]
    assert mail.subject == "[Mes ADS] L’ADS n° 12 de Nîmes vous est renvoyée"
    assert "Bonjour Camille," in mail.body
    assert "La préfecture vous renvoie l’ADS n° 12 de Nîmes" in mail.body
    assert "La plaque ne correspond pas au titulaire." in mail.body


def test_the_notice_of_changes_is_opt_in(
    manager, complete_ads, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    context = {
        "ads": complete_ads,
        "authority": nimes,
        "by": manager,
        "comment": "Nouveau véhicule",
        "url": "http://testserver/ads/1/historique/",
    }
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            "changes", [prefecture_agent], "ADS modifiée", "users/emails/ads_changed.txt", context
        )
    assert mailoutbox == []

    prefecture_agent.notify_changes = True
    prefecture_agent.save()
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            "changes", [prefecture_agent], "ADS modifiée", "users/emails/ads_changed.txt", context
        )
    assert [mail.to for mail in mailoutbox] == [["agent@gard.gouv.fr"]]
    assert "L’ADS n° 12 de Nîmes a été modifiée par Camille." in mailoutbox[0].body
    assert "Commentaire : Nouveau véhicule" in mailoutbox[0].body


def test_an_agent_who_asked_for_it_is_told_when_a_manager_edits_an_ads(
    client,
    manager,
    complete_ads,
    prefecture_agent,
    other_prefecture_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    from tests.ads.test_ads_edit import edit

    for agent in (prefecture_agent, other_prefecture_agent):
        agent.notify_changes = True
        agent.save()
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        edit(client, complete_ads, holder_name="Taxi Jean Jaurès SARL", comment="Cession")

    # Only the agent of the Gard, where Nîmes is; never the manager who made the change.
    assert [mail.to for mail in mailoutbox] == [["agent@gard.gouv.fr"]]
    assert "L’ADS n° 12 de Nîmes a été modifiée par Camille" in mailoutbox[0].body
    assert "Commentaire : Cession" in mailoutbox[0].body
    assert f"/ads/{complete_ads.pk}/historique/" in mailoutbox[0].body


def test_the_notice_of_a_deletion_links_to_a_page_the_agent_may_open(
    client, manager, complete_ads, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    """A deleted ADS and its history are gone for everyone but national staff: the link
    leads to the département's feed of changes, which lists the deletion."""
    prefecture_agent.notify_changes = True
    prefecture_agent.save()
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ads:delete", args=[complete_ads.pk]), {"comment": "Retrait"})

    [mail] = mailoutbox
    assert "Commentaire : Suppression : Retrait" in mail.body
    link = next(line for line in mail.body.splitlines() if line.startswith(settings.SITE_URL + "/"))
    client.force_login(prefecture_agent)
    response = client.get(link.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    assert "n° 12 (supprimée)" in response.content.decode()
