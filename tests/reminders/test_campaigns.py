"""Reminder campaigns (issue 12, point 4): national staff, or a prefecture for its own
département, write to the authorities that are behind, see who will receive it, confirm,
and later see who was sent what and how many have declared since.

Sending goes through the task queue (immediate in tests): the mails leave once the
confirmation's transaction commits.
"""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.authorities.models import Authority
from mesads.geo.models import Departement
from mesads.reminders.campaigns import targeted_authorities
from mesads.reminders.models import Campaign, CampaignRecipient, ReminderPreferences
from mesads.users.models import AuthorityAccess, PrefectureMembership, User
from tests.conftest import _commune_authority, _manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def beaucaire(gard):
    """A commune of the Gard that has no manager on Mes ADS yet."""
    return _commune_authority("30032", "Beaucaire", gard)


@pytest.fixture
def montpellier_manager(montpellier):
    return _manager("taxis@montpellier.fr", montpellier)


@pytest.fixture
def register(nimes, manager, ales, other_manager, beaucaire, montpellier, montpellier_manager):
    """Nîmes has declared its ADS; Alès, Beaucaire and Montpellier have declared nothing."""
    ADS.objects.create(authority=nimes, number="1", creation_date=datetime.date(2010, 1, 4))


def create_campaign(
    client, departement="", subject="Relance – {gestionnaire}", body="", target="jamais"
):
    response = client.post(
        reverse("reminders:campaign_create"),
        {"target": target, "departement": departement, "subject": subject, "body": body},
    )
    assert response.status_code == 302, response.context["form"].errors
    return Campaign.objects.latest("pk")


def send(client, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reminders:campaign_send", args=[campaign.pk]))
    assert response.status_code == 302


def test_staff_preview_then_send_reaches_the_managers_and_the_prefecture_for_the_others(
    client,
    staff,
    register,
    ales,
    beaucaire,
    prefecture_agent,
    other_prefecture_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(staff)
    campaign = create_campaign(client)
    # Left empty, the body is the French model for the authorities targeted.
    assert "n’a encore reçu aucune déclaration pour {gestionnaire}" in campaign.body

    page = client.get(reverse("reminders:campaign", args=[campaign.pk]))
    assert mailoutbox == []  # nothing leaves before the confirmation
    # Alès (its manager), Beaucaire (no manager: the Gard's agent), Montpellier (its
    # manager); Nîmes has declared.
    assert page.context["audience"].authorities == 3
    assert page.context["audience"].recipients == 3
    assert page.context["audience"].via_prefecture == 1
    text = page.content.decode()
    assert "3 gestionnaires d’ADS" in text
    assert "Envoyer à 3 destinataires" in text
    assert "[Mes ADS] Relance – Alès" in text  # the preview, for the first of them

    send(client, campaign, django_capture_on_commit_callbacks)

    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "agent@gard.gouv.fr",
        "gestionnaire@ales.fr",
        "taxis@montpellier.fr",
    ]
    to_ales = next(mail for mail in mailoutbox if mail.to == ["gestionnaire@ales.fr"])
    assert to_ales.subject == "[Mes ADS] Relance – Alès"
    assert "aucune déclaration pour Alès (30 – Gard)" in to_ales.body
    assert f"{settings.SITE_URL}/gestionnaires/{ales.pk}/" in to_ales.body
    assert "Pour ne plus recevoir les rappels et relances" in to_ales.body
    assert f"{settings.SITE_URL}/compte/profil/" in to_ales.body
    to_agent = next(mail for mail in mailoutbox if mail.to == ["agent@gard.gouv.fr"])
    assert to_agent.subject == "[Mes ADS] Relance – Beaucaire"
    assert "en tant qu’agent de la préfecture : Beaucaire n’a encore aucun" in to_agent.body
    # The Hérault's agent: Montpellier has its own manager.
    assert not any(mail.to == ["agent@herault.gouv.fr"] for mail in mailoutbox)

    rows = CampaignRecipient.objects.filter(campaign=campaign)
    assert {(r.email, r.authority.name, r.status, r.via_prefecture) for r in rows} == {
        ("gestionnaire@ales.fr", "Alès", "sent", False),
        ("agent@gard.gouv.fr", "Beaucaire", "sent", True),
        ("taxis@montpellier.fr", "Montpellier", "sent", False),
    }
    assert all(r.sent_at is not None for r in rows)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT

    results = client.get(reverse("reminders:campaign", args=[campaign.pk]))
    assert "gestionnaire@ales.fr" in results.content.decode()
    assert results.context["results"].declared_since == 0


def test_sending_again_sends_nothing_twice_but_reaches_a_new_manager(
    client,
    staff,
    register,
    beaucaire,
    prefecture_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(staff)
    campaign = create_campaign(client, departement=beaucaire.departement_id)
    send(client, campaign, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2  # Alès' manager, the Gard's agent for Beaucaire

    send(client, campaign, django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 2
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 2

    # Beaucaire gets a manager: sent again, only they receive it.
    _manager("mairie@beaucaire.fr", beaucaire)
    send(client, campaign, django_capture_on_commit_callbacks)
    assert [mail.to for mail in mailoutbox[2:]] == [["mairie@beaucaire.fr"]]
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3


def test_a_person_is_sent_a_campaign_once_whatever_the_number_of_authorities(
    client, staff, register, ales, beaucaire, mailoutbox, django_capture_on_commit_callbacks
):
    other = User.objects.get(email="gestionnaire@ales.fr")
    AuthorityAccess.objects.create(
        user=other, authority=beaucaire, status=AuthorityAccess.Status.ACCEPTED
    )
    client.force_login(staff)
    campaign = create_campaign(client, departement=ales.departement_id)
    send(client, campaign, django_capture_on_commit_callbacks)
    assert [mail.to for mail in mailoutbox] == [["gestionnaire@ales.fr"]]
    assert "Ce message concerne aussi 1 autre gestionnaire" in mailoutbox[0].body
    recipient = CampaignRecipient.objects.get(campaign=campaign)
    assert recipient.authorities_count == 2


def test_who_switched_reminders_off_in_the_profile_is_sent_nothing(
    client,
    staff,
    register,
    other_manager,
    prefecture_agent,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(other_manager)
    profile = client.get(reverse("profile"))
    assert "Rappels de renouvellement et relances" in profile.content.decode()
    response = client.post(
        reverse("profile"),
        # Every notification kept but the reminders.
        {
            "notify_access_decisions": "on",
            "notify_sent_back": "on",
            "rappels-weekly_digest": "on",
        },
    )
    assert response.status_code == 302
    assert ReminderPreferences.objects.get(user=other_manager).reminders is False

    client.force_login(staff)
    campaign = create_campaign(
        client, departement=other_manager.authority_accesses.get().authority.departement_id
    )
    page = client.get(reverse("reminders:campaign", args=[campaign.pk]))
    assert page.context["audience"].opted_out == 1
    assert "ayant désactivé les relances dans leur profil ne recevra rien" in page.content.decode()
    send(client, campaign, django_capture_on_commit_callbacks)
    assert "gestionnaire@ales.fr" not in [mail.to[0] for mail in mailoutbox]
    assert (
        CampaignRecipient.objects.get(campaign=campaign, email="gestionnaire@ales.fr").status
        == CampaignRecipient.Status.OPTED_OUT
    )


def test_a_prefecture_targets_and_sees_only_its_own_departement(
    client,
    register,
    gard,
    herault,
    prefecture_agent,
    other_prefecture_agent,
    staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(prefecture_agent)
    form = client.get(reverse("reminders:campaign_create")).context["form"]
    assert list(form.fields["departement"].queryset) == [gard]
    # Another département is refused, and so is « all of them ».
    for other in (herault.pk, ""):
        response = client.post(
            reverse("reminders:campaign_create"),
            {"target": "jamais", "departement": other, "subject": "Relance", "body": ""},
        )
        assert response.status_code == 200
        assert "departement" in response.context["form"].errors

    campaign = create_campaign(client, departement=gard.pk)
    send(client, campaign, django_capture_on_commit_callbacks)
    # Alès and Beaucaire: never Montpellier's manager.
    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "agent@gard.gouv.fr",
        "gestionnaire@ales.fr",
    ]

    client.force_login(other_prefecture_agent)
    for name in ("reminders:campaign", "reminders:campaign_edit"):
        assert client.get(reverse(name, args=[campaign.pk])).status_code == 404
    assert client.post(reverse("reminders:campaign_send", args=[campaign.pk])).status_code == 404
    listing = client.get(reverse("reminders:campaigns"))
    assert list(listing.context["page_obj"]) == []

    # A national campaign is national staff's only.
    national = Campaign.objects.create(target="jamais", subject="National", body="…")
    client.force_login(prefecture_agent)
    assert client.get(reverse("reminders:campaign", args=[national.pk])).status_code == 404
    assert [c.pk for c in client.get(reverse("reminders:campaigns")).context["page_obj"]] == [
        campaign.pk
    ]


def test_an_unknown_placeholder_is_refused_in_french(client, staff, register):
    client.force_login(staff)
    response = client.post(
        reverse("reminders:campaign_create"),
        {"target": "jamais", "departement": "", "subject": "Relance {nom}", "body": ""},
    )
    assert response.status_code == 200
    assert "Repère inconnu : {nom}" in response.content.decode()


def test_the_results_count_the_authorities_that_declared_since(
    client, staff, register, ales, beaucaire, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    campaign = create_campaign(client, departement=ales.departement_id)
    send(client, campaign, django_capture_on_commit_callbacks)
    # Alès declares an ADS, Beaucaire that it has none; the targets stay as they were.
    ADS.objects.create(authority=ales, number="1", creation_date=datetime.date(2015, 2, 1))
    beaucaire.declares_no_ads = True
    beaucaire.save()
    page = client.get(reverse("reminders:campaign", args=[campaign.pk]))
    assert page.context["results"].authorities == 2
    assert page.context["results"].declared_since == 2
    assert "ont déclaré ou mis à jour leur registre depuis l’envoi" in page.content.decode()


def test_a_sent_campaign_is_no_longer_edited(
    client, staff, register, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    campaign = create_campaign(client)
    send(client, campaign, django_capture_on_commit_callbacks)
    response = client.get(reverse("reminders:campaign_edit", args=[campaign.pk]))
    assert response.status_code == 302
    assert response.url == reverse("reminders:campaign", args=[campaign.pk])


def test_the_results_page_costs_the_same_whatever_the_number_of_recipients(
    client, staff, gard, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    for index in range(30):
        authority = _commune_authority(f"30{index:03d}", f"Commune {index}", gard)
        _manager(f"maire{index}@example.fr", authority)
    client.force_login(staff)
    campaign = create_campaign(client)
    send(client, campaign, django_capture_on_commit_callbacks)
    assert CampaignRecipient.objects.filter(campaign=campaign, status="sent").count() == 30
    with django_assert_max_num_queries(12):
        client.get(reverse("reminders:campaign", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.sent_at <= timezone.now()


def test_each_target_selects_the_authorities_in_that_state(gard, nimes, ales, montpellier):
    """Beyond « never declared »: ADS to complete, not attested for 12 months, renewal
    overdue; a deleted ADS puts no authority in any state."""
    now = timezone.now()
    beaucaire = _commune_authority("30032", "Beaucaire", gard)
    # Nîmes: an incomplete ADS, attested last month, old regime.
    ADS.objects.create(authority=nimes, number="1", creation_date=datetime.date(2010, 1, 4))
    # Alès: a complete new-regime ADS due for renewal since 2021, attested 13 months ago.
    ADS.objects.create(authority=ales, number="1", creation_date=datetime.date(2016, 1, 4))
    # Montpellier: complete, attested last month, old regime.
    ADS.objects.create(authority=montpellier, number="1", creation_date=datetime.date(2010, 1, 4))
    # Beaucaire: only a deleted ADS, incomplete, never attested, overdue.
    ADS.objects.create(
        authority=beaucaire,
        number="1",
        creation_date=datetime.date(2016, 1, 4),
        deleted_at=now,
    )
    ADS.objects.filter(authority__in=[ales, montpellier]).update(is_complete=True)
    ADS.objects.filter(authority__in=[nimes, montpellier]).update(
        attested_at=now - datetime.timedelta(days=30)
    )
    ADS.objects.filter(authority=ales).update(attested_at=now - datetime.timedelta(days=400))

    def targeted(target, departement=None):
        return sorted(
            targeted_authorities(target, departement, datetime.date(2026, 12, 3)).values_list(
                "name", flat=True
            )
        )

    assert targeted(Campaign.Target.INCOMPLETE) == ["Nîmes"]
    assert targeted(Campaign.Target.ATTESTATION_DUE) == ["Alès"]
    assert targeted(Campaign.Target.RENEWAL_OVERDUE) == ["Alès"]
    assert targeted(Campaign.Target.NEVER_DECLARED) == ["Beaucaire"]
    assert targeted(Campaign.Target.INCOMPLETE, montpellier.departement_id) == []


def test_declared_since_counts_what_the_authorities_did_after_the_sending(
    client, staff, nimes, manager, nimes_metropole, gard, django_capture_on_commit_callbacks
):
    """A commune that delegated to its EPCI long ago but keeps an incomplete ADS of its own
    is reminded to complete it: its old delegation is not a declaration « since »."""
    ADS.objects.create(authority=nimes, number="1", creation_date=datetime.date(2010, 1, 4))
    Authority.objects.filter(pk=nimes.pk).update(delegated_to=nimes_metropole)
    client.force_login(staff)
    campaign = create_campaign(client, departement=gard.pk, target="incompletes")
    send(client, campaign, django_capture_on_commit_callbacks)

    results = client.get(reverse("reminders:campaign", args=[campaign.pk])).context["results"]
    assert (results.authorities, results.declared_since) == (1, 0)

    ADS.objects.create(authority=nimes, number="2", creation_date=datetime.date(2010, 1, 4))
    results = client.get(reverse("reminders:campaign", args=[campaign.pk])).context["results"]
    assert results.declared_since == 1


def _grow(first: int, departements: int, authorities: int) -> None:
    """More départements, each with an agent and authorities that declared nothing, half
    of them with a manager (the others reached through the prefecture)."""
    for d in range(first, first + departements):
        departement = Departement.objects.create(code=f"9{d:02d}", name=f"Département {d}")
        agent = User.objects.create_user(f"agent-{d}@example.gouv.fr", "mot-de-passe-de-test")
        PrefectureMembership.objects.create(user=agent, departement=departement, status="accepted")
        for a in range(authorities):
            authority = _commune_authority(f"9{d:02d}{a:02d}", f"Commune {d}-{a}", departement)
            if a % 2:
                _manager(f"maire-{d}-{a}@example.fr", authority)


def test_the_campaign_pages_cost_the_same_whatever_the_size_of_the_country(
    client, staff, register, ales, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    draft = create_campaign(client)
    sent = create_campaign(client)
    send(client, sent, django_capture_on_commit_callbacks)
    urls = [
        reverse("reminders:campaigns"),
        reverse("reminders:campaign_create"),
        reverse("reminders:campaign", args=[draft.pk]),  # the preview and its audience
        reverse("reminders:campaign_edit", args=[draft.pk]),
        reverse("reminders:campaign", args=[sent.pk]),  # who was sent what, and since
    ]

    def queries() -> list[int]:
        counts = []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200, url
            counts.append(len(captured))
        return counts

    _grow(first=0, departements=2, authorities=2)
    send(client, sent, django_capture_on_commit_callbacks)
    small = queries()

    _grow(first=2, departements=15, authorities=6)
    # The sent campaign's targets are frozen; its recipients grow with new managers of
    # them (sent again, it reaches them).
    for index in range(40):
        _manager(f"adjoint-{index}@ales.fr", ales)
    send(client, sent, django_capture_on_commit_callbacks)
    assert CampaignRecipient.objects.filter(campaign=sent).count() > 40

    assert queries() == small
