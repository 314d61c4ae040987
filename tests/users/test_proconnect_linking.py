"""No account taken over through ProConnect (OPERATIONS.md, review of 2026-12-07, M1 and
L6), against the real OpenID Connect provider of tests/support/oidc/provider.mjs.

A new ProConnect identity whose e-mail claim is an existing account's address is never
linked by the claim alone: the person types that account's password once, and the owner
is told by e-mail; accounts with extended rights are never linked this way; a look-alike
address opens no account. National staff see every link and every refusal in the admin.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from mesads.users.models import LoginEvent, ProConnectLink, User
from mesads.users.proconnect import ID_TOKEN_SESSION_KEY
from tests.support.oidc.harness import ProviderUser, skip_reason
from tests.users import test_proconnect
from tests.users.test_proconnect import (
    back_to_mesads,
    identity,
    log_in,
    logged_in_user,
    messages_of,
    start,
)

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

# The provider (one per module) and Mes ADS configured against it.
provider = test_proconnect.provider
proconnect = test_proconnect.proconnect

PASSWORD = "mot-de-passe-de-test"
CONFIRM = "/compte/proconnect/associer/"
# ProConnect sends no email_verified; another provider of the federation may send true.
VERIFIED = [pytest.param({}, id="no email_verified"), pytest.param({"email_verified": True})]


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("equipe-nationale@transports.gouv.fr", PASSWORD)


def sign_in_at_provider(client, idp, sub: str, next_url: str | None = None):
    return back_to_mesads(client, ProviderUser(idp).sign_in(start(client, next_url), sub))


def admin_page(user: User, staff: User) -> str:
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("admin:users_user_change", args=[user.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- an ordinary manager: linked once the password is typed ------------------------------


@pytest.mark.parametrize("claims", VERIFIED)
def test_a_managers_address_is_linked_only_once_the_password_is_typed(
    client, proconnect, manager, staff, mailoutbox, django_capture_on_commit_callbacks, claims
):
    sub = identity(proconnect, manager.email, siret="21300189000015", **claims)

    response = sign_in_at_provider(client, proconnect, sub, next_url="/acces/demander/")

    # Before the owner's confirmation: nobody logged in, nothing linked, nobody told.
    assert response.status_code == 302 and response.url == CONFIRM
    assert logged_in_user(client) is None
    manager.refresh_from_db()
    assert manager.proconnect_sub is None
    assert not ProConnectLink.objects.exists()
    page = client.get(CONFIRM)
    assert page.status_code == 200
    content = page.content.decode()
    assert content.count("<h1") == 1 and "Associer votre compte à ProConnect" in content
    assert manager.email in content
    assert 'for="id_current_password"' in content  # a labelled field

    # A wrong password links nothing and counts as a failed login of the account.
    page = client.post(CONFIRM, {"current_password": "pas-le-bon"})
    assert page.status_code == 200
    assert "incorrect" in page.content.decode()
    manager.refresh_from_db()
    assert manager.proconnect_sub is None
    assert LoginEvent.objects.get(kind=LoginEvent.Kind.FAILED).user == manager

    # After the owner's confirmation: linked, logged in, told by e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CONFIRM, {"current_password": PASSWORD})
    assert response.status_code == 302 and response.url == "/acces/demander/"
    assert logged_in_user(client) == manager
    assert client.session[ID_TOKEN_SESSION_KEY]
    manager.refresh_from_db()
    assert manager.proconnect_sub == sub
    login = LoginEvent.objects.get(kind=LoginEvent.Kind.LOGIN)
    assert (login.user, login.method) == (manager, LoginEvent.Method.PROCONNECT)
    [mail] = mailoutbox
    assert mail.to == [manager.email]
    assert mail.subject == "[Mes ADS] Votre compte est désormais associé à ProConnect"
    assert "21300189000015" in mail.body and "prévenez sans attendre" in mail.body
    link = ProConnectLink.objects.get()
    assert (link.outcome, link.user, link.sub) == (ProConnectLink.Outcome.CONFIRMED, manager, sub)

    # National staff see the link in the admin, on the account and in the list.
    assert sub in admin_page(manager, staff)
    staff_client = Client()
    staff_client.force_login(staff)
    listing = staff_client.get(reverse("admin:users_proconnectlink_changelist"))
    assert listing.status_code == 200 and manager.email in listing.content.decode()

    # The next login is by the subject, with no password asked.
    client.post(reverse("logout"))
    assert sign_in_at_provider(client, proconnect, sub).url == reverse("home")
    assert logged_in_user(client) == manager


def test_the_confirmation_belongs_to_the_browser_that_came_back(client, proconnect, manager):
    """The owner cannot be tricked into confirming someone else's pending identity: the
    pending link lives in the session of the browser that came back from ProConnect."""
    sub = identity(proconnect, manager.email)
    assert sign_in_at_provider(client, proconnect, sub).url == CONFIRM

    owner = Client()
    response = owner.post(CONFIRM, {"current_password": PASSWORD})

    assert response.status_code == 302 and response.url == reverse("login")
    manager.refresh_from_db()
    assert manager.proconnect_sub is None


def test_the_confirmation_is_locked_out_like_the_login(client, proconnect, manager):
    sub = identity(proconnect, manager.email)
    sign_in_at_provider(client, proconnect, sub)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(CONFIRM, {"current_password": "pas-le-bon"})

    response = client.post(CONFIRM, {"current_password": PASSWORD})

    assert response.status_code == 429
    manager.refresh_from_db()
    assert manager.proconnect_sub is None


# --- accounts with extended rights: never linked by the person alone ---------------------


@pytest.mark.parametrize("claims", VERIFIED)
@pytest.mark.parametrize("holder", ["staff", "superuser", "prefecture_agent", "inspector"])
def test_an_account_with_extended_rights_is_never_linked_by_its_address(
    client, proconnect, request, mailoutbox, holder, claims
):
    """M1: a new subject claiming national staff's address, login started with
    ?next=/admin/, was linked to the superuser account and opened the admin."""
    account = request.getfixturevalue(holder)
    sub = identity(proconnect, account.email, **claims)

    response = sign_in_at_provider(client, proconnect, sub, next_url="/admin/")

    assert response.status_code == 302 and response.url == reverse("login")
    assert "droits étendus" in " ".join(messages_of(response))
    assert logged_in_user(client) is None
    account.refresh_from_db()
    assert account.proconnect_sub is None
    assert client.get("/admin/").status_code == 302  # to the admin's login
    # Even with the account's password, there is no page to link it from.
    assert client.post(CONFIRM, {"current_password": PASSWORD}).url == reverse("login")
    account.refresh_from_db()
    assert account.proconnect_sub is None
    # Recorded for national staff; no mail about a link that was not made.
    refusal = ProConnectLink.objects.get()
    assert (refusal.outcome, refusal.user, refusal.sub) == (
        ProConnectLink.Outcome.REFUSED_RIGHTS,
        account,
        sub,
    )
    assert mailoutbox == []


def test_national_staff_link_a_staff_account_in_the_admin_and_its_owner_is_told(
    client, proconnect, staff, superuser, mailoutbox, django_capture_on_commit_callbacks
):
    sub = identity(proconnect, staff.email)
    sign_in_at_provider(client, proconnect, sub)  # refused, recorded with its subject
    assert ProConnectLink.objects.get().sub == sub

    admin = Client()
    admin.force_login(superuser)
    url = reverse("admin:users_user_change", args=[staff.pk])
    form = admin.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "proconnect_sub": sub,
            "date_joined_0": staff.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": staff.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
            "proconnect_links-TOTAL_FORMS": "1",
            "proconnect_links-INITIAL_FORMS": "1",
            "proconnect_links-0-id": str(ProConnectLink.objects.get().pk),
            "proconnect_links-0-user": str(staff.pk),
        }
    )
    data = {k: v for k, v in data.items() if k not in {"last_login", "date_joined", "password"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    staff.refresh_from_db()
    assert staff.proconnect_sub == sub
    link = ProConnectLink.objects.get(outcome=ProConnectLink.Outcome.BY_STAFF)
    assert (link.user, link.by) == (staff, superuser)
    [mail] = mailoutbox
    assert mail.to == [staff.email] and "par l’équipe nationale" in mail.body
    # From now on, that identity opens the account.
    assert sign_in_at_provider(client, proconnect, sub).url == reverse("home")
    assert logged_in_user(client) == staff


# --- look-alike addresses (L6) ------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    [
        pytest.param("equıpe-nationale@transports.gouv.fr", id="dotless i"),
        pytest.param("\u0435quipe-nationale@transports.gouv.fr", id="cyrillic e"),
        pytest.param("equipe-nationa1e@transports.gouv.fr", id="digit one for l"),
    ],
)
def test_a_look_alike_address_opens_no_account(client, proconnect, superuser, staff, lookalike):
    sub = identity(proconnect, lookalike, email_verified=True)

    response = log_in(client, proconnect, sub)

    assert logged_in_user(client) is None
    assert response.url == reverse("login")
    assert "ressemble trop à celle d’un autre compte" in " ".join(messages_of(response))
    assert set(User.objects.values_list("email", flat=True)) == {superuser.email, staff.email}
    refusal = ProConnectLink.objects.get()
    assert (refusal.outcome, refusal.user) == (ProConnectLink.Outcome.REFUSED_LOOKALIKE, superuser)
    assert lookalike in admin_page(superuser, staff)
