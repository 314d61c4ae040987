"""Asking to manage an authority, and the prefecture's answer.

Camille works at the mairie of Nîmes and has no access yet. She finds Nîmes, asks to
manage it, attesting she works there. Claude, agent of the Gard prefecture, is told by
e-mail, accepts; Camille is told, and reaches the register. Later Claude revokes the
access and the register is closed to her again. The Hérault prefecture never sees any of
it.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mesads.authorities.models import Authority
from mesads.geo.models import Airport
from mesads.users.models import AuthorityAccess, PrefectureMembership, User

pytestmark = pytest.mark.django_db

Status = AuthorityAccess.Status


@pytest.fixture
def newcomer(db) -> User:
    """A mairie employee who has just created her account: no access to anything."""
    return User.objects.create_user(
        "camille.durand@nimes.fr", "mot-de-passe-de-test", first_name="Camille", last_name="Durand"
    )


@pytest.fixture
def second_gard_agent(gard) -> User:
    user = User.objects.create_user("agent2@gard.gouv.fr", "mot-de-passe-de-test")
    PrefectureMembership.objects.create(
        user=user, departement=gard, status=PrefectureMembership.Status.ACCEPTED
    )
    return user


def ask(client, authority, message="Service des taxis, mairie", attestation=True):
    data = {"message": message}
    if attestation:
        data["attestation"] = "on"
    return client.post(reverse("access:request", args=[authority.pk]), data)


def page(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def dashboard_status(client, authority) -> int:
    return client.get(reverse("ads:authority", args=[authority.pk])).status_code


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the whole story --------------------------------------------------------------------


def test_request_accept_then_revoke_with_the_emails_at_each_step(
    client,
    newcomer,
    nimes,
    prefecture_agent,
    other_prefecture_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    # Camille finds Nîmes and asks to manage it.
    client.force_login(newcomer)
    results = page(client, reverse("access:search"), q="Nîmes")
    request_url = reverse("access:request", args=[nimes.pk])
    assert request_url in results
    form = page(client, request_url)
    assert "<h1>Demander à gérer Nîmes</h1>" in form
    assert "J’atteste travailler pour Nîmes" in form
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, nimes, message="Je suis responsable du service des taxis.")
    assert response.status_code == 302
    access = AuthorityAccess.objects.get(user=newcomer, authority=nimes)
    assert access.status == Status.PENDING
    assert access.message == "Je suis responsable du service des taxis."

    # Only the Gard prefecture is told.
    assert [mail.to for mail in mailoutbox] == [["agent@gard.gouv.fr"]]
    mail = mailoutbox[0]
    assert mail.subject == "[Mes ADS] Nouvelle demande d’accès à Nîmes"
    assert "Camille Durand (camille.durand@nimes.fr) demande à gérer les ADS de Nîmes" in (
        mail.body
    )
    assert "Je suis responsable du service des taxis." in mail.body
    detail_url = reverse("access:request_detail", args=[access.pk])
    assert f"{settings.SITE_URL}{detail_url}" in mail.body

    # Her home page says the request is waiting; the register stays closed.
    home = page(client, reverse("home"))
    assert "Nîmes" in home and "En attente" in home
    assert dashboard_status(client, nimes) == 404

    # Claude sees the request among those of the Gard, and accepts it.
    client.force_login(prefecture_agent)
    listing = page(client, reverse("access:requests"))
    assert "Camille Durand" in listing and detail_url in listing
    detail = page(client, detail_url)
    assert "Je suis responsable du service des taxis." in detail
    assert reverse("access:accept", args=[access.pk]) in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("access:accept", args=[access.pk]), follow=True)
    assert "Camille Durand peut désormais gérer Nîmes." in messages_of(response)
    access.refresh_from_db()
    assert access.status == Status.ACCEPTED
    assert access.decided_by == prefecture_agent
    assert access.decided_at is not None

    # Camille is told, and reaches the register from her home page.
    assert mailoutbox[-1].to == ["camille.durand@nimes.fr"]
    assert mailoutbox[-1].subject == "[Mes ADS] Votre demande d’accès à Nîmes est acceptée"
    dashboard_url = reverse("ads:authority", args=[nimes.pk])
    assert f"{settings.SITE_URL}{dashboard_url}" in mailoutbox[-1].body
    client.force_login(newcomer)
    home = page(client, reverse("home"))
    assert "Acceptée" in home and f'href="{dashboard_url}"' in home
    assert dashboard_status(client, nimes) == 200

    # Claude revokes it, after a confirmation page.
    client.force_login(prefecture_agent)
    revoke_url = reverse("access:revoke", args=[access.pk])
    assert revoke_url in page(client, detail_url)
    confirmation = page(client, revoke_url)
    assert "<h1>Révoquer l’accès de Camille Durand à Nîmes ?</h1>" in confirmation
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.ACCEPTED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(revoke_url, {"comment": "A quitté la mairie."})
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.status == Status.REVOKED
    assert access.decision_comment == "A quitté la mairie."
    assert mailoutbox[-1].to == ["camille.durand@nimes.fr"]
    assert mailoutbox[-1].subject == "[Mes ADS] Votre accès à Nîmes est révoqué"
    assert "Motif : A quitté la mairie." in mailoutbox[-1].body
    assert len(mailoutbox) == 3

    # The register is closed to her again; her home page says why.
    client.force_login(newcomer)
    assert dashboard_status(client, nimes) == 404
    home = page(client, reverse("home"))
    assert "Révoquée" in home and "A quitté la mairie." in home


def test_a_refusal_with_its_reason_and_a_new_request_afterwards(
    client, newcomer, nimes, prefecture_agent, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(newcomer)
    ask(client, nimes)
    access = AuthorityAccess.objects.get(user=newcomer)

    client.force_login(prefecture_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("access:refuse", args=[access.pk]),
            {"comment": "Adresse personnelle : écrivez depuis votre adresse de la mairie."},
            follow=True,
        )
    assert "La demande de Camille Durand pour Nîmes est refusée." in messages_of(response)
    access.refresh_from_db()
    assert access.status == Status.REFUSED
    assert access.decided_by == prefecture_agent
    assert mailoutbox[-1].to == ["camille.durand@nimes.fr"]
    assert mailoutbox[-1].subject == "[Mes ADS] Votre demande d’accès à Nîmes est refusée"
    assert "Motif : Adresse personnelle" in mailoutbox[-1].body

    client.force_login(newcomer)
    assert dashboard_status(client, nimes) == 404
    home = page(client, reverse("home"))
    assert "Refusée" in home and "Adresse personnelle" in home

    # She may ask again: the same request is reopened, the old decision cleared.
    assert reverse("access:request", args=[nimes.pk]) in page(
        client, reverse("access:search"), q="Nîmes"
    )
    assert ask(client, nimes, message="Depuis la mairie cette fois.").status_code == 302
    access.refresh_from_db()
    assert access.status == Status.PENDING
    assert (access.message, access.decision_comment, access.decided_by) == (
        "Depuis la mairie cette fois.",
        "",
        None,
    )
    assert AuthorityAccess.objects.filter(user=newcomer).count() == 1


def test_the_attestation_is_required(client, newcomer, nimes):
    client.force_login(newcomer)
    response = ask(client, nimes, attestation=False)
    assert response.status_code == 200
    assert "seules les personnes qui travaillent pour ce gestionnaire" in (
        response.content.decode()
    )
    assert not AuthorityAccess.objects.exists()


def test_a_pending_request_cannot_be_sent_twice(client, pending_user, nimes, mailoutbox):
    client.force_login(pending_user)
    response = ask(client, nimes)
    assert response.status_code == 200
    assert (
        "Vous avez déjà demandé à gérer Nîmes : votre demande est en attente de la "
        "décision de la préfecture." in response.content.decode()
    )
    assert AuthorityAccess.objects.filter(user=pending_user).count() == 1
    assert mailoutbox == []
    # The search says so too, instead of offering the button.
    results = page(client, reverse("access:search"), q="Nîmes")
    assert "Demande en attente" in results
    assert reverse("access:request", args=[nimes.pk]) not in results


def test_a_manager_cannot_ask_again_for_the_authority_he_manages(client, manager, nimes):
    client.force_login(manager)
    response = ask(client, nimes)
    assert "Vous gérez déjà Nîmes." in response.content.decode()
    assert AuthorityAccess.objects.get(user=manager).status == Status.ACCEPTED
    assert "Vous gérez ce registre" in page(client, reverse("access:search"), q="Nîmes")


def test_a_pending_request_opens_nothing(client, pending_user, nimes, complete_ads):
    client.force_login(pending_user)
    assert dashboard_status(client, nimes) == 404
    assert client.get(reverse("ads:list", args=[nimes.pk])).status_code == 404
    assert client.get(reverse("ads:detail", args=[complete_ads.pk])).status_code == 404


# --- who decides ------------------------------------------------------------------------


def test_another_departement_s_prefecture_cannot_see_or_decide(
    client, pending_user, nimes, other_prefecture_agent, mailoutbox
):
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(other_prefecture_agent)

    assert "demandeur@nimes.fr" not in page(client, reverse("access:requests"))
    assert client.get(reverse("access:request_detail", args=[access.pk])).status_code == 404
    assert client.post(reverse("access:accept", args=[access.pk])).status_code == 404
    assert client.post(reverse("access:refuse", args=[access.pk])).status_code == 404
    assert client.get(reverse("access:revoke", args=[access.pk])).status_code == 404
    assert client.post(reverse("access:revoke", args=[access.pk])).status_code == 404

    access.refresh_from_db()
    assert access.status == Status.PENDING
    assert mailoutbox == []


def test_another_departement_s_prefecture_cannot_revoke_an_accepted_access(
    client, manager, other_prefecture_agent
):
    access = AuthorityAccess.objects.get(user=manager)
    client.force_login(other_prefecture_agent)
    assert client.post(reverse("access:revoke", args=[access.pk])).status_code == 404
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.ACCEPTED


def test_an_agent_does_not_decide_his_own_request(
    client, prefecture_agent, second_gard_agent, ales, staff
):
    """Accepting his own request would give an agent a plain manager's access, one that
    outlives his membership of the prefecture (unlike acting as manager)."""
    access = AuthorityAccess.objects.create(user=prefecture_agent, authority=ales)
    client.force_login(prefecture_agent)

    assert "agent@gard.gouv.fr" not in page(client, reverse("access:requests"))
    assert client.get(reverse("access:request_detail", args=[access.pk])).status_code == 404
    assert client.post(reverse("access:accept", args=[access.pk])).status_code == 404
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.PENDING

    # Another agent of the prefecture, or national staff, decides it.
    client.force_login(second_gard_agent)
    assert client.get(reverse("access:request_detail", args=[access.pk])).status_code == 200


@pytest.mark.parametrize("persona", ["manager", "inspector", "pending_user"])
def test_people_who_are_not_prefecture_agents_decide_nothing(client, request, nimes, persona):
    user = request.getfixturevalue(persona)
    pending = User.objects.create_user("autre@nimes.fr", "mot-de-passe-de-test")
    access = AuthorityAccess.objects.create(user=pending, authority=nimes)
    client.force_login(user)
    assert client.get(reverse("access:requests")).status_code == 404
    assert client.get(reverse("access:request_detail", args=[access.pk])).status_code == 404
    assert client.post(reverse("access:accept", args=[access.pk])).status_code == 404
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.PENDING


def test_anonymous_visitors_are_sent_to_the_login_page(client, pending_user, nimes):
    access = AuthorityAccess.objects.get(user=pending_user)
    for url in [
        reverse("access:search"),
        reverse("access:suggestions"),
        reverse("access:request", args=[nimes.pk]),
        reverse("access:requests"),
        reverse("access:request_detail", args=[access.pk]),
        reverse("access:revoke", args=[access.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    response = client.post(reverse("access:accept", args=[access.pk]))
    assert response["Location"].startswith(reverse("login"))
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.PENDING


def test_national_staff_decide_too(client, staff, pending_user, nimes):
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(staff)
    assert "demandeur@nimes.fr" in page(client, reverse("access:requests"))
    assert client.post(reverse("access:accept", args=[access.pk])).status_code == 302
    access.refresh_from_db()
    assert (access.status, access.decided_by) == (Status.ACCEPTED, staff)


def test_decisions_are_post_only_and_need_the_csrf_token(pending_user, prefecture_agent):
    access = AuthorityAccess.objects.get(user=pending_user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(prefecture_agent)
    assert client.get(reverse("access:accept", args=[access.pk])).status_code == 405
    assert client.get(reverse("access:refuse", args=[access.pk])).status_code == 405
    assert client.post(reverse("access:accept", args=[access.pk])).status_code == 403
    assert client.post(reverse("access:revoke", args=[access.pk])).status_code == 403
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.PENDING


def test_a_request_is_decided_once(
    client,
    pending_user,
    prefecture_agent,
    second_gard_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(prefecture_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("access:accept", args=[access.pk]))

    # A colleague who opened the page earlier refuses it a minute later.
    client.force_login(second_gard_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("access:refuse", args=[access.pk]), follow=True)
    assert any("déjà été traitée" in message for message in messages_of(response))
    access.refresh_from_db()
    assert (access.status, access.decided_by) == (Status.ACCEPTED, prefecture_agent)
    assert len(mailoutbox) == 1


def test_only_an_accepted_access_can_be_revoked(client, pending_user, prefecture_agent):
    access = AuthorityAccess.objects.get(user=pending_user)
    client.force_login(prefecture_agent)
    response = client.post(reverse("access:revoke", args=[access.pk]), follow=True)
    assert "Seul un accès accepté peut être révoqué." in messages_of(response)
    assert AuthorityAccess.objects.get(pk=access.pk).status == Status.PENDING


def test_the_list_of_requests_is_paginated_at_a_constant_cost(
    client, prefecture_agent, nimes, ales, django_assert_max_num_queries
):
    def add_requests(count: int, start: int) -> None:
        for n in range(start, start + count):
            user = User.objects.create_user(f"demandeur{n}@gard.fr", first_name=f"Demandeur{n}")
            AuthorityAccess.objects.create(user=user, authority=nimes if n % 2 else ales)

    client.force_login(prefecture_agent)
    add_requests(3, 0)
    with django_assert_max_num_queries(8):
        first = page(client, reverse("access:requests"))
    assert first.count("Examiner<span") == 3

    add_requests(60, 3)
    with django_assert_max_num_queries(8):
        first = page(client, reverse("access:requests"))
    assert first.count("Examiner<span") == 50
    assert "Page 1 sur 2" in first
    second = page(client, reverse("access:requests"), page=2)
    assert second.count("Examiner<span") == 13


def test_the_list_shows_decided_requests_on_demand(client, manager, prefecture_agent):
    client.force_login(prefecture_agent)
    assert "gestionnaire@nimes.fr" not in page(client, reverse("access:requests"))
    accepted = page(client, reverse("access:requests"), statut="accepted")
    assert "gestionnaire@nimes.fr" in accepted


# --- finding the authority --------------------------------------------------------------


@pytest.fixture
def gard_prefecture(gard) -> Authority:
    return Authority.objects.create(
        type=Authority.Type.PREFECTURE, name="Préfecture – Gard", prefecture=gard, departement=gard
    )


@pytest.fixture
def nimes_airport(gard) -> Authority:
    airport = Airport.objects.create(code="LFTW", name="Nîmes-Garons", departement=gard)
    return Authority.objects.create(
        type=Authority.Type.AIRPORT, name="Aéroport Nîmes-Garons", airport=airport, departement=gard
    )


def found(client, text: str) -> list[str]:
    results = page(client, reverse("access:search"), q=text)
    authorities = Authority.objects.all()
    return sorted(a.name for a in authorities if f'<th scope="row">{a.name}</th>' in results)


def test_search_by_name_code_siren_departement_or_airport(
    client, newcomer, nimes, ales, montpellier, nimes_metropole, gard_prefecture, nimes_airport
):
    client.force_login(newcomer)
    assert found(client, "nîmes") == ["Aéroport Nîmes-Garons", "CA Nîmes Métropole", "Nîmes"]
    assert found(client, "30007") == ["Alès"]
    assert found(client, "200035319") == ["CA Nîmes Métropole"]
    assert found(client, "30") == ["Préfecture – Gard"]
    assert found(client, "lftw") == ["Aéroport Nîmes-Garons"]
    # What the suggestions put in the field finds exactly that authority.
    assert found(client, "Nîmes (30189)") == ["Nîmes"]
    assert "Aucun gestionnaire trouvé" in page(client, reverse("access:search"), q="Paris")


def test_the_search_field_suggests_authorities_while_typing(
    client, newcomer, nimes, nimes_metropole, montpellier
):
    client.force_login(newcomer)
    search = page(client, reverse("access:search"))
    assert 'list="authority-suggestions"' in search
    assert '<datalist id="authority-suggestions">' in search
    assert "/static/js/authority_search.js" in search
    # No inline script: the page's policy forbids it.
    assert "<script>" not in search

    response = client.get(reverse("access:suggestions"), {"q": "nîm"})
    assert response.json() == {
        "results": [
            {"value": "Nîmes (30189)", "label": "Commune – Gard"},
            {"value": "CA Nîmes Métropole (200035319)", "label": "EPCI – Gard"},
        ]
    }
    assert client.get(reverse("access:suggestions"), {"q": "n"}).json() == {"results": []}


def test_the_search_is_paginated(client, newcomer, gard):
    from mesads.geo.models import Commune

    for n in range(45):
        commune = Commune.objects.create(
            insee_code=f"30{n:03d}", type=Commune.Type.ACTUELLE, name=f"Saint-{n}", departement=gard
        )
        Authority.objects.create(
            type=Authority.Type.COMMUNE, name=commune.name, commune=commune, departement=gard
        )
    client.force_login(newcomer)
    results = page(client, reverse("access:search"), q="Saint")
    assert "45 gestionnaires trouvés, page 1 sur 3" in results
    assert results.count("Demander l’accès<span") == 20


# --- several authorities ----------------------------------------------------------------


def test_a_manager_of_several_authorities_switches_from_the_home_page(
    client, manager, nimes, ales, nimes_metropole
):
    AuthorityAccess.objects.create(user=manager, authority=ales, status=Status.ACCEPTED)
    AuthorityAccess.objects.create(user=manager, authority=nimes_metropole)
    client.force_login(manager)
    home = page(client, reverse("home"))
    for authority in (nimes, ales):
        assert f'href="{reverse("ads:authority", args=[authority.pk])}"' in home
        assert dashboard_status(client, authority) == 200
    # The pending one is listed, without a link.
    assert "CA Nîmes Métropole" in home
    assert reverse("ads:authority", args=[nimes_metropole.pk]) not in home
    assert dashboard_status(client, nimes_metropole) == 404


# --- the menu ---------------------------------------------------------------------------


def nav(client) -> str:
    home = page(client, reverse("home"))
    start = home.index('id="header-navigation"')
    return home[start : home.index("</nav>", start)]


def test_the_menu_depends_on_the_role(client, newcomer, prefecture_agent, staff):
    client.force_login(newcomer)
    menu = nav(client)
    assert "Mes gestionnaires" in menu and "Demander un accès" in menu
    assert "Demandes à traiter" not in menu and "Agents de préfecture" not in menu

    client.force_login(prefecture_agent)
    menu = nav(client)
    assert "Demandes à traiter" in menu and "Agents de préfecture" not in menu

    client.force_login(staff)
    menu = nav(client)
    assert "Demandes à traiter" in menu and "Agents de préfecture" in menu
    assert "Demander un accès" not in menu


def test_each_page_has_one_title_and_says_where_you_are(
    client, staff, pending_user, manager, nimes, gard
):
    access = AuthorityAccess.objects.get(user=manager)
    membership = PrefectureMembership.objects.create(user=pending_user, departement=gard)
    client.force_login(staff)
    pages = {
        reverse("access:search"): "Demander un accès",
        reverse("access:request", args=[nimes.pk]): "Demander à gérer Nîmes",
        reverse("access:requests"): "Demandes d’accès",
        reverse("access:request_detail", args=[access.pk]): "Demande de Camille pour Nîmes",
        reverse("access:revoke", args=[access.pk]): "Révoquer l’accès de Camille à Nîmes",
        reverse("access:membership_request"): "Rejoindre une préfecture",
        reverse("access:memberships"): "Demandes d’agents de préfecture",
    }
    for url, title in pages.items():
        html = page(client, url)
        assert html.count("<h1") == 1, url
        assert f"<title>{title} – Mes ADS</title>" in html, url
    assert membership.departement.name in page(client, reverse("access:memberships"))


def test_an_agent_managing_an_epci_never_reaches_another_departements_communes(
    prefecture_agent, nimes_metropole, nimes, montpellier
):
    """An EPCI may straddle départements: its Hérault members that delegated to it stay
    the Hérault prefecture's, even for a Gard agent acting as the EPCI's manager."""
    nimes.delegated_to = nimes_metropole
    nimes.save()
    montpellier.delegated_to = nimes_metropole
    montpellier.save()
    AuthorityAccess.objects.create(
        user=prefecture_agent,
        authority=nimes_metropole,
        status=AuthorityAccess.Status.ACCEPTED,
        via_prefecture=True,
    )

    writable = set(Authority.objects.writable_by(prefecture_agent))
    assert {nimes_metropole, nimes} <= writable
    assert montpellier not in writable
    assert montpellier not in set(Authority.objects.readable_by(prefecture_agent))


def test_a_manager_of_an_epci_manages_all_the_communes_that_delegated_to_it(
    nimes_metropole, nimes, montpellier
):
    montpellier.delegated_to = nimes_metropole
    montpellier.save()
    user = User.objects.create_user("epci@nimes-metropole.fr", "mot-de-passe-de-test")
    AuthorityAccess.objects.create(
        user=user, authority=nimes_metropole, status=AuthorityAccess.Status.ACCEPTED
    )
    assert montpellier in set(Authority.objects.writable_by(user))
