"""An owner's story: sign up, confirm, declare the company, register a vehicle, get its
number and receipt, edit, withdraw; invite a colleague; never reach another owner's."""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from mesads.relais.models import Invitation, Membership, Owner, Vehicle
from mesads.users.models import User

from .conftest import VALID_SIRET


# ``mailoutbox`` comes last in a test's fixtures: set up before the database, its list
# would be replaced by the test case's own.
@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Mails leave once the transaction commits: run those callbacks in the test."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _signup(client, email="nouveau@taxis.fr", **extra):
    return client.post(
        reverse("relais:signup"),
        {
            "email": email,
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
        **extra,
    )


def test_signup_confirmed_by_email(client, gard, nimes, on_commit, mailoutbox):
    with on_commit():
        response = _signup(client)
    assert response.status_code == 302 and response.url == reverse("relais:signup_sent")
    user = User.objects.get(email="nouveau@taxis.fr")
    assert not user.is_active  # nothing until the address is confirmed
    [mail] = mailoutbox
    link = re.search(r"https?://\S+/taxis-relais/inscription/confirmer/\S+/", mail.body).group(0)
    assert "Activer votre compte" in client.get(link).content.decode()
    user.refresh_from_db()
    assert not user.is_active  # opening the link is not enough
    # The link proves the mailbox, the password the person who chose it.
    response = client.post(link, {"password": "pas-le-bon-mot-de-passe"})
    assert "Ce n’est pas le mot de passe choisi" in response.content.decode()
    response = client.post(link, {"password": "un-mot-de-passe-solide"})
    assert response.status_code == 302 and response.url == reverse("relais:space")
    user.refresh_from_db()
    assert user.is_active
    # The link works once.
    client.logout()
    assert client.get(link).status_code == 400
    # The confirmed owner declares the company, then a vehicle.
    client.force_login(user)
    response = client.post(
        reverse("relais:owner_create"),
        {
            "name": "Taxis Nouveaux",
            "siret": "732 829 320 00074",
            "address": "3 rue Neuve, 30000 Nîmes",
            "phone": "04 66 11 22 33",
            "email": "contact@nouveaux.fr",
        },
    )
    owner = Owner.objects.get(name="Taxis Nouveaux")
    assert response.url == reverse("relais:owner", args=[owner.pk])
    assert owner.siret == VALID_SIRET and owner.phone == "0466112233"
    response = client.post(
        reverse("relais:vehicle_create", args=[owner.pk]),
        {
            "departement": gard.pk,
            "plate": "gh 321 jk",
            "make": "Skoda",
            "model": "Superb",
            "engine": "hybride",
            "first_registration_date": "2023-05-02",
            "seats": "4",
            "wheelchair_accessible": "on",
            "commune_code": "30189",
        },
        follow=True,
    )
    vehicle = Vehicle.objects.get(owner=owner)
    assert (vehicle.number, vehicle.plate, vehicle.commune.name) == ("30-01", "GH-321-JK", "Nîmes")
    assert "inscrit sous le numéro 30-01" in response.content.decode()


def test_signup_refuses_bad_siret_and_foreign_commune(client, owner_a, gard, montpellier):
    user, owner = owner_a
    client.force_login(user)
    response = client.post(
        reverse("relais:owner_create"),
        {
            "name": "X",
            "siret": "73282932000075",
            "address": "a",
            "phone": "0466000000",
            "email": "a@b.fr",
        },
    )
    assert "clé de contrôle" in response.content.decode()
    response = client.post(
        reverse("relais:vehicle_create", args=[owner.pk]),
        {
            "departement": gard.pk,
            "plate": "GH-321-JK",
            "make": "Skoda",
            "model": "Superb",
            "engine": "hybride",
            "first_registration_date": "2023-05-02",
            "seats": "4",
            "commune_code": "34172",  # Montpellier, in the Hérault
        },
    )
    assert response.status_code == 200
    assert "Aucune commune de ce département" in response.content.decode()
    assert not Vehicle.objects.exists()


def test_signup_of_an_existing_address_reveals_nothing(client, owner_a, on_commit, mailoutbox):
    user, _ = owner_a
    with on_commit():
        response = _signup(client, user.email)
    assert response.status_code == 302 and response.url == reverse("relais:signup_sent")
    [mail] = mailoutbox
    assert "déjà un compte" in mail.subject
    user.refresh_from_db()
    assert user.check_password("mot-de-passe-de-test")  # untouched


def test_signup_rate_limited_per_address_and_per_client(client, settings, db):
    settings.RELAIS_SIGNUP_LIMIT_PER_ADDRESS = 2
    settings.RELAIS_SIGNUP_LIMIT_PER_CLIENT = 3
    assert _signup(client, "a@x.fr").status_code == 302
    assert _signup(client, "a@x.fr").status_code == 302
    response = _signup(client, "a@x.fr")
    assert response.status_code == 429
    assert "Trop de demandes" in response.content.decode()
    # Another address from the same client: the client's limit (3) is reached.
    assert _signup(client, "b@x.fr").status_code == 429
    # Another client may still sign up.
    assert _signup(client, "c@x.fr", REMOTE_ADDR="10.0.0.9").status_code == 302
    assert User.objects.filter(email__in=["a@x.fr", "b@x.fr", "c@x.fr"]).count() == 2


def test_receipt_pdf_read_back(client, owner_a, vehicle_a):
    user, owner = owner_a
    client.force_login(user)
    response = client.get(reverse("relais:vehicle_receipt", args=[vehicle_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "TAXI RELAIS n° 30-01" in text
    assert "AB-123-CD" in text and "Taxis A" in text and "30 – Gard" in text.replace("-", "–")
    # No receipt once withdrawn.
    client.post(reverse("relais:vehicle_withdraw", args=[vehicle_a.pk]), {"reason": "vendu"})
    response = client.get(reverse("relais:vehicle_receipt", args=[vehicle_a.pk]))
    assert response.status_code == 409
    assert "aucun récépissé" in response.content.decode()


def test_edit_keeps_number_and_plate_and_history_tells(client, owner_a, vehicle_a):
    user, _ = owner_a
    client.force_login(user)
    response = client.post(
        reverse("relais:vehicle_edit", args=[vehicle_a.pk]),
        {
            "departement": vehicle_a.departement_id + 1000,  # disabled: ignored
            "plate": "ZZ-999-ZZ",  # disabled: ignored
            "make": "Toyota",
            "model": "Corolla Touring",
            "engine": "hybride",
            "first_registration_date": "2022-03-01",
            "seats": "5",
            "commune_code": "30189",
        },
    )
    assert response.status_code == 302
    vehicle_a.refresh_from_db()
    assert (vehicle_a.number, vehicle_a.plate, vehicle_a.model, vehicle_a.seats) == (
        "30-01",
        "AB-123-CD",
        "Corolla Touring",
        5,
    )
    page = client.get(reverse("relais:vehicle", args=[vehicle_a.pk])).content.decode()
    assert "Modification (gerant@taxis-a.fr)" in page
    assert "Inscription au registre (gerant@taxis-a.fr)" in page


def test_withdraw_confirms_then_acts(client, owner_a, vehicle_a):
    user, _ = owner_a
    client.force_login(user)
    url = reverse("relais:vehicle_withdraw", args=[vehicle_a.pk])
    assert "Son numéro ne sera jamais attribué" in client.get(url).content.decode()
    vehicle_a.refresh_from_db()
    assert vehicle_a.status == Vehicle.Status.ACTIVE  # GET changed nothing
    client.post(url, {"reason": "vendu"})
    vehicle_a.refresh_from_db()
    assert (vehicle_a.status, vehicle_a.number) == (Vehicle.Status.WITHDRAWN, "30-01")
    # A withdrawn vehicle is no longer edited.
    assert client.get(reverse("relais:vehicle_edit", args=[vehicle_a.pk])).status_code == 403


def test_owner_a_never_reaches_owner_b(client, owner_a, owner_b, vehicle_b):
    user_a, _ = owner_a
    _, owner_b_company = owner_b
    client.force_login(user_a)
    for url in (
        reverse("relais:owner", args=[owner_b_company.pk]),
        reverse("relais:owner_edit", args=[owner_b_company.pk]),
        reverse("relais:vehicle_create", args=[owner_b_company.pk]),
        reverse("relais:vehicle", args=[vehicle_b.pk]),
        reverse("relais:vehicle_edit", args=[vehicle_b.pk]),
        reverse("relais:vehicle_receipt", args=[vehicle_b.pk]),
        reverse("relais:use_create", args=[vehicle_b.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("relais:vehicle_withdraw", args=[vehicle_b.pk]), {"reason": "x"})
    assert response.status_code == 404
    vehicle_b.refresh_from_db()
    assert vehicle_b.status == Vehicle.Status.ACTIVE
    # Nor sees it in its space.
    assert "Garage B" not in client.get(reverse("relais:space")).content.decode()


def test_invitation_gives_a_second_manager(client, owner_a, owner_b, on_commit, mailoutbox):
    user_a, owner = owner_a
    user_b, _ = owner_b
    client.force_login(user_a)
    with on_commit():
        client.post(reverse("relais:owner_invite", args=[owner.pk]), {"email": "Garage@B.fr"})
    [mail] = mailoutbox
    assert mail.to == ["garage@b.fr"] and "Taxis A" in mail.subject
    invitation = Invitation.objects.get()
    # Someone else cannot accept it.
    client.force_login(User.objects.create_user("intrus@x.fr", "mot-de-passe-de-test"))
    assert client.post(reverse("relais:invitation_accept", args=[invitation.pk])).status_code == 404
    client.force_login(user_b)
    assert "Invitation de Taxis A" in client.get(reverse("relais:space")).content.decode()
    client.post(reverse("relais:invitation_accept", args=[invitation.pk]))
    assert Membership.objects.filter(owner=owner, user=user_b).exists()
    assert client.get(reverse("relais:owner", args=[owner.pk])).status_code == 200
