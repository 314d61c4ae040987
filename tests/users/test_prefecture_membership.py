"""Joining a prefecture's staff, and a prefecture agent acting as manager.

Sacha has just joined the Gard prefecture. She asks to be an agent of the Gard; national
staff check and accept. From then on she sees the access requests of the Gard, and only
those. To declare the ADS of a small commune herself, she chooses explicitly to manage its
register: the choice is recorded. She can never do so in the Hérault.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from mesads.users.models import AuthorityAccess, PrefectureMembership, User

pytestmark = pytest.mark.django_db

Status = PrefectureMembership.Status


@pytest.fixture
def sacha(db) -> User:
    return User.objects.create_user(
        "sacha.martin@gard.gouv.fr", "mot-de-passe-de-test", first_name="Sacha", last_name="Martin"
    )


def page(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def ask_to_join(client, departement, message="Bureau de la réglementation des transports"):
    return client.post(
        reverse("access:membership_request"), {"departement": departement.pk, "message": message}
    )


# --- joining a prefecture ---------------------------------------------------------------


def test_staff_accept_an_agent_who_then_sees_the_requests_of_her_departement(
    client,
    sacha,
    staff,
    gard,
    herault,
    nimes,
    montpellier,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    mairie = User.objects.create_user("mairie@nimes.fr", first_name="Dominique")
    AuthorityAccess.objects.create(user=mairie, authority=nimes)
    hérault_mairie = User.objects.create_user("mairie@montpellier.fr", first_name="Alix")
    AuthorityAccess.objects.create(user=hérault_mairie, authority=montpellier)

    # Sacha asks; until staff decide, she decides nothing.
    client.force_login(sacha)
    form = page(client, reverse("access:membership_request"))
    assert "<h1>Rejoindre les agents d’une préfecture</h1>" in form
    assert ask_to_join(client, gard).status_code == 302
    membership = PrefectureMembership.objects.get(user=sacha)
    assert (membership.departement, membership.status) == (gard, Status.PENDING)
    assert "Bureau de la réglementation des transports" == membership.message
    assert "en attente" in page(client, reverse("home"))
    assert client.get(reverse("access:requests")).status_code == 404

    # National staff see the request on their page and accept it.
    client.force_login(staff)
    listing = page(client, reverse("access:memberships"))
    assert "sacha.martin@gard.gouv.fr" in listing
    assert "Bureau de la réglementation des transports" in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("access:membership_accept", args=[membership.pk]), follow=True
        )
    assert "Sacha Martin est désormais agent de la préfecture (Gard)." in messages_of(response)
    membership.refresh_from_db()
    assert (membership.status, membership.decided_by) == (Status.ACCEPTED, staff)
    assert membership.decided_at is not None
    assert [mail.to for mail in mailoutbox] == [["sacha.martin@gard.gouv.fr"]]
    assert mailoutbox[0].subject == (
        "[Mes ADS] Votre demande pour rejoindre la préfecture (Gard) est acceptée"
    )
    assert f"{settings.SITE_URL}/acces/demandes/" in mailoutbox[0].body

    # Sacha now sees the Gard's requests, not the Hérault's.
    client.force_login(sacha)
    listing = page(client, reverse("access:requests"))
    assert "mairie@nimes.fr" in listing
    assert "mairie@montpellier.fr" not in listing
    assert "Ma préfecture" in page(client, reverse("home"))


def test_staff_refuse_an_agent(
    client, sacha, staff, gard, mailoutbox, django_capture_on_commit_callbacks
):
    membership = PrefectureMembership.objects.create(user=sacha, departement=gard)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("access:membership_refuse", args=[membership.pk]))
    membership.refresh_from_db()
    assert (membership.status, membership.decided_by) == (Status.REFUSED, staff)
    assert mailoutbox[0].subject == (
        "[Mes ADS] Votre demande pour rejoindre la préfecture (Gard) est refusée"
    )
    client.force_login(sacha)
    assert client.get(reverse("access:requests")).status_code == 404
    assert "refusée" in page(client, reverse("home"))


def test_a_membership_request_cannot_be_sent_twice(client, sacha, gard, prefecture_agent):
    client.force_login(sacha)
    ask_to_join(client, gard)
    response = ask_to_join(client, gard)
    assert response.status_code == 200
    assert "Vous avez déjà demandé à rejoindre cette préfecture" in response.content.decode()
    assert PrefectureMembership.objects.filter(user=sacha).count() == 1

    client.force_login(prefecture_agent)
    response = ask_to_join(client, gard)
    assert "Vous êtes déjà agent de cette préfecture." in response.content.decode()


@pytest.mark.parametrize("persona", ["prefecture_agent", "manager", "inspector"])
def test_only_national_staff_decide_on_agents(client, request, sacha, gard, persona):
    membership = PrefectureMembership.objects.create(user=sacha, departement=gard)
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("access:memberships")).status_code == 404
    assert client.post(reverse("access:membership_accept", args=[membership.pk])).status_code == 404
    assert client.post(reverse("access:membership_refuse", args=[membership.pk])).status_code == 404
    assert PrefectureMembership.objects.get(pk=membership.pk).status == Status.PENDING


def test_a_decision_on_an_agent_is_post_only(client, staff, sacha, gard):
    membership = PrefectureMembership.objects.create(user=sacha, departement=gard)
    client.force_login(staff)
    assert client.get(reverse("access:membership_accept", args=[membership.pk])).status_code == 405
    assert PrefectureMembership.objects.get(pk=membership.pk).status == Status.PENDING


def test_the_admin_accepts_and_refuses_in_bulk(
    admin_client, sacha, gard, herault, mailoutbox, django_capture_on_commit_callbacks
):
    other = User.objects.create_user("autre@herault.gouv.fr")
    to_accept = PrefectureMembership.objects.create(user=sacha, departement=gard)
    to_refuse = PrefectureMembership.objects.create(user=other, departement=herault)
    already = PrefectureMembership.objects.create(
        user=other, departement=gard, status=Status.REFUSED
    )
    url = reverse("admin:users_prefecturemembership_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "accept", "_selected_action": [to_accept.pk, already.pk]}, follow=True
        )
    body = response.content.decode()
    assert "1 demande(s) acceptée(s)." in body
    assert "1 demande(s) ignorée(s) : elles n’étaient pas en attente." in body
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "refuse", "_selected_action": [to_refuse.pk]})

    statuses = dict(PrefectureMembership.objects.values_list("pk", "status"))
    assert statuses == {
        to_accept.pk: Status.ACCEPTED,
        to_refuse.pk: Status.REFUSED,
        already.pk: Status.REFUSED,
    }
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "autre@herault.gouv.fr",
        "sacha.martin@gard.gouv.fr",
    ]


# --- acting as manager ------------------------------------------------------------------


def test_an_agent_chooses_to_manage_a_commune_of_her_departement(
    client, prefecture_agent, nimes, mailoutbox
):
    client.force_login(prefecture_agent)
    # Reading is granted by her role; writing is not.
    assert client.get(reverse("ads:authority", args=[nimes.pk])).status_code == 200
    assert client.get(reverse("ads:create", args=[nimes.pk])).status_code == 403

    url = reverse("access:act_as_manager", args=[nimes.pk])
    explanation = page(client, url)
    assert "<h1>Gérer le registre de Nîmes en tant que préfecture</h1>" in explanation
    assert "Gérer ce registre en tant que préfecture</button>" in explanation
    assert not AuthorityAccess.objects.filter(user=prefecture_agent).exists()

    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("ads:authority", args=[nimes.pk])
    assert "Vous gérez désormais Nîmes au nom de la préfecture." in messages_of(response)[0]
    access = AuthorityAccess.objects.get(user=prefecture_agent, authority=nimes)
    assert access.status == AuthorityAccess.Status.ACCEPTED
    assert access.via_prefecture
    assert access.decided_by == prefecture_agent
    assert access.decided_at is not None
    assert client.get(reverse("ads:create", args=[nimes.pk])).status_code == 200
    assert mailoutbox == []

    # Done once: the page says so, a second POST changes nothing.
    assert "Vous gérez déjà Nîmes." in page(client, url)
    response = client.post(url, follow=True)
    assert "Vous gérez déjà Nîmes." in messages_of(response)
    assert AuthorityAccess.objects.filter(user=prefecture_agent).count() == 1


def test_the_choice_is_visible_to_the_prefecture_and_can_be_revoked(
    client, prefecture_agent, nimes, staff
):
    client.force_login(prefecture_agent)
    client.post(reverse("access:act_as_manager", args=[nimes.pk]))
    access = AuthorityAccess.objects.get(user=prefecture_agent)

    client.force_login(staff)
    listing = page(client, reverse("access:requests"), statut="accepted")
    assert "agent@gard.gouv.fr" in listing and "Agent de préfecture" in listing
    client.post(reverse("access:revoke", args=[access.pk]), {"comment": "Fin de l’intérim."})

    client.force_login(prefecture_agent)
    assert client.get(reverse("ads:create", args=[nimes.pk])).status_code == 403
    # She may choose again later: the same row is accepted anew, and recorded.
    client.post(reverse("access:act_as_manager", args=[nimes.pk]))
    access.refresh_from_db()
    assert (access.status, access.via_prefecture) == (AuthorityAccess.Status.ACCEPTED, True)
    assert access.decided_by == prefecture_agent


def test_an_agent_never_manages_another_departement(
    client, prefecture_agent, other_prefecture_agent, montpellier, nimes
):
    client.force_login(prefecture_agent)
    url = reverse("access:act_as_manager", args=[montpellier.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404

    client.force_login(other_prefecture_agent)
    url = reverse("access:act_as_manager", args=[nimes.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not AuthorityAccess.objects.filter(via_prefecture=True).exists()


@pytest.mark.parametrize("persona", ["manager", "inspector", "pending_user"])
def test_only_prefecture_agents_act_as_manager(client, request, ales, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = reverse("access:act_as_manager", args=[ales.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not AuthorityAccess.objects.filter(user=user, authority=ales).exists()


def test_a_pending_agent_does_not_act_as_manager(client, sacha, gard, nimes):
    PrefectureMembership.objects.create(user=sacha, departement=gard)
    client.force_login(sacha)
    assert client.post(reverse("access:act_as_manager", args=[nimes.pk])).status_code == 404
    assert client.get(reverse("ads:authority", args=[nimes.pk])).status_code == 404


def test_an_agent_withdrawn_by_staff_loses_the_registers_managed_as_agent(
    client,
    admin_client,
    prefecture_agent,
    nimes,
    ales,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(prefecture_agent)
    client.post(reverse("access:act_as_manager", args=[nimes.pk]))
    # A register she manages in her own name (requested and accepted) is not touched.
    AuthorityAccess.objects.create(
        user=prefecture_agent, authority=ales, status=AuthorityAccess.Status.ACCEPTED
    )
    membership = PrefectureMembership.objects.get(user=prefecture_agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:users_prefecturemembership_changelist"),
            {"action": "revoke", "_selected_action": [membership.pk]},
            follow=True,
        )
    assert "1 agent(s) retiré(s) ; 1 registre(s) géré(s) à ce titre fermé(s)." in (
        response.content.decode()
    )
    membership.refresh_from_db()
    assert membership.status == Status.REVOKED
    statuses = dict(
        AuthorityAccess.objects.filter(user=prefecture_agent).values_list("authority", "status")
    )
    assert statuses == {nimes.pk: Status.REVOKED, ales.pk: Status.ACCEPTED}
    assert mailoutbox[-1].to == ["agent@gard.gouv.fr"]
    assert mailoutbox[-1].subject == "[Mes ADS] Vous n’êtes plus agent de la préfecture (Gard)"

    assert client.get(reverse("ads:authority", args=[nimes.pk])).status_code == 404
    assert client.get(reverse("access:requests")).status_code == 404
    assert client.get(reverse("ads:create", args=[ales.pk])).status_code == 200
