"""The certification workflow, as the people who use it live it.

The mairie attests its record when saving it (and again, without changing it, at least
once a year); the prefecture of the département certifies it, one by one or in bulk, or
sends it back with a comment; a substantive change makes it « à recertifier ».
"""

import datetime
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from mesads.ads.certification import certify
from mesads.ads.models import ADS, Driver, RegisterChange
from mesads.authorities.models import Authority
from mesads.users.models import AuthorityAccess, PrefectureMembership
from tests.ads.test_ads_edit import declare, edit, form_fields, messages_of

pytestmark = pytest.mark.django_db

CERTIFIED = '<p class="fr-badge fr-badge--success fr-badge--sm">Certifiée</p>'
TO_RECERTIFY = '<p class="fr-badge fr-badge--warning fr-badge--sm">À recertifier</p>'
NOT_CERTIFIED = '<p class="fr-badge fr-badge--sm">Non certifiée</p>'
ATTESTED = '<p class="fr-badge fr-badge--success fr-badge--sm fr-badge--no-icon">Attestée</p>'
TO_CHECK = '<p class="fr-badge fr-badge--warning fr-badge--sm">À vérifier</p>'


def page_of(client, ads: ADS) -> str:
    response = client.get(reverse("ads:detail", args=[ads.pk]))
    assert response.status_code == 200
    return response.content.decode()


def certify_url(ads: ADS) -> str:
    return reverse("prefecture:certify", args=[ads.pk])


def listed(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'">ADS n° ([^<]+)</a></th>', response.content.decode())


def make_ads(authority: Authority, number: str, complete: bool = True, **fields) -> ADS:
    values = {
        "creation_date": datetime.date(2005, 3, 1),
        "holder_name": f"Taxi {number}",
        "holder_siret": "73282932000074",
        "vehicle_plate": "AB-123-CD",
        "vehicle_pmr": False,
        "vehicle_low_emission": True,
    }
    if not complete:
        values["vehicle_plate"] = ""
    ads = ADS.objects.create(authority=authority, number=number, **{**values, **fields})
    drivers = [
        Driver.objects.create(
            ads=ads, status=Driver.Status.SALARIE, name="Jean Martin", card_number="CP-1"
        )
    ]
    ads.refresh_derived(drivers)
    ads.save()
    return ads


# --- the lifecycle ----------------------------------------------------------------------


def test_a_record_goes_from_attested_to_certified_to_recertify_and_back(
    client, manager, prefecture_agent, nimes
):
    # The mairie declares its ADS and, as the form requires, attests it.
    client.force_login(manager)
    _, response = declare(client, nimes)
    ads = ADS.objects.get(authority=nimes, number="7")
    assert (ads.attested_by, ads.certified_at) == (manager, None)
    page = response.content.decode()
    assert ATTESTED in page and NOT_CERTIFIED in page
    assert "Attestée le " in page and " par Camille" in page
    assert "Certifier l’ADS" not in page  # not the mairie's to do

    # The prefecture of the Gard reviews and certifies it from the ADS page.
    client.force_login(prefecture_agent)
    assert "Certifier l’ADS" in page_of(client, ads)
    response = client.post(certify_url(ads), follow=True)

    assert response.redirect_chain == [(reverse("ads:detail", args=[ads.pk]), 302)]
    assert messages_of(response) == ["L’ADS n° 7 est certifiée."]
    page = response.content.decode()
    assert CERTIFIED in page
    assert "Certifiée le " in page and " par Claude" in page
    ads.refresh_from_db()
    assert ads.certified_by == prefecture_agent
    assert ads.certification_status == "certifiée"
    revision = Version.objects.get_for_object(ads).order_by("-pk").first().revision
    assert (revision.user, revision.comment) == (
        prefecture_agent,
        "Certification par la préfecture",
    )

    # The mairie sees the certification, then records a new holder.
    client.force_login(manager)
    assert CERTIFIED in page_of(client, ads)
    response = edit(client, ads, holder_name="Taxi Costières")

    page = response.content.decode()
    assert TO_RECERTIFY in page
    assert "À recertifier</strong> : modifiée le " in page
    assert ADS.objects.to_recertify().get() == ads
    recertify_list = client.get(
        reverse("ads:list", args=[nimes.pk]), {"certification": "a_recertifier"}
    )
    assert listed(recertify_list) == ["7"]

    # The prefecture looks again and recertifies it.
    client.force_login(prefecture_agent)
    assert "Recertifier l’ADS" in page_of(client, ads)
    response = client.post(certify_url(ads), follow=True)

    assert CERTIFIED in response.content.decode()
    assert ADS.objects.certified().get() == ads
    history = client.get(reverse("ads:history", args=[ads.pk])).content.decode()
    assert history.count("Certification par la préfecture") == 2


def test_changing_only_the_notes_keeps_the_certification(
    client, manager, prefecture_agent, complete_ads
):
    certify(complete_ads, prefecture_agent)
    client.force_login(manager)

    response = edit(client, complete_ads, notes="Vu en mairie", comment="Relecture")

    assert CERTIFIED in response.content.decode()
    complete_ads.refresh_from_db()
    assert complete_ads.notes == "Vu en mairie"
    assert complete_ads.certification_status == "certifiée"


def test_changing_a_driver_requires_recertification(
    client, manager, prefecture_agent, complete_ads
):
    certify(complete_ads, prefecture_agent)
    client.force_login(manager)

    response = edit(client, complete_ads, **{"drivers-0-card_number": "CP-30-0099"})

    assert TO_RECERTIFY in response.content.decode()


def test_an_incomplete_record_cannot_be_certified(client, prefecture_agent, nimes):
    ads = make_ads(nimes, "3", complete=False)
    client.force_login(prefecture_agent)

    page = page_of(client, ads)
    response = client.post(certify_url(ads), follow=True)

    assert "Certifier l’ADS" not in page
    assert "la préfecture pourra la certifier une fois complétée" in page
    assert messages_of(response) == [
        "L’ADS n° 3 est incomplète : elle ne peut pas être certifiée avant que son "
        "gestionnaire l’ait complétée."
    ]
    ads.refresh_from_db()
    assert ads.certified_at is None


def test_certifying_again_an_unchanged_record_changes_nothing(
    client, prefecture_agent, complete_ads
):
    certify(complete_ads, prefecture_agent)
    complete_ads.refresh_from_db()
    client.force_login(prefecture_agent)

    response = client.post(certify_url(complete_ads), follow=True)

    assert messages_of(response) == ["L’ADS n° 12 était déjà certifiée, sans modification depuis."]
    assert "Certifier l’ADS" not in response.content.decode()
    assert ADS.objects.get(pk=complete_ads.pk).version == complete_ads.version


def test_a_form_opened_before_a_certification_does_not_erase_it(
    client, manager, prefecture_agent, complete_ads
):
    client.force_login(manager)
    url = reverse("ads:edit", args=[complete_ads.pk])
    opened = form_fields(client.get(url))
    certify(complete_ads, prefecture_agent)

    response = client.post(url, {**opened, "attest": "on", "holder_name": "Taxi Camargue"})

    assert response.status_code == 409
    complete_ads.refresh_from_db()
    assert complete_ads.certified_by == prefecture_agent
    assert complete_ads.holder_name == "Taxi Arènes SARL"


def test_national_staff_may_certify(client, staff, complete_ads):
    client.force_login(staff)

    response = client.post(certify_url(complete_ads))

    assert response.status_code == 302
    complete_ads.refresh_from_db()
    assert complete_ads.certified_by == staff


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("manager", 403),  # the mairie reads its ADS but does not certify it
        ("inspector", 403),  # reads the Gard's ADS, never writes
        ("other_manager", 404),
        ("other_prefecture_agent", 404),
        ("other_inspector", 404),
        ("pending_user", 404),
    ],
)
def test_only_the_departements_prefecture_certifies(client, request, complete_ads, persona, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(certify_url(complete_ads)).status_code == status
    assert client.get(reverse("prefecture:send_back", args=[complete_ads.pk])).status_code == (
        status
    )
    assert (
        client.post(
            reverse("prefecture:send_back", args=[complete_ads.pk]), {"comment": "x"}
        ).status_code
        == status
    )
    complete_ads.refresh_from_db()
    assert (complete_ads.certified_at, complete_ads.sent_back_at) == (None, None)


def test_an_anonymous_visitor_is_sent_to_login(client, complete_ads):
    for url in (
        certify_url(complete_ads),
        reverse("prefecture:send_back", args=[complete_ads.pk]),
        reverse("ads:attest", args=[complete_ads.pk]),
    ):
        response = client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_certifying_is_post_only(client, prefecture_agent, manager, complete_ads):
    client.force_login(prefecture_agent)
    assert client.get(certify_url(complete_ads)).status_code == 405
    client.force_login(manager)
    assert client.get(reverse("ads:attest", args=[complete_ads.pk])).status_code == 405


def test_a_deleted_record_cannot_be_certified(client, prefecture_agent, staff, complete_ads):
    complete_ads.deleted_at = timezone.now()
    complete_ads.save()

    for user in (prefecture_agent, staff):
        client.force_login(user)
        assert client.post(certify_url(complete_ads)).status_code == 404


# --- attestation ------------------------------------------------------------------------


def test_a_record_attested_over_a_year_ago_is_to_check_until_attested_again(
    client, manager, nimes, complete_ads
):
    ADS.objects.filter(pk=complete_ads.pk).update(
        attested_at=timezone.now() - datetime.timedelta(days=366), attested_by=manager
    )
    recent = make_ads(nimes, "13", attested_at=timezone.now() - datetime.timedelta(days=364))
    client.force_login(manager)
    list_url = reverse("ads:list", args=[nimes.pk])

    page = page_of(client, complete_ads)
    assert TO_CHECK in page
    assert "À vérifier</strong> : dernière attestation il y a plus d’un an" in page
    assert listed(client.get(list_url, {"attestation": "a_verifier"})) == ["12"]
    assert listed(client.get(list_url, {"attestation": "attestee"})) == ["13"]
    assert ATTESTED in page_of(client, recent)

    version = ADS.objects.get(pk=complete_ads.pk).version
    response = client.post(reverse("ads:attest", args=[complete_ads.pk]), follow=True)

    assert messages_of(response) == [
        "Vous avez attesté l’exactitude de l’ADS n° 12, sans la modifier."
    ]
    assert ATTESTED in response.content.decode()
    complete_ads.refresh_from_db()
    assert timezone.now() - complete_ads.attested_at < datetime.timedelta(minutes=1)
    assert complete_ads.version == version + 1
    assert listed(client.get(list_url, {"attestation": "a_verifier"})) == []
    history = client.get(reverse("ads:history", args=[complete_ads.pk])).content.decode()
    assert "Camille : Attestation" in history


def test_attesting_again_does_not_require_recertification(
    client, manager, prefecture_agent, complete_ads
):
    certify(complete_ads, prefecture_agent)
    client.force_login(manager)

    response = client.post(reverse("ads:attest", args=[complete_ads.pk]), follow=True)

    assert CERTIFIED in response.content.decode()


def test_saving_without_attesting_is_refused(client, manager, complete_ads):
    client.force_login(manager)

    response = edit(client, complete_ads, attest=None, holder_name="Taxi Camargue")

    assert response.status_code == 200
    assert response.context["form"].errors["attest"] == [
        "Cochez cette case pour certifier l’exactitude des informations saisies."
    ]
    complete_ads.refresh_from_db()
    assert complete_ads.holder_name == "Taxi Arènes SARL"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("inspector", 403),
        ("prefecture_agent", 403),  # unless it chooses to act as manager
        ("other_manager", 404),
        ("other_prefecture_agent", 404),
    ],
)
def test_only_those_who_manage_the_register_attest(client, request, complete_ads, persona, status):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(reverse("ads:attest", args=[complete_ads.pk])).status_code == status
    complete_ads.refresh_from_db()
    assert complete_ads.attested_at is None


def test_a_prefecture_agent_acting_as_manager_may_attest(
    client, prefecture_agent, nimes, complete_ads
):
    AuthorityAccess.objects.create(
        user=prefecture_agent,
        authority=nimes,
        status=AuthorityAccess.Status.ACCEPTED,
        via_prefecture=True,
    )
    client.force_login(prefecture_agent)

    page = page_of(client, complete_ads)
    response = client.post(reverse("ads:attest", args=[complete_ads.pk]))

    assert "Attester l’exactitude sans modifier" in page and "Certifier l’ADS" in page
    assert response.status_code == 302
    complete_ads.refresh_from_db()
    assert complete_ads.attested_by == prefecture_agent


def test_a_locked_register_is_not_attested_from_the_page(client, manager, nimes, complete_ads):
    Authority.objects.filter(pk=nimes.pk).update(is_locked=True)
    client.force_login(manager)

    assert "Attester l’exactitude sans modifier" not in page_of(client, complete_ads)
    assert client.post(reverse("ads:attest", args=[complete_ads.pk])).status_code == 403


# --- sending a record back --------------------------------------------------------------


def send_back(client, ads, comment, django_capture_on_commit_callbacks):
    url = reverse("prefecture:send_back", args=[ads.pk])
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(url, {"comment": comment}, follow=True)


def test_the_prefecture_sends_a_record_back_and_the_mairie_is_told(
    client,
    manager,
    other_manager,
    prefecture_agent,
    complete_ads,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    client.force_login(prefecture_agent)
    form_page = client.get(reverse("prefecture:send_back", args=[complete_ads.pk]))
    assert "<h1>Renvoyer l’ADS n° 12 à son gestionnaire</h1>" in form_page.content.decode()

    response = send_back(
        client,
        complete_ads,
        "Le SIRET ne correspond pas au registre du commerce.",
        django_capture_on_commit_callbacks,
    )

    assert messages_of(response) == [
        "L’ADS n° 12 a été renvoyée à son gestionnaire (1 personne prévenue par courriel)."
    ]
    assert [mail.to for mail in mailoutbox] == [["gestionnaire@nimes.fr"]]
    mail = mailoutbox[0]
    assert mail.subject == ("[Mes ADS] L’ADS n° 12 de Nîmes vous est renvoyée par la préfecture")
    assert "Le SIRET ne correspond pas au registre du commerce." in mail.body
    assert f"{settings.SITE_URL}{reverse('ads:detail', args=[complete_ads.pk])}" in mail.body
    complete_ads.refresh_from_db()
    assert complete_ads.sent_back_by == prefecture_agent
    revision = Version.objects.get_for_object(complete_ads).get().revision
    assert revision.comment == (
        "Renvoyée au gestionnaire : Le SIRET ne correspond pas au registre du commerce."
    )

    # The mairie finds the comment on the ADS page, until it saves the record.
    client.force_login(manager)
    page = page_of(client, complete_ads)
    assert "Renvoyée par la préfecture le " in page
    assert "Le SIRET ne correspond pas au registre du commerce." in page
    response = edit(client, complete_ads, holder_siret="35600000049837")
    assert "Renvoyée par la préfecture" not in response.content.decode()
    complete_ads.refresh_from_db()
    assert (complete_ads.sent_back_at, complete_ads.sent_back_comment) == (None, "")


def test_a_manager_who_opted_out_gets_no_mail_but_sees_the_comment(
    client, manager, prefecture_agent, complete_ads, mailoutbox, django_capture_on_commit_callbacks
):
    manager.notify_sent_back = False
    manager.save()
    client.force_login(prefecture_agent)

    response = send_back(
        client, complete_ads, "Plaque à vérifier.", django_capture_on_commit_callbacks
    )

    assert mailoutbox == []
    assert "Aucun courriel n’est parti" in messages_of(response)[0]
    client.force_login(manager)
    assert "Plaque à vérifier." in page_of(client, complete_ads)


def test_the_managers_of_the_epci_it_delegated_to_are_told_too(
    client,
    manager,
    prefecture_agent,
    nimes,
    nimes_metropole,
    complete_ads,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    Authority.objects.filter(pk=nimes.pk).update(delegated_to=nimes_metropole)
    from tests.conftest import _manager

    _manager("ads@nimes-metropole.fr", nimes_metropole)
    client.force_login(prefecture_agent)

    send_back(client, complete_ads, "À revoir.", django_capture_on_commit_callbacks)

    assert sorted(mail.to[0] for mail in mailoutbox) == [
        "ads@nimes-metropole.fr",
        "gestionnaire@nimes.fr",
    ]


def test_attesting_again_answers_a_send_back(
    client, manager, prefecture_agent, complete_ads, django_capture_on_commit_callbacks
):
    client.force_login(prefecture_agent)
    send_back(client, complete_ads, "Toujours exploitée ?", django_capture_on_commit_callbacks)
    client.force_login(manager)

    response = client.post(reverse("ads:attest", args=[complete_ads.pk]), follow=True)

    assert "Toujours exploitée ?" not in response.content.decode()


def test_a_send_back_needs_a_comment(client, prefecture_agent, complete_ads):
    client.force_login(prefecture_agent)

    response = client.post(
        reverse("prefecture:send_back", args=[complete_ads.pk]), {"comment": " "}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["comment"]
    complete_ads.refresh_from_db()
    assert complete_ads.sent_back_at is None


# --- bulk certification -----------------------------------------------------------------


@pytest.fixture
def gard_register(nimes, ales, montpellier, prefecture_agent):
    """Records of the Gard in every state, and one of the Hérault."""
    return {
        "nimes_1": make_ads(nimes, "1"),
        "nimes_2": make_ads(nimes, "2", complete=False),
        "nimes_3": make_ads(nimes, "3"),
        "ales_1": make_ads(ales, "1"),
        "deleted": make_ads(ales, "9", deleted_at=timezone.now()),
        "montpellier": make_ads(montpellier, "1"),
    }


def bulk_url(code: str = "30") -> str:
    return reverse("prefecture:certify_bulk", args=[code])


def test_the_prefecture_certifies_a_selection_from_its_list(
    client, prefecture_agent, gard_register
):
    certify(gard_register["nimes_3"], prefecture_agent)
    client.force_login(prefecture_agent)
    list_url = reverse("prefecture:ads", args=["30"])

    page = client.get(list_url, {"certification": "non_certifiee"}).content.decode()
    # Only complete records not certified yet can be ticked.
    boxes = re.findall(r'name="ads" value="(\d+)"', page)
    assert sorted(map(int, boxes)) == sorted(
        [gard_register["nimes_1"].pk, gard_register["ales_1"].pk]
    )
    assert 'name="retour" value="certification=non_certifiee"' in page

    response = client.post(
        bulk_url(),
        {
            "ads": [
                gard_register["nimes_1"].pk,
                gard_register["ales_1"].pk,
                gard_register["nimes_2"].pk,  # incomplete
                gard_register["nimes_3"].pk,  # already certified
                gard_register["montpellier"].pk,  # the Hérault's
                gard_register["deleted"].pk,
                999999,
            ],
            "retour": "certification=non_certifiee",
        },
        follow=True,
    )

    assert response.redirect_chain == [(f"{list_url}?certification=non_certifiee", 302)]
    assert messages_of(response) == [
        "2 ADS certifiées : n° 1 (Alès), n° 1 (Nîmes).",
        "L’ADS n° 2 est incomplète : elle ne peut pas être certifiée avant que son "
        "gestionnaire l’ait complétée. (Nîmes)",
        "1 ADS déjà certifiée, sans modification depuis : rien à faire.",
        "3 ADS ignorées : vous ne pouvez certifier que les ADS en vigueur du département 30.",
    ]
    certified = set(ADS.objects.certified().values_list("pk", flat=True))
    assert certified == {
        gard_register["nimes_1"].pk,
        gard_register["ales_1"].pk,
        gard_register["nimes_3"].pk,
    }
    assert listed(response) == ["2"]  # what remains to certify: the incomplete one
    # One revision each, in each ADS's history and in the feed of the Gard.
    for key in ("nimes_1", "ales_1"):
        change = RegisterChange.objects.filter(ads=gard_register[key]).get()
        assert change.revision.comment == "Certification par la préfecture"
        assert change.revision.user == prefecture_agent


def test_an_agent_of_two_departements_certifies_from_one_list_only_its_records(
    client, prefecture_agent, herault, gard_register
):
    PrefectureMembership.objects.create(
        user=prefecture_agent, departement=herault, status=PrefectureMembership.Status.ACCEPTED
    )
    client.force_login(prefecture_agent)

    client.post(bulk_url("30"), {"ads": [gard_register["montpellier"].pk]})
    assert ADS.objects.certified().count() == 0

    client.post(bulk_url("34"), {"ads": [gard_register["montpellier"].pk]})
    assert list(ADS.objects.certified()) == [gard_register["montpellier"]]


def test_an_empty_selection_is_refused(client, prefecture_agent, gard_register):
    client.force_login(prefecture_agent)

    response = client.post(bulk_url(), {"ads": []}, follow=True)

    assert messages_of(response) == ["Sélectionnez au moins une ADS à certifier."]
    assert ADS.objects.certified().count() == 0


def test_national_staff_certify_in_bulk(client, staff, gard_register):
    client.force_login(staff)

    client.post(bulk_url(), {"ads": [gard_register["nimes_1"].pk]})

    assert ADS.objects.certified().get().certified_by == staff


@pytest.mark.parametrize(
    "persona", ["manager", "inspector", "other_prefecture_agent", "other_manager"]
)
def test_bulk_certification_is_the_prefectures(client, request, gard_register, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(bulk_url(), {"ads": [gard_register["nimes_1"].pk]})

    assert response.status_code == 404
    assert ADS.objects.certified().count() == 0


def test_bulk_certification_sends_an_anonymous_visitor_to_login(client, gard_register):
    response = client.post(bulk_url(), {"ads": [gard_register["nimes_1"].pk]})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert ADS.objects.certified().count() == 0


# --- statuses in the lists --------------------------------------------------------------


def test_every_status_shows_and_filters_in_the_ads_list(client, manager, prefecture_agent, nimes):
    long_ago = timezone.now() - datetime.timedelta(days=400)
    certified = make_ads(nimes, "1", attested_at=timezone.now())
    to_recertify = make_ads(nimes, "2", attested_at=long_ago)
    make_ads(nimes, "3")
    certify(certified, prefecture_agent)
    certify(to_recertify, prefecture_agent)
    ADS.objects.filter(pk=to_recertify.pk).update(substantive_change_at=timezone.now())
    client.force_login(manager)
    url = reverse("ads:list", args=[nimes.pk])

    page = client.get(url).content.decode()

    rows = page.split("<tbody>")[1].split("<tr>")[1:]
    assert CERTIFIED in rows[0] and ATTESTED in rows[0]
    assert TO_RECERTIFY in rows[1] and TO_CHECK in rows[1]
    assert NOT_CERTIFIED in rows[2] and "Non attestée" in rows[2]
    assert listed(client.get(url, {"certification": "certifiee"})) == ["1"]
    assert listed(client.get(url, {"certification": "a_recertifier"})) == ["2"]
    assert listed(client.get(url, {"certification": "non_certifiee"})) == ["3"]
    assert listed(client.get(url, {"attestation": "attestee"})) == ["1"]
    assert listed(client.get(url, {"attestation": "a_verifier"})) == ["2", "3"]
