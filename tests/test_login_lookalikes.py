"""One normalisation of the e-mail for the lockout and the login (OPERATIONS.md #2), and
X-Forwarded-For ignored without a configured proxy (#13)."""

import pytest
from django.contrib.auth import SESSION_KEY

from mesads.users.models import User
from mesads.users.views import lockout_key

from .test_auth import PASSWORD, fail_until_locked, log_in

LOOK_ALIKES = [
    "gestıonnaire-ales@demo.mesads.fr",  # dotless ı: PostgreSQL's UPPER() makes it "I"
    "geſtionnaire-ales@demo.mesads.fr",  # long s: NFKC makes it "s"
    "gestionnaire-ales@demo.meſads.fr",
    "ｇestionnaire-ales@demo.mesads.fr",  # fullwidth g
]


@pytest.fixture
def ales_manager(db):
    return User.objects.create_user("gestionnaire-ales@demo.mesads.fr", PASSWORD)


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_a_look_alike_spelling_never_logs_in_to_the_real_account(client, ales_manager, spelling):
    response = log_in(client, spelling, PASSWORD)
    assert client.session.get(SESSION_KEY) is None
    assert response.status_code in (200, 429)


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_a_look_alike_spelling_gets_no_fresh_quota_after_a_lockout(client, ales_manager, spelling):
    assert fail_until_locked(client, ales_manager.email).status_code == 429
    response = log_in(client, spelling, PASSWORD)
    assert client.session.get(SESSION_KEY) is None
    # Locked out, or refused by the form as an invalid address before any password check.
    assert response.status_code == 429 or "ｇ" in spelling
    # And the real spelling is still locked.
    assert log_in(client, ales_manager.email, PASSWORD).status_code == 429


def test_the_lookup_refuses_what_normalisation_would_change():
    assert User.objects.is_canonical_email("Marie.Dupont@Mairie.fr")
    assert lockout_key("gestıonnaire@mairie.fr") == "gestionnaire@mairie.fr"
    assert User.objects.normalize_email("geſtionnaire@mairie.fr") == "gestionnaire@mairie.fr"


def test_without_a_configured_proxy_x_forwarded_for_gives_no_fresh_quota(
    client, ales_manager, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(
            client, ales_manager.email, "wrong-password", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}"
        )
    response = log_in(client, ales_manager.email, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    assert client.session.get(SESSION_KEY) is None


def test_production_trusts_no_proxy_unless_told(settings):
    from .test_settings import production, read_values

    assert read_values(["TRUSTED_PROXY_COUNT"], **production()) == {"TRUSTED_PROXY_COUNT": 0}
    told = read_values(["TRUSTED_PROXY_COUNT"], **production(TRUSTED_PROXY_COUNT="1"))
    assert told == {"TRUSTED_PROXY_COUNT": 1}
