"""End-to-end: a public servant signs in with ProConnect in a real browser (Debian's
Chromium), at a real OpenID Connect provider started on loopback (tests/support/oidc)."""

import copy
import os

import pytest
from django.core.cache import cache

from mesads.users.models import LoginEvent, User
from tests.support.browser import CHROMIUM
from tests.support.oidc.harness import CLIENT_ID, CLIENT_SECRET, TestProvider, skip_reason

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]


@pytest.fixture
def provider(live_server, settings):
    provider = TestProvider(
        [f"{live_server.url}/compte/proconnect/retour/"],
        [f"{live_server.url}/compte/proconnect/deconnexion/"],
    ).start()
    settings.PROCONNECT_CLIENT_ID = CLIENT_ID
    settings.PROCONNECT_CLIENT_SECRET = CLIENT_SECRET
    settings.PROCONNECT_DISCOVERY_URL = provider.discovery_url
    # What settings.py adds to form-action when PROCONNECT_DISCOVERY_URL is set: the logout
    # form ends with a redirection to the provider.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(provider.issuer)
    settings.CONTENT_SECURITY_POLICY = policy
    yield provider
    provider.stop()
    cache.clear()  # the discovery document, cached in the database (not rolled back here)


@pytest.mark.django_db(transaction=True)
def test_a_manager_signs_in_with_proconnect_and_out_again(page, provider, manager):
    provider.add_account(
        "sub-camille-e2e",
        email=manager.email,
        given_name="Camille",
        usual_name="Dupont",
        uid="cdupont",
        siret="21300189000015",
    )
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    page.goto("/compte/connexion/")
    button = page.get_by_role("link", name="S’identifier avec ProConnect")
    button.wait_for()
    # Drawn by our own stylesheet: ProConnect's dark blue, white text.
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(0, 0, 145)"
    page.screenshot(path=os.environ.get("E2E_PROCONNECT_SCREENSHOT", "/tmp/mesads-proconnect.png"))
    button.click()

    # The provider's login page.
    page.get_by_label("Identifiant").fill("sub-camille-e2e")
    page.get_by_role("button", name="Se connecter").click()

    # Back on Mes ADS: an account has this address, so its password is asked once.
    page.get_by_role("heading", name="Associer votre compte à ProConnect").wait_for()
    assert User.objects.get(pk=manager.pk).proconnect_sub is None
    page.get_by_label("Mot de passe de votre compte Mes ADS").fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Associer mon compte").click()

    # Logged in; the account is now linked to the ProConnect identity.
    page.get_by_role("button", name="Se déconnecter").wait_for()
    assert page.url == f"{site_origin(page)}/"
    assert "désormais associé à ProConnect" in page.content()
    assert User.objects.get(pk=manager.pk).proconnect_sub == "sub-camille-e2e"
    assert LoginEvent.objects.get(kind="login").method == LoginEvent.Method.PROCONNECT

    # Logging out goes through the provider's end of session and back to the home page.
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("button", name="Se déconnecter").click()  # the provider's confirmation
    page.get_by_text("Vous êtes déconnecté de Mes ADS et de ProConnect.").wait_for()
    assert page.url == f"{site_origin(page)}/"
    assert [hit["id_token_hint"] is not None for hit in provider.end_session_requests()] == [True]
    assert not [error for error in errors if "Content Security Policy" in error]


def site_origin(page) -> str:
    """The live server's address, as the page sees it."""
    return page.evaluate("location.origin")
