"""A manager corrects an application while the list changes under them: the edit waits
for a registration in progress on the same list (the authority's row is locked, as the
registration and the import lock it), and a card number taken meanwhile is told on its
field in French, with nothing written, instead of an error page."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from mesads.waitinglists.models import CARD_TAKEN, NUMBER_TAKEN, Application
from mesads.waitinglists.services import create_application
from mesads.waitinglists.views import applications as views
from tests.support.concurrency import needs_postgresql, waiting_on_a_lock

pytestmark = pytest.mark.django_db


def _apply(authority, departement, name: str, card: str, number: str) -> Application:
    application = Application(
        authority=authority,
        number=number,
        applicant_name=name,
        card_number=card,
        card_departement=departement,
        registered_at=timezone.now() - datetime.timedelta(days=10),
    )
    application.save()
    return application


def _edit_form(application: Application, **changes) -> dict[str, str]:
    data = {
        "number": application.number,
        "registered_at": timezone.localtime(application.registered_at).strftime("%Y-%m-%dT%H:%M"),
        "applicant_name": application.applicant_name,
        "applicant_email": "",
        "applicant_phone": "",
        "applicant_address": "",
        "card_number": application.card_number,
        "card_departement": application.card_departement_id,
        "card_date": "",
        "renewed_at": "",
        "comment": "",
        **changes,
    }
    return data


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("card_number", "CP 30 9999", CARD_TAKEN.format(card="CP 30 9999")),
        ("number", "99", NUMBER_TAKEN.format(number="99")),
    ],
)
def test_a_card_or_number_taken_between_the_check_and_the_save_is_told_on_its_field(
    client, manager, nimes, gard, monkeypatch, field, typed, message
):
    application = _apply(nimes, gard, "Léa Fabre", "CP-30-1234", "1")
    versions = Version.objects.get_for_object(application).count()
    real = views.update_application

    def another_registration_meanwhile(*args, **kwargs):
        # Checked free by the form; registered by someone else before this save.
        _apply(nimes, gard, "Paul Roux", "CP309999", "99")
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "update_application", another_registration_meanwhile)
    client.force_login(manager)

    response = client.post(
        reverse("waitinglists:edit", args=[application.pk]),
        _edit_form(application, **{field: typed}),
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    application.refresh_from_db()
    assert (application.card_number, application.number) == ("CP-30-1234", "1")
    assert Version.objects.get_for_object(application).count() == versions


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_edit_waits_for_a_registration_in_progress_on_the_same_list(
    client, manager, nimes, gard
):
    application = _apply(nimes, gard, "Léa Fabre", "CP-30-1234", "1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [edit_pid] = cursor.fetchone()
    registering, edit_done = threading.Event(), threading.Event()
    edit_waited: list[bool] = []
    failed: list[BaseException] = []

    def registration() -> None:
        try:
            with transaction.atomic():
                other = Application(
                    authority=nimes,
                    applicant_name="Paul Roux",
                    card_number="CP-30-9999",
                    card_departement=gard,
                    registered_at=timezone.now(),
                )
                create_application(other, manager)
                # Not committed yet: the list's row stays locked until the edit waits on it.
                registering.set()
                deadline = time.monotonic() + 30
                while not (waiting_on_a_lock(edit_pid) or edit_done.is_set()):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                edit_waited.append(waiting_on_a_lock(edit_pid))
        except BaseException as error:  # reported by the test's thread
            failed.append(error)
            registering.set()
        finally:
            connection.close()

    client.force_login(manager)
    thread = threading.Thread(target=registration)
    thread.start()
    try:
        assert registering.wait(30)
        response = client.post(
            reverse("waitinglists:edit", args=[application.pk]),
            _edit_form(application, card_number="CP-30-5555"),
        )
        edit_done.set()
    finally:
        thread.join(60)
    assert not failed, failed

    assert edit_waited == [True]
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.card_number == "CP-30-5555"
    assert Application.objects.filter(authority=nimes).count() == 2
