"""The manager of Nîmes keeps the commune's waiting list: applications taken, renewed,
ordered by the law's priority, removed, and an ADS attributed from it."""

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from mesads.ads.models import ADS, Driver
from mesads.core.daily import STEPS
from mesads.waitinglists.daily import send_renewal_reminders
from mesads.waitinglists.models import Application, Reminder

pytestmark = pytest.mark.django_db


def _apply(authority, departement, name, card, *, days_ago=10, priority=False, **fields):
    application = Application(
        authority=authority,
        applicant_name=name,
        card_number=card,
        card_departement=departement,
        registered_at=timezone.now() - datetime.timedelta(days=days_ago),
        proves_driving_experience=priority,
        **fields,
    )
    if not application.number:
        application.number = application.next_number()
    application.save()
    return application


def _form(gard, **overrides):
    data = {
        "number": "",
        "registered_at": "2026-01-05T09:30",
        "applicant_name": "Léa Fabre",
        "applicant_email": "lea.fabre@example.fr",
        "applicant_phone": "06 12 34 56 78",
        "applicant_address": "3 rue de la Madeleine, 30000 Nîmes",
        "card_number": "CP-30-1234",
        "card_departement": gard.pk,
        "card_date": "2020-02-03",
        "proves_driving_experience": "on",
        "comment": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def today():
    return timezone.localdate()


def test_the_manager_takes_an_application_onto_the_list(client, manager, nimes, gard):
    client.force_login(manager)
    page = client.get(reverse("waitinglists:create", args=[nimes.pk]))
    assert page.status_code == 200
    assert "Inscrire une demande sur la liste d’attente" in page.content.decode()

    response = client.post(reverse("waitinglists:create", args=[nimes.pk]), _form(gard))

    application = Application.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("waitinglists:detail", args=[application.pk])
    assert application.number == "1"  # the next of the list
    assert application.applicant_phone == "0612345678"
    assert application.card_number_key == "CP301234"
    assert application.state == Application.State.ACTIVE
    assert application.valid_until == datetime.date(2027, 1, 5)
    # In the history, with who and why.
    version = Version.objects.get_for_object(application).get()
    assert version.revision.user == manager
    assert version.revision.comment == "Inscription sur la liste d’attente"
    detail = client.get(response.url).content.decode()
    assert "Demande n° 1" in detail
    assert "Léa Fabre" in detail
    assert "Inscription sur la liste d’attente" in detail


def test_the_same_applicant_twice_on_one_list_is_refused(client, manager, nimes, gard):
    _apply(nimes, gard, "Léa Fabre", "CP-30-1234")
    client.force_login(manager)

    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]),
        _form(gard, card_number="cp 30 1234", applicant_name="Léa FABRE"),
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "figure déjà sur la liste d’attente de ce gestionnaire" in errors["card_number"][0]
    assert Application.objects.count() == 1
    # The database says so too, for the active applications.
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.create(
            authority=nimes,
            number="99",
            applicant_name="Léa Fabre",
            card_number="CP301234",
            card_departement=gard,
        )


def test_an_application_number_is_unique_per_authority(client, manager, nimes, ales, gard):
    _apply(nimes, gard, "Léa Fabre", "CP-1", number="2026-01")
    _apply(ales, gard, "Marc Roux", "CP-2", number="2026-02")
    client.force_login(manager)

    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]),
        _form(gard, number="2026-01", card_number="CP-3"),
    )
    assert response.context["form"].errors["number"] == [
        "Ce gestionnaire a déjà une demande n° 2026-01 : chaque numéro est unique."
    ]
    # Another authority's number is free here.
    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]),
        _form(gard, number="2026-02", card_number="CP-3"),
    )
    assert response.status_code == 302


def test_a_card_on_another_authoritys_list_is_a_warning_not_a_refusal(
    client, manager, nimes, ales, gard
):
    _apply(ales, gard, "Léa Fabre", "CP-30-1234")
    client.force_login(manager)

    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]), _form(gard), follow=True
    )

    assert Application.objects.filter(authority=nimes).count() == 1
    page = response.content.decode()
    assert "figure aussi sur la liste d’attente de : Alès" in page
    assert "la demande est néanmoins enregistrée" in page
    assert "Inscrit sur une autre liste" in page


def test_bad_input_is_told_on_its_field_and_nothing_is_written(client, manager, nimes, gard):
    client.force_login(manager)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        reverse("waitinglists:create", args=[nimes.pk]),
        _form(
            gard,
            applicant_name="",
            applicant_phone="12",
            card_date=tomorrow.isoformat(),
            applicant_email="pas-une-adresse",
        ),
    )
    errors = response.context["form"].errors
    assert errors["applicant_name"] == ["Ce champ est obligatoire."]
    assert errors["card_date"] == ["Cette date ne peut pas être dans le futur."]
    assert "applicant_phone" in errors
    assert "applicant_email" in errors
    assert "Le formulaire contient" in response.content.decode()
    assert not Application.objects.exists()


def test_the_manager_renews_an_application(client, manager, nimes, gard, today):
    application = _apply(nimes, gard, "Léa Fabre", "CP-1", days_ago=350)
    assert application.is_due(today)
    client.force_login(manager)

    assert client.get(reverse("waitinglists:renew", args=[application.pk])).status_code == 405
    response = client.post(reverse("waitinglists:renew", args=[application.pk]), follow=True)

    application.refresh_from_db()
    assert application.renewed_at == today
    assert application.valid_until == today.replace(year=today.year + 1)
    assert not application.is_due(today)
    assert "est renouvelée : elle est valable jusqu’au" in response.content.decode()
    comments = [v.revision.comment for v in Version.objects.get_for_object(application)]
    assert f"Renouvellement de la demande le {today:%d/%m/%Y}" in comments


def test_the_list_shows_what_is_due_and_what_has_expired(client, manager, nimes, gard):
    _apply(nimes, gard, "Valide", "CP-1", days_ago=10)
    _apply(nimes, gard, "Bientot", "CP-2", days_ago=350)
    _apply(nimes, gard, "Perimee", "CP-3", days_ago=400)
    client.force_login(manager)
    url = reverse("waitinglists:list", args=[nimes.pk])

    page = client.get(url)
    assert page.context["counts"] == {"active": 3, "due": 1, "expired": 1}
    content = page.content.decode()
    assert "À renouveler" in content and "Expirée" in content

    due = client.get(url, {"etat": "a_renouveler"})
    assert [a.applicant_name for a in due.context["page_obj"]] == ["Bientot"]
    expired = client.get(url, {"etat": "expirees"})
    assert [a.applicant_name for a in expired.context["page_obj"]] == ["Perimee"]


def test_priority_applicants_come_first_with_the_reason(client, manager, nimes, gard):
    _apply(nimes, gard, "Premier inscrit", "CP-1", days_ago=90)
    _apply(nimes, gard, "Deuxième inscrit", "CP-2", days_ago=60)
    _apply(nimes, gard, "Prioritaire récent", "CP-3", days_ago=5, priority=True)
    client.force_login(manager)

    page = client.get(reverse("waitinglists:list", args=[nimes.pk]))

    rows = [(a.rank, a.applicant_name, a.order_reason) for a in page.context["page_obj"]]
    assert rows == [
        (1, "Prioritaire récent", "Prioritaire : 2 ans de conduite sur les 5 dernières années"),
        (2, "Premier inscrit", "Ordre d’inscription"),
        (3, "Deuxième inscrit", "Ordre d’inscription"),
    ]
    assert "Prioritaire : 2 ans de conduite sur les 5 dernières années" in page.content.decode()
    # The rank stays the list's when a search narrows it.
    searched = client.get(reverse("waitinglists:list", args=[nimes.pk]), {"q": "Deuxième"})
    assert [a.rank for a in searched.context["page_obj"]] == [3]


def test_the_manager_removes_an_application_with_a_reason(client, manager, nimes, gard):
    application = _apply(nimes, gard, "Léa Fabre", "CP-1")
    client.force_login(manager)
    url = reverse("waitinglists:remove", args=[application.pk])
    assert "Radier la demande n° 1 ?" in client.get(url).content.decode()

    refused = client.post(url, {"reason": "other", "comment": ""})
    assert refused.context["form"].errors["comment"] == ["Précisez le motif de la radiation."]
    client.post(url, {"reason": "withdrawn", "comment": "Courrier du 3 mars"})

    application.refresh_from_db()
    assert application.state == Application.State.REMOVED
    assert application.status_label() == "Radiée (retirée par le demandeur)"
    # The same applicant may come back on the list.
    _apply(nimes, gard, "Léa Fabre", "CP-1")


# --- attribution ----------------------------------------------------------------------


def test_the_manager_attributes_an_ads_to_the_first_application(client, manager, nimes, gard):
    first = _apply(
        nimes,
        gard,
        "Léa Fabre",
        "CP-30-1234",
        days_ago=90,
        priority=True,
        applicant_email="lea@example.fr",
    )
    _apply(nimes, gard, "Marc Roux", "CP-30-9999", days_ago=200)
    client.force_login(manager)
    # The list offers the first of its order.
    listed = client.get(reverse("waitinglists:list", args=[nimes.pk])).content.decode()
    assert "Attribuer une ADS à la première demande (n° 1)" in listed
    url = reverse("waitinglists:attribute", args=[first.pk])
    assert url in listed

    page = client.get(url).content.decode()
    assert "titulaire <strong>Léa Fabre</strong>, qui doit l’exploiter personnellement" in page
    assert "n’est pas la première de la liste" not in page

    response = client.post(
        url, {"number": "N-12", "creation_date": timezone.localdate().isoformat(), "attest": "on"}
    )

    assert response.status_code == 302
    ads = ADS.objects.get(number="N-12")
    assert ads.authority == nimes
    assert ads.is_new_regime
    assert ads.holder_name == "Léa Fabre"
    assert ads.holder_email == "lea@example.fr"
    assert ads.attested_by == manager
    (driver,) = ads.drivers.all()
    assert (driver.status, driver.name, driver.card_number) == (
        Driver.Status.TITULAIRE,
        "Léa Fabre",
        "CP-30-1234",
    )
    first.refresh_from_db()
    assert first.state == Application.State.ATTRIBUTED
    assert first.removal_reason == Application.RemovalReason.ATTRIBUTED
    assert first.ads == ads
    # One revision for both: the ADS's history and the application's.
    ads_revision = Version.objects.get_for_object(ads).get().revision
    assert Version.objects.get_for_object(first).first().revision == ads_revision
    assert ads_revision.comment.startswith("Attribution depuis la liste d’attente")
    assert client.get(reverse("ads:history", args=[ads.pk])).status_code == 200
    detail = client.get(response.url).content.decode()
    assert "ADS attribuée le" in detail
    assert reverse("ads:detail", args=[ads.pk]) in detail
    try:
        decree = reverse("lifecycle:ads_decree", args=[ads.pk, "attribution"])
    except Exception:  # the lifecycle app not there yet
        decree = None
    if decree:
        assert decree in detail


def test_another_application_than_the_first_needs_a_reason(client, manager, nimes, gard):
    first = _apply(nimes, gard, "Premier", "CP-1", days_ago=90)
    second = _apply(nimes, gard, "Second", "CP-2", days_ago=30)
    client.force_login(manager)
    url = reverse("waitinglists:attribute", args=[second.pk])
    page = client.get(url).content.decode()
    assert f"la demande n° {first.number}</a>" in page

    data = {"number": "3", "creation_date": timezone.localdate().isoformat(), "attest": "on"}
    refused = client.post(url, data)
    assert "skip_reason" in refused.context["form"].errors
    assert not ADS.objects.exists()

    client.post(url, {**data, "skip_reason": "Le premier a refusé l’ADS par écrit"})
    second.refresh_from_db()
    assert second.state == Application.State.ATTRIBUTED
    assert second.removal_comment == "Le premier a refusé l’ADS par écrit"
    assert Application.objects.get(pk=first.pk).is_active


def test_an_ads_number_taken_is_refused_on_its_field(client, manager, nimes, gard, complete_ads):
    application = _apply(nimes, gard, "Léa Fabre", "CP-1")
    client.force_login(manager)
    url = reverse("waitinglists:attribute", args=[application.pk])
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    taken = client.post(
        url, {"number": complete_ads.number, "creation_date": "2026-01-02", "attest": "on"}
    )
    assert taken.context["form"].errors["number"] == [
        "Ce gestionnaire a déjà une ADS n° 12 : chaque numéro est unique."
    ]
    future = client.post(url, {"number": "40", "creation_date": tomorrow.isoformat()})
    errors = future.context["form"].errors
    assert errors["creation_date"] == ["Cette date ne peut pas être dans le futur."]
    assert "attest" in errors
    old = client.post(url, {"number": "40", "creation_date": "2010-01-01", "attest": "on"})
    assert "1er octobre 2014" in old.context["form"].errors["creation_date"][0]
    assert ADS.objects.count() == 1
    application.refresh_from_db()
    assert application.is_active


def test_an_expired_application_gets_no_ads(client, manager, nimes, gard):
    application = _apply(nimes, gard, "Léa Fabre", "CP-1", days_ago=400)
    client.force_login(manager)
    response = client.get(reverse("waitinglists:attribute", args=[application.pk]), follow=True)
    assert "ne peut pas recevoir d’ADS : elle est expirée" in response.content.decode()
    response = client.post(
        reverse("waitinglists:attribute", args=[application.pk]),
        {"number": "1", "creation_date": "2026-01-02", "attest": "on"},
    )
    assert not ADS.objects.exists()


# --- reminders --------------------------------------------------------------------------


def test_reminders_are_sent_once_by_the_daily_job(
    manager, nimes, gard, today, django_capture_on_commit_callbacks
):
    assert "mesads.waitinglists.daily.send_renewal_reminders" in STEPS
    due = _apply(nimes, gard, "Bientot", "CP-1", days_ago=350, applicant_email="b@example.fr")
    _apply(nimes, gard, "Perimee", "CP-2", days_ago=400, applicant_email="p@example.fr")
    _apply(nimes, gard, "Sans courriel", "CP-3", days_ago=340)
    _apply(nimes, gard, "Valide", "CP-4", days_ago=10, applicant_email="v@example.fr")

    with django_capture_on_commit_callbacks(execute=True):
        summary = send_renewal_reminders(today)
    assert summary.startswith("3 rappel(s)")
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == ["b@example.fr", "gestionnaire@nimes.fr", "p@example.fr"]
    manager_mail = next(m for m in mail.outbox if m.to == ["gestionnaire@nimes.fr"])
    assert f"n° {due.number}, valable jusqu’au" in manager_mail.body
    assert "Demandes expirées" in manager_mail.body
    applicant_mail = next(m for m in mail.outbox if m.to == ["b@example.fr"])
    assert "renouvelez-la auprès de Nîmes" in applicant_mail.body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_renewal_reminders(today).startswith("0 rappel(s)")
    assert mail.outbox == []
    assert Reminder.objects.count() == 3

    # Renewed, the application gets its reminders for its new year, not before.
    due.renewed_at = today
    due.save()
    assert send_renewal_reminders(today).startswith("0 rappel(s)")
    later = today + datetime.timedelta(days=350)
    assert Reminder.objects.filter(application=due).count() == 1
    send_renewal_reminders(later)
    assert Reminder.objects.filter(application=due).count() == 2
