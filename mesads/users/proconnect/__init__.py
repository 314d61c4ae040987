"""« S’identifier avec ProConnect »: the French State's OpenID Connect federation for
public servants, beside the e-mail + password login.

- ``provider``: the provider's discovery document (endpoints, keys), fetched and cached.
- ``backend``: the protocol (token, ID token and signed userinfo, all verified) on top of
  mozilla-django-oidc, and the authentication backend that turns verified claims into a
  Mes ADS account.
- ``accounts``: which account a ProConnect identity is (by ``sub``; else an existing
  account with the same address, linked only once its owner types its password, never
  for accounts with extended rights; else a new account with no access).
- ``views``: the login page with the button, the start of a login, the callback, the
  logout that ends the ProConnect session too.

Configured by PROCONNECT_CLIENT_ID, PROCONNECT_CLIENT_SECRET and PROCONNECT_DISCOVERY_URL
(see README, « Se connecter avec ProConnect »); without them the button is absent and
the URLs answer 404.
"""

from django.conf import settings

BACKEND = "mesads.users.proconnect.backend.ProConnectBackend"
# ProConnect's scopes for what Mes ADS needs: who the person is and where they work.
SCOPES = "openid email given_name usual_name uid siret"
# The keyword argument of authenticate() that carries verified claims; also how the login
# audit tells a failed ProConnect login from a failed password.
CLAIMS_CREDENTIAL = "proconnect_claims"
# Kept in the session of a ProConnect login: the ID token, sent back as id_token_hint to
# end the ProConnect session at logout.
ID_TOKEN_SESSION_KEY = "proconnect_id_token"
LOGOUT_STATE_SESSION_KEY = "proconnect_logout_state"
# Kept in the session between the callback and the confirmation of an existing account's
# password: the identity waiting to be linked (accounts.py).
PENDING_LINK_SESSION_KEY = "proconnect_pending_link"


def is_enabled() -> bool:
    return bool(
        settings.PROCONNECT_CLIENT_ID
        and settings.PROCONNECT_CLIENT_SECRET
        and settings.PROCONNECT_DISCOVERY_URL
    )
