"""What Mes ADS knows of the provider: its discovery document, fetched once and cached.

The document names the endpoints (authorization, token, userinfo, end of session) and the
address of the signing keys. It changes rarely, so it is cached for
PROCONNECT_DISCOVERY_CACHE_SECONDS; the keys themselves are fetched at each login, so that
a key rotation at ProConnect never locks anyone out. Every call to the provider gives up
after PROCONNECT_TIMEOUT seconds: a provider that does not answer must not hold a worker.
"""

import hashlib
import logging

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
REQUIRED_METADATA = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
)


class ProviderUnavailable(Exception):
    """ProConnect could not be reached, or answered something unusable."""


def get_json(url: str, **kwargs) -> dict:
    try:
        response = requests.get(url, timeout=settings.PROCONNECT_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc


def configuration() -> dict:
    """The provider's metadata (OpenID Connect Discovery 1.0, section 3)."""
    url = settings.PROCONNECT_DISCOVERY_URL
    key = "proconnect:discovery:" + hashlib.sha256(url.encode()).hexdigest()
    document = cache.get(key)
    if document is None:
        document = get_json(url)
        missing = [name for name in REQUIRED_METADATA if not document.get(name)]
        if missing:
            raise ProviderUnavailable(f"{url}: no {', '.join(missing)} in the document")
        # The issuer must be the one the document was asked of (Discovery, section 4.3):
        # otherwise a provider could speak for another, and tokens be checked against the
        # wrong issuer.
        expected = url.removesuffix(DISCOVERY_SUFFIX).rstrip("/")
        if document["issuer"].rstrip("/") != expected:
            raise ProviderUnavailable(
                f"{url}: issuer {document['issuer']!r} does not match {expected!r}"
            )
        cache.set(key, document, settings.PROCONNECT_DISCOVERY_CACHE_SECONDS)
    return document
