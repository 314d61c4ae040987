"""« S’identifier avec ProConnect », against a real OpenID Connect provider.

The provider is tests/support/oidc/provider.mjs (the npm package oidc-provider), configured like
ProConnect and started on loopback; the tests play the public servant's part at its pages
(tests/support/oidc/harness.py) and Mes ADS talks to it over HTTP, as it would to ProConnect.
"""

import socket
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from mesads.users.middleware import LAST_ACTIVITY_AT
from mesads.users.models import AuthorityAccess, LoginEvent, PrefectureMembership, User
from mesads.users.proconnect import ID_TOKEN_SESSION_KEY
from tests.support.oidc.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    ProviderUser,
    TestProvider,
    skip_reason,
)

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")

CALLBACK = "http://testserver/compte/proconnect/retour/"
LOGOUT_CALLBACK = "http://testserver/compte/proconnect/deconnexion/"


@pytest.fixture(scope="module")
def provider():
    provider = TestProvider([CALLBACK], [LOGOUT_CALLBACK]).start()
    yield provider
    provider.stop()


@pytest.fixture
def proconnect(settings, provider, db):
    """Mes ADS configured against the test provider. (Its discovery document is cached
    in the database cache: each test's transaction forgets it.)"""
    settings.PROCONNECT_CLIENT_ID = CLIENT_ID
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    settings.PROCONNECT_DISCOVERY_URL = provider.discovery_url
    provider.reset()
    yield provider
    provider.reset()


def identity(provider, email: str, **claims) -> str:
    """A person known to the provider; returns their login there (their ``sub``)."""
    sub = f"sub-{uuid.uuid4()}"
    provider.add_account(
        sub,
        email=email,
        given_name=claims.pop("given_name", "Camille"),
        usual_name=claims.pop("usual_name", "Dupont"),
        uid=claims.pop("uid", "cdupont"),
        siret=claims.pop("siret", "21300189000015"),
        **claims,
    )
    return sub


def linked_identity(provider, user: User) -> str:
    """A person known to the provider whose identity is already linked to ``user``."""
    sub = identity(provider, user.email)
    User.objects.filter(pk=user.pk).update(proconnect_sub=sub)
    user.proconnect_sub = sub
    return sub


def start(client, next_url: str | None = None) -> str:
    url = reverse("proconnect:start") + (f"?{urlencode({'next': next_url})}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302, response.content
    return response.url


def back_to_mesads(client, callback_url: str, **extra):
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}", **extra)


def log_in(client, provider, sub: str, **extra):
    """The whole round trip: the button, the provider's login page, back to Mes ADS."""
    authorize_url = start(client)
    return back_to_mesads(client, ProviderUser(provider).sign_in(authorize_url, sub), **extra)


def logged_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- the login page ---------------------------------------------------------------------


def test_the_login_page_offers_proconnect_once_configured(client, proconnect):
    response = client.get(reverse("login") + "?next=/acces/demander/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "S’identifier avec" in content and "ProConnect</span>" in content
    assert f'href="{reverse("proconnect:start")}?next=/acces/demander/"' in content
    assert "Qu’est-ce que ProConnect ?" in content
    assert "users/proconnect.css" in content
    assert "Se connecter avec son adresse électronique" in content  # the password stays
    assert content.count("<h1") == 1


def test_the_authorization_request_is_proconnects(client, proconnect):
    url = urlsplit(start(client))
    params = {key: values[0] for key, values in parse_qs(url.query).items()}

    assert f"{url.scheme}://{url.netloc}" == proconnect.issuer
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert params["scope"] == "openid email given_name usual_name uid siret"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    # The identity provider authenticates again at each Mes ADS login (shared computers).
    assert params["prompt"] == "login"


# --- logging in -------------------------------------------------------------------------


def test_a_manager_logs_in_with_proconnect(client, proconnect, manager):
    sub = identity(proconnect, manager.email)
    manager.proconnect_sub = sub
    manager.save()

    response = log_in(client, proconnect, sub, REMOTE_ADDR="192.0.2.20")

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert logged_in_user(client) == manager
    assert client.session[ID_TOKEN_SESSION_KEY]
    event = LoginEvent.objects.get(kind=LoginEvent.Kind.LOGIN)
    assert event.method == LoginEvent.Method.PROCONNECT
    assert event.user == manager
    assert event.ip_address == "192.0.2.20"
    home = client.get(reverse("home"))
    assert "Se déconnecter" in home.content.decode()


def test_the_login_returns_to_the_page_asked_for(client, proconnect, manager):
    sub = identity(proconnect, manager.email)
    User.objects.filter(pk=manager.pk).update(proconnect_sub=sub)

    authorize_url = start(client, next_url="/acces/demander/")
    response = back_to_mesads(client, ProviderUser(proconnect).sign_in(authorize_url, sub))

    assert response.url == "/acces/demander/"


def test_the_login_never_returns_to_another_site(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)

    authorize_url = start(client, next_url="https://hameconnage.example/mesads/")
    response = back_to_mesads(client, ProviderUser(proconnect).sign_in(authorize_url, sub))

    assert logged_in_user(client) == manager
    assert response.url == reverse("home")


def test_the_account_is_the_one_with_the_sub_whatever_the_address(client, proconnect, manager):
    # Linked earlier; since then the manager changed the address in Mes ADS.
    sub = identity(proconnect, "ancienne.adresse@nimes.fr")
    User.objects.filter(pk=manager.pk).update(proconnect_sub=sub)

    log_in(client, proconnect, sub)

    assert logged_in_user(client) == manager
    manager.refresh_from_db()
    assert manager.email == "gestionnaire@nimes.fr"


def test_an_identity_claiming_a_linked_account_is_refused(client, proconnect, manager):
    linked_identity(proconnect, manager)
    former = manager.proconnect_sub

    # Another ProConnect identity claiming the same address is not linked in its place.
    other = identity(proconnect, manager.email, email_verified=True)
    response = log_in(client, proconnect, other)

    assert logged_in_user(client) is None
    assert response.url == reverse("login")
    assert "déjà associé à une autre identité ProConnect" in " ".join(messages_of(response))
    manager.refresh_from_db()
    assert manager.proconnect_sub == former


def test_an_address_the_provider_says_is_unverified_links_nothing(client, proconnect, manager):
    sub = identity(proconnect, manager.email, email_verified=False)

    response = log_in(client, proconnect, sub)

    assert logged_in_user(client) is None
    assert "n’a pas pu garantir votre adresse électronique" in " ".join(messages_of(response))
    manager.refresh_from_db()
    assert manager.proconnect_sub is None
    failure = LoginEvent.objects.get(kind=LoginEvent.Kind.FAILED)
    assert failure.method == LoginEvent.Method.PROCONNECT
    assert failure.user == manager


def test_an_unverified_address_does_not_open_an_account_either(client, proconnect):
    sub = identity(proconnect, "inconnue@ales.fr", email_verified=False)

    log_in(client, proconnect, sub)

    assert logged_in_user(client) is None
    assert not User.objects.filter(email="inconnue@ales.fr").exists()


def test_a_new_person_gets_an_account_without_any_access(client, proconnect, nimes):
    sub = identity(proconnect, "Nouvelle.Agente@Ales.fr", given_name="Léa", usual_name="Fabre")

    response = log_in(client, proconnect, sub)

    user = User.objects.get(email="nouvelle.agente@ales.fr")
    assert logged_in_user(client) == user
    assert (user.first_name, user.last_name, user.proconnect_sub) == ("Léa", "Fabre", sub)
    assert not user.has_usable_password()
    assert not user.is_staff
    assert not AuthorityAccess.objects.filter(user=user).exists()
    assert not PrefectureMembership.objects.filter(user=user).exists()
    # Straight to asking for access, as anyone without one.
    assert response.url == reverse("access:search")
    page = client.get(response.url)
    assert page.status_code == 200
    assert "votre compte est créé" in page.content.decode()

    # The next login finds the same account.
    client.post(reverse("logout"))
    log_in(client, proconnect, sub)
    assert logged_in_user(client) == user
    assert User.objects.filter(email="nouvelle.agente@ales.fr").count() == 1


def test_a_deactivated_account_cannot_log_in_through_proconnect(client, proconnect, manager):
    sub = identity(proconnect, manager.email)
    User.objects.filter(pk=manager.pk).update(proconnect_sub=sub, is_active=False)

    response = log_in(client, proconnect, sub)

    assert logged_in_user(client) is None
    assert response.url == reverse("login")
    assert "Votre compte Mes ADS est désactivé" in " ".join(messages_of(response))
    failure = LoginEvent.objects.get()
    assert (failure.kind, failure.method, failure.user) == (
        LoginEvent.Kind.FAILED,
        LoginEvent.Method.PROCONNECT,
        manager,
    )


def test_a_deactivated_account_that_was_never_linked_is_not_linked(client, proconnect, manager):
    User.objects.filter(pk=manager.pk).update(is_active=False)
    sub = identity(proconnect, manager.email)

    log_in(client, proconnect, sub)

    assert logged_in_user(client) is None
    manager.refresh_from_db()
    assert manager.proconnect_sub is None


def test_deactivating_an_account_ends_its_proconnect_session(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    log_in(client, proconnect, sub)
    assert client.get(reverse("profile")).status_code == 200

    User.objects.filter(pk=manager.pk).update(is_active=False)

    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- what must be refused ---------------------------------------------------------------


def test_a_callback_with_a_foreign_state_is_refused(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    authorize_url = start(client)
    callback = ProviderUser(proconnect).sign_in(authorize_url, sub)
    parts = urlsplit(callback)
    params = parse_qs(parts.query)
    forged = urlencode({"code": params["code"][0], "state": "x" * 48})

    response = client.get(f"{parts.path}?{forged}")

    assert response.status_code == 302 and response.url == reverse("login")
    assert logged_in_user(client) is None
    assert "n’a pas abouti" in " ".join(messages_of(response))
    failure = LoginEvent.objects.get()
    assert (failure.kind, failure.method) == (LoginEvent.Kind.FAILED, LoginEvent.Method.PROCONNECT)


def test_a_response_naming_another_issuer_is_refused(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    callback = urlsplit(ProviderUser(proconnect).sign_in(start(client), sub))
    params = {key: values[0] for key, values in parse_qs(callback.query).items()}
    assert params["iss"] == proconnect.issuer  # RFC 9207, sent by the provider
    params["iss"] = "https://fournisseur.example"

    client.get(f"{callback.path}?{urlencode(params)}")

    assert logged_in_user(client) is None


def test_a_callback_cannot_be_replayed(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    callback = ProviderUser(proconnect).sign_in(start(client), sub)
    back_to_mesads(client, callback)
    assert logged_in_user(client) == manager
    client.post(reverse("logout"))

    back_to_mesads(client, callback)

    assert logged_in_user(client) is None


def test_a_login_from_another_browser_is_refused(client, proconnect, manager):
    """The state is tied to the session that started the login: a callback URL sent to
    someone else (login CSRF) logs nobody in there."""
    sub = linked_identity(proconnect, manager)
    callback = ProviderUser(proconnect).sign_in(start(client), sub)
    client.cookies.clear()

    back_to_mesads(client, callback)

    assert logged_in_user(client) is None


def test_an_id_token_with_another_nonce_is_refused(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    authorize = urlsplit(start(client))
    params = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    params["nonce"] = "n" * 48  # what a replayed or injected authorization would carry
    tampered = urlunsplit(authorize._replace(query=urlencode(params)))

    response = back_to_mesads(client, ProviderUser(proconnect).sign_in(tampered, sub))

    assert response.url == reverse("login")
    assert logged_in_user(client) is None
    assert LoginEvent.objects.get().kind == LoginEvent.Kind.FAILED


def test_a_tampered_id_token_is_refused(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    proconnect.set_id_token_mode("tamper")

    response = log_in(client, proconnect, sub)

    assert response.url == reverse("login")
    assert logged_in_user(client) is None
    assert LoginEvent.objects.get().kind == LoginEvent.Kind.FAILED


def test_a_tampered_userinfo_is_refused(client, proconnect, manager, staff):
    # Someone who could alter the userinfo in transit would claim national staff's address.
    sub = identity(proconnect, "quelquun@ales.fr")
    proconnect.set_id_token_mode("tamper-userinfo")

    response = log_in(client, proconnect, sub)

    assert response.url == reverse("login")
    assert logged_in_user(client) is None
    staff.refresh_from_db()
    assert staff.proconnect_sub is None


def test_a_userinfo_about_someone_else_is_refused(client, proconnect, manager):
    # Signed by the provider, but for another subject than the ID token's: an access token
    # of someone else passed off with this login.
    sub = identity(proconnect, manager.email)
    proconnect.set_id_token_mode("userinfo-other-sub")

    response = log_in(client, proconnect, sub)

    assert response.url == reverse("login")
    assert logged_in_user(client) is None
    manager.refresh_from_db()
    assert manager.proconnect_sub is None


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param("userinfo-unsigned", id="an unsigned userinfo"),
        pytest.param("other-audience", id="an ID token for another service"),
        pytest.param("expire", id="an expired ID token"),
    ],
)
def test_a_token_that_does_not_prove_the_identity_is_refused(client, proconnect, manager, mode):
    sub = linked_identity(proconnect, manager)
    proconnect.set_id_token_mode(mode)

    response = log_in(client, proconnect, sub)

    assert response.url == reverse("login")
    assert logged_in_user(client) is None


def test_a_silent_provider_is_given_up_on_and_said_so(client, settings, db):
    settings.PROCONNECT_CLIENT_ID = CLIENT_ID
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    settings.PROCONNECT_TIMEOUT = 0.5
    # A loopback socket that accepts connections and never answers.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        settings.PROCONNECT_DISCOVERY_URL = (
            f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        )

        client.get(reverse("login"))  # the first request of a process imports every view
        started = time.monotonic()
        response = client.get(reverse("proconnect:start"))
        elapsed = time.monotonic() - started

    # The timeout (0.5 s), plus a redirection's own time on a busy test machine: a generous
    # ceiling; without the timeout the request would wait for as long as the socket stays
    # open, i.e. forever.
    assert elapsed < 10
    assert response.status_code == 302 and response.url == reverse("login")
    assert "ProConnect ne répond pas" in " ".join(messages_of(response))


def test_a_discovery_document_speaking_for_another_issuer_is_refused(client, settings, proconnect):
    # Asked of "localhost", the provider answers that it is "127.0.0.1": tokens would be
    # checked against an issuer other than the one configured.
    settings.PROCONNECT_DISCOVERY_URL = proconnect.discovery_url.replace("127.0.0.1", "localhost")

    response = client.get(reverse("proconnect:start"))

    assert response.url == reverse("login")
    assert "ProConnect ne répond pas" in " ".join(messages_of(response))


# --- logout, lockout, audit, timeouts ---------------------------------------------------


def test_logging_out_ends_the_proconnect_session_too(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    person = ProviderUser(proconnect)
    back_to_mesads(client, person.sign_in(start(client), sub))
    id_token = client.session[ID_TOKEN_SESSION_KEY]

    response = client.post(reverse("logout"))

    # Logged out of Mes ADS at once, then sent to the provider's end of session.
    assert logged_in_user(client) is None
    end_session = urlsplit(response.url)
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == (
        f"{proconnect.issuer}/session/end"
    )
    params = {key: values[0] for key, values in parse_qs(end_session.query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == LOGOUT_CALLBACK
    assert len(params["state"]) >= 32

    back = person.sign_out(response.url)

    assert back == f"{LOGOUT_CALLBACK}?{urlencode({'state': params['state']})}"
    assert proconnect.end_session_requests() == [
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": LOGOUT_CALLBACK,
            "state": params["state"],
        }
    ]
    response = client.get(back)
    assert response.url == reverse("home")
    assert "déconnecté de Mes ADS et de ProConnect" in " ".join(messages_of(response))
    logout = LoginEvent.objects.get(kind=LoginEvent.Kind.LOGOUT)
    assert (logout.user, logout.method) == (manager, LoginEvent.Method.PROCONNECT)

    # The provider's session is over: the next login asks who you are again.
    person.login_pages_seen = 0
    back_to_mesads(client, person.sign_in(start(client), sub))
    assert person.login_pages_seen == 1


def test_a_password_session_logs_out_as_before(client, proconnect, manager):
    client.post(reverse("login"), {"username": manager.email, "password": "mot-de-passe-de-test"})

    response = client.post(reverse("logout"))

    assert response.url == reverse("home")
    assert proconnect.end_session_requests() == []
    methods = set(LoginEvent.objects.values_list("method", flat=True))
    assert methods == {LoginEvent.Method.PASSWORD}


def test_a_locked_out_address_cannot_log_in_through_proconnect(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": manager.email, "password": "pas-le-bon"})

    response = log_in(client, proconnect, sub)

    assert response.status_code == 429
    assert logged_in_user(client) is None
    last = LoginEvent.objects.order_by("-pk").first()
    assert (last.kind, last.method, last.user) == (
        LoginEvent.Kind.FAILED,
        LoginEvent.Method.PROCONNECT,
        manager,
    )


def test_failed_proconnect_logins_count_towards_the_lockout(client, proconnect, manager):
    sub = identity(proconnect, manager.email)
    User.objects.filter(pk=manager.pk).update(proconnect_sub=sub, is_active=False)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, proconnect, sub)
    User.objects.filter(pk=manager.pk).update(is_active=True)

    # One wrong password more reaches the limit, for the password as for ProConnect.
    client.post(reverse("login"), {"username": manager.email, "password": "pas-le-bon"})

    assert log_in(client, proconnect, sub).status_code == 429


def test_the_session_timeouts_apply_to_proconnect_logins(client, proconnect, manager):
    sub = linked_identity(proconnect, manager)
    log_in(client, proconnect, sub)
    session = client.session
    session[LAST_ACTIVITY_AT] = time.time() - settings.SESSION_IDLE_TIMEOUT - 1
    session.save()

    response = client.get(reverse("profile"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert logged_in_user(client) is None
