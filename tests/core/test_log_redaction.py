"""No secret in any log (OPERATIONS.md, review of 2026-12-07, M3): a password-reset link
opened in production left `/compte/mot-de-passe/reinitialiser/<uid>/<token>/` (valid up to
72 h) in the access log. Reset links, OpenID Connect codes and states, API keys in a
query string or a header are masked by one function (mesads.core.redaction) in gunicorn's
own access line and in the application's log."""

import io
import json
import logging
import secrets
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import RequestFactory
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from mesads.core.logging import JSONFormatter, RedactSecretsFilter
from mesads.core.redaction import REDACTED, redact
from mesads.users.models import User
from tests.core import test_production_serving as serving

# --- the function ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (
            "/compte/mot-de-passe/reinitialiser/Mjc/dj8wu5-99a6c7114a7c1bc1d1db363172598074/",
            "/compte/mot-de-passe/reinitialiser/[redacted]/[redacted]/",
        ),
        (
            "/compte/proconnect/retour/?code=c0de&state=st4te&iss=http://idp",
            "/compte/proconnect/retour/?code=[redacted]&state=[redacted]&iss=http://idp",
        ),
        ("code=c0de&state=st4te", "code=[redacted]&state=[redacted]"),
        ("/api/v1/ads/?page=2&api_key=k3y", "/api/v1/ads/?page=2&api_key=[redacted]"),
        ("Authorization: Api-Key k3y.s3cret", "Authorization: Api-Key [redacted]"),
        ("X-Api-Key: k3y.s3cret", "X-Api-Key: [redacted]"),
        ("Not Found: /ads/12/", "Not Found: /ads/12/"),
        ("/ads/?q=Dupont&encode=1", "/ads/?q=Dupont&encode=1"),
        # The worker's task lines keep their state: it is no OpenID Connect state.
        (
            "Task id=J2X6 path=mesads.users.notifications.send_email state=FAILED",
            "Task id=J2X6 path=mesads.users.notifications.send_email state=FAILED",
        ),
    ],
)
def test_redact_masks_secrets_and_nothing_else(logged, expected):
    assert redact(logged) == expected


def test_djangos_request_warning_is_masked_in_the_json_log():
    """django.request attaches the request, whose text holds the query string."""
    request = RequestFactory().get("/compte/proconnect/retour/?code=c0de-s3cret&state=st4te")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.warning(
            "Not Found: %s", request.get_full_path(), extra={"request": request, "status_code": 404}
        )
    finally:
        logger.removeHandler(handler)

    line = json.loads(stream.getvalue())
    assert "c0de-s3cret" not in stream.getvalue() and "st4te" not in stream.getvalue()
    assert line["message"] == (
        "Not Found: /compte/proconnect/retour/?code=[redacted]&state=[redacted]"
    )
    assert line["status_code"] == 404 and REDACTED in line["request"]


# --- gunicorn with the production settings ---------------------------------------------


def _get(url: str, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.skipif(
    serving.pytestmark.args[0], reason="gunicorn serves the test database only on PostgreSQL"
)
def test_no_secret_reaches_gunicorns_access_log_or_the_application_log(
    transactional_db, static_root
):
    secret_key = secrets.token_urlsafe(45)
    user = User.objects.create_user("gestionnaire@nimes.fr", "une phrase de passe assez longue")
    tokens = PasswordResetTokenGenerator()
    tokens.secret = secret_key  # the server's key: a link it accepts
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = tokens.make_token(user)
    code, state = f"code-{secrets.token_hex(12)}", f"state-{secrets.token_hex(12)}"
    keys = [f"cle{n}.{secrets.token_hex(12)}" for n in range(3)]

    with serving.gunicorn(
        static_root, SECRET_KEY=secret_key, GUNICORN_ACCESS_LOG="-", LOG_FORMAT="json"
    ) as (base, process):
        # A real reset link: accepted (to the new password form, the token in the session).
        assert _get(f"{base}/compte/mot-de-passe/reinitialiser/{uid}/{token}/") == 302
        # ProConnect's callback (not configured here: 404, Django's « Not Found » warning).
        assert _get(f"{base}/compte/proconnect/retour/?code={code}&state={state}") == 404
        # API keys in the query string and in both headers: refused, as unknown keys.
        assert _get(f"{base}/api/v1/ads/?api_key={keys[0]}") in (401, 403)
        assert _get(f"{base}/api/v1/ads/", {"Authorization": f"Api-Key {keys[1]}"}) in (401, 403)
        assert _get(f"{base}/api/v1/ads/", {"X-Api-Key": keys[2]}) in (401, 403)
        process.terminate()
        output = process.communicate(timeout=30)[0]

    for secret in [f"/{uid}/", token, code, state, *keys]:
        assert secret not in output, secret
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    reset_path = f"/compte/mot-de-passe/reinitialiser/{REDACTED}/{REDACTED}/"
    # Both access lines are there, masked: gunicorn's own and the application's.
    access = [line for line in lines if line.get("logger") == "gunicorn.access"]
    assert reset_path in {line["path"] for line in access}
    assert {"/compte/proconnect/retour/", "/api/v1/ads/"} <= {line["path"] for line in access}
    requests = [line for line in lines if line.get("logger") == "mesads.request"]
    assert reset_path in {line["path"] for line in requests}
    not_found = [line for line in lines if line.get("logger") == "django.request"]
    assert any("/compte/proconnect/retour/" in line["message"] for line in not_found)
