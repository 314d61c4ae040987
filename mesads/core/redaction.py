"""Secrets out of the logs (OPERATIONS.md, review of 2026-12-07, M3).

One function, ``redact``, used by the application's logs (``mesads.core.logging``
``RedactSecretsFilter``, on every record: the request log, Django's ``django.request`` and
``django.security`` warnings, tracebacks) and by gunicorn's own access and error logs
(``mesads.core.gunicorn_logging``). It takes a path, a URL, a query string or any line
of text and masks what opens an account or calls the API for whoever reads the logs:

- the two segments after ``/reinitialiser/`` (a password-reset link: ``<uid>/<token>``,
  valid up to PASSWORD_RESET_TIMEOUT) and any Django reset token wherever it appears;
- the values of query parameters that carry secrets (OpenID Connect ``code``, ``state``,
  ``nonce``, ``id_token_hint``…; ``api_key``, ``token``, ``password``…);
- the credential after ``Api-Key``, ``Bearer`` or ``Basic``, and the value of an
  ``Authorization``, ``X-Api-Key`` or ``Cookie`` header written as ``name: value``.

Imports nothing of ours and no Django setting: gunicorn's master uses it before the
application is loaded.
"""

import re

REDACTED = "[redacted]"

# Query parameters whose value is a secret, whatever the page.
SECRET_PARAMETERS = (
    "code",
    "state",
    "nonce",
    "code_verifier",
    "id_token_hint",
    "id_token",
    "access_token",
    "refresh_token",
    "session_state",
    "client_secret",
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "password",
    "secret",
)
# Headers whose whole value is a secret.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})

_VALUE = r"[^&\s\"'#<>\\]*"
_RULES = [
    # /compte/mot-de-passe/reinitialiser/<uidb64>/<token>/ (mesads.users.urls).
    (
        re.compile(r"(/reinitialiser/)[^/?#\s\"'<>\\]+/[^/?#\s\"'<>\\]+"),
        rf"\1{REDACTED}/{REDACTED}",
    ),
    # A Django password-reset token anywhere else (a Referer, a message): base 36
    # timestamp, "-", at least 20 hexadecimal digits.
    (re.compile(r"\b[0-9a-z]{1,13}-[0-9a-f]{20,}\b"), REDACTED),
    # name=value in a query string, a URL or a line of text.
    (
        re.compile(
            r"(^|[?&;\s\"'])((?:"
            + "|".join(re.escape(name) for name in SECRET_PARAMETERS)
            # ... except the task states django-tasks logs ("state=SUCCESSFUL"): no secret.
            + rf")=)(?!(?:READY|RUNNING|SUCCESSFUL|FAILED)\b){_VALUE}",
            re.IGNORECASE,
        ),
        rf"\1\2{REDACTED}",
    ),
    # Authorization schemes followed by their credential.
    (re.compile(r"\b(Api-Key|Bearer|Basic)\s+[^\s\"',;]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # A header written out: "X-Api-Key: …", "Cookie: …".
    (
        re.compile(
            r"\b(X-Api-Key|Cookie|Authorization)(\s*[:=]\s*)"
            r"(?!(?:Api-Key|Bearer|Basic)\s)[^\s\"',;]+",
            re.IGNORECASE,
        ),
        rf"\1\2{REDACTED}",
    ),
]


def redact(text: str | None) -> str:
    """``text`` with every secret above replaced by ``[redacted]``."""
    if not text:
        return text or ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_header(name: str, value: str | None) -> str:
    """A request or response header's value, as it may be logged."""
    if name.lower() in SECRET_HEADERS and value:
        return REDACTED
    return redact(value)
