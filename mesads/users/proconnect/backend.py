"""The OpenID Connect protocol with ProConnect, on top of mozilla-django-oidc.

mozilla-django-oidc reads static endpoints from settings, checks neither the ID token's
issuer nor its audience, and accepts a userinfo that is not signed. ProConnect publishes
its endpoints in a discovery document and signs the userinfo (a JWT): this module reads
the first and verifies everything — signature with the provider's published keys (RS256
only), issuer, audience, expiry, nonce, and the userinfo's subject against the ID
token's.

The callback view calls ``identify()`` (the back-channel exchange), then Django's
``authenticate()`` with the verified claims and the e-mail address the lockout counts
against: django-axes (first backend) refuses a locked-out address before this backend
turns the claims into an account.
"""

import logging
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify

from ..backends import ModelBackend
from ..middleware import client_ip
from . import CLAIMS_CREDENTIAL, SCOPES
from .accounts import AccountRefused, match_account
from .provider import ProviderUnavailable, configuration, get_json

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
# Seconds of clock difference tolerated between ProConnect's servers and ours.
LEEWAY = 60


class IdentityError(Exception):
    """What came back from the provider does not prove who the person is."""


def oidc_setting(name: str, *default):
    """mozilla-django-oidc's settings, from Mes ADS's PROCONNECT_* ones."""
    values = {
        "OIDC_RP_CLIENT_ID": settings.PROCONNECT_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.PROCONNECT_CLIENT_SECRET,
        "OIDC_RP_SIGN_ALGO": ALGORITHM,
        "OIDC_RP_SCOPES": SCOPES,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        # ProConnect wants at least 32 characters for both.
        "OIDC_STATE_SIZE": 48,
        "OIDC_NONCE_SIZE": 48,
        "OIDC_TIMEOUT": settings.PROCONNECT_TIMEOUT,
        "OIDC_VERIFY_SSL": True,
        "OIDC_PROXY": None,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,  # client_secret_post, as ProConnect expects
        "OIDC_AUTHENTICATION_CALLBACK_URL": "proconnect:callback",
        "OIDC_REDIRECT_FIELD_NAME": "next",
        # Ask the identity provider to authenticate the person again at each Mes ADS login:
        # a Mes ADS session ends after SESSION_IDLE_TIMEOUT, but ProConnect's lasts 12
        # hours, and on a shared town-hall computer the next person to click the button
        # would otherwise be logged in as the previous one.
        "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {"prompt": "login"},
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
    }
    if name in values:
        return values[name]
    if default:
        return default[0]
    raise KeyError(name)


@dataclass
class Identity:
    id_token: str
    claims: dict


class ProConnectBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Not the parent's: Django instantiates every backend for each request's get_user()
        # and each password login, which must cost no call to the provider. The endpoints
        # are read from the discovery document in identify().
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    # --- the session ---------------------------------------------------------------------

    def get_user(self, user_id):
        # The parent returns deactivated accounts too; ModelBackend's refuses them, so that
        # deactivating an account ends its ProConnect sessions as it ends password ones
        # (and reads the user with their scope, in one query).
        return ModelBackend.get_user(self, user_id)

    # --- the back channel ----------------------------------------------------------------

    def identify(self, request: HttpRequest, code: str, nonce: str, code_verifier: str) -> Identity:
        """Exchange the authorization code and return the verified claims.

        Raises IdentityError when a token does not verify, ProviderUnavailable when the
        provider cannot be reached.
        """
        self.request = request
        provider = configuration()
        self.issuer = provider["issuer"]
        self.OIDC_OP_TOKEN_ENDPOINT = provider["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = provider["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = provider["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = settings.PROCONNECT_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.PROCONNECT_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = ALGORITHM
        self.OIDC_RP_IDP_SIGN_KEY = None
        self._jwks = None

        try:
            token_info = self.get_token(
                {
                    "client_id": self.OIDC_RP_CLIENT_ID,
                    "client_secret": self.OIDC_RP_CLIENT_SECRET,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": absolutify(request, reverse("proconnect:callback")),
                    "code_verifier": code_verifier,
                }
            )
        except requests.HTTPError as exc:
            # 400 from the token endpoint: an expired, replayed or foreign code.
            raise IdentityError(f"token endpoint refused the code: {exc}") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(str(exc)) from exc
        id_token = token_info.get("id_token")
        access_token = token_info.get("access_token")
        if not id_token or not access_token:
            raise IdentityError("no id_token or access_token in the token response")

        id_claims = self.verify_token(id_token, nonce=nonce)
        claims = self.get_userinfo(access_token, id_token, id_claims)
        return Identity(id_token=id_token, claims=claims)

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        # Like the parent's, with the key set fetched once per login (two tokens to check).
        if self._jwks is None:
            self._jwks = get_json(self.OIDC_OP_JWKS_ENDPOINT)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise IdentityError(f"not a JWT: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise IdentityError(f"signed with {header.get('alg')!r}, not {ALGORITHM}")
        for key in self._jwks.get("keys", []):
            if key.get("kid") == header.get("kid") and key.get("alg", ALGORITHM) == ALGORITHM:
                return jwt.PyJWK(key)
        raise IdentityError(f"no key {header.get('kid')!r} in the provider's key set")

    def _decode(self, token: str, required: list[str]) -> dict:
        key = self.retrieve_matching_jwk(token)
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": required},
            )
        except jwt.InvalidTokenError as exc:
            raise IdentityError(f"{type(exc).__name__}: {exc}") from exc

    def verify_token(self, token: str, **kwargs) -> dict:
        """The ID token (OpenID Connect Core, section 3.1.3.7)."""
        payload = self._decode(token, ["iss", "aud", "exp", "iat", "sub", "nonce"])
        nonce = kwargs.get("nonce") or ""
        if not nonce or not constant_time_compare(str(payload["nonce"]), nonce):
            raise IdentityError("the ID token's nonce is not this login's")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict:
        """The userinfo, a JWT signed by the provider (OpenID Connect Core, 5.3.2)."""
        try:
            response = requests.get(
                self.OIDC_OP_USER_ENDPOINT,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=settings.PROCONNECT_TIMEOUT,
            )
            response.raise_for_status()
        except requests.HTTPError as exc:
            raise IdentityError(f"userinfo endpoint refused the access token: {exc}") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(str(exc)) from exc
        content_type = response.headers.get("content-type", "").lower()
        if not content_type.startswith("application/jwt"):
            raise IdentityError(f"the userinfo is not a signed JWT ({content_type})")
        claims = self._decode(response.text, ["iss", "aud", "sub"])
        # Otherwise an access token of someone else could be passed off with this ID token.
        if claims["sub"] != payload["sub"]:
            raise IdentityError("the userinfo's subject is not the ID token's")
        if not claims.get("email"):
            raise IdentityError("no email in the userinfo")
        return claims

    # --- the account ---------------------------------------------------------------------

    def authenticate(self, request, username=None, **credentials):
        claims = credentials.get(CLAIMS_CREDENTIAL)
        if request is None or claims is None:
            return None  # a password login, or anything else: not ours
        try:
            match = match_account(claims, client_ip(request))
        except AccountRefused as refusal:
            request.proconnect_refusal = str(refusal)
            return None
        if not self.user_can_authenticate(match.user):
            request.proconnect_refusal = (
                "Votre compte Mes ADS est désactivé. Contactez l’équipe nationale si vous "
                "pensez qu’il s’agit d’une erreur."
            )
            return None
        request.proconnect_match = match
        return match.user
