"""Production mode refuses to start half-configured, and passes Django's deployment checks.

Settings are read once per process, so each configuration runs `manage.py` in a subprocess.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Variables that change what production mode accepts: each test sets the ones it is about.
# Without DATABASE_URL the subprocess uses the default SQLite file, not the test database.
_CONTROLLED = (
    "DATABASE_URL",
    "MESADS_PRODUCTION",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "TRUSTED_PROXY_COUNT",
    "EMAIL_URL",
    "ALLOW_CONSOLE_EMAIL",
    "SITE_URL",
    "PROCONNECT_CLIENT_ID",
    "PROCONNECT_CLIENT_SECRET",
    "PROCONNECT_DISCOVERY_URL",
)


def run_manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in _CONTROLLED}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def production(**variables: str) -> dict:
    return {
        "MESADS_PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "ALLOWED_HOSTS": "mesads.example",
        "EMAIL_URL": "smtp+tls://mesads:secret@smtp.mesads.example:587",
        **variables,
    }


def deploy_check(**variables: str) -> subprocess.CompletedProcess:
    return run_manage("check", "--deploy", "--fail-level", "WARNING", **variables)


def test_production_mode_passes_the_deployment_checks():
    result = deploy_check(**production())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr
    assert "?: (" not in result.stdout + result.stderr  # no check message of any level


def test_production_mode_requires_a_secret_key():
    result = deploy_check(**production(SECRET_KEY=""))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_mode_refuses_a_short_secret_key():
    result = deploy_check(**production(SECRET_KEY="too-short"))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_mode_requires_allowed_hosts():
    result = deploy_check(**production(ALLOWED_HOSTS=""))

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_mode_refuses_debug():
    result = deploy_check(**production(DEBUG="true"))

    assert result.returncode != 0
    assert "DEBUG" in result.stderr


_PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "staticfiles": settings.STORAGES["staticfiles"]["BACKEND"],
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
}))
"""


def read_settings(**variables: str) -> dict:
    result = run_manage("shell", "--no-startup", "--command", _PRINT_SETTINGS, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_mode_serves_compressed_hashed_static_files_over_https():
    values = read_settings(**production())

    assert values == {
        "DEBUG": False,
        "staticfiles": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }


def test_debug_is_off_unless_asked_on_a_developer_machine():
    assert read_settings()["DEBUG"] is False
    assert read_settings(DEBUG="true")["DEBUG"] is True


def test_french_locale_and_paris_time():
    assert settings.LANGUAGE_CODE == "fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.USE_TZ


def test_whitenoise_comes_right_after_the_security_middleware():
    # WhiteNoise must answer for static files before sessions or CSRF touch the request.
    assert settings.MIDDLEWARE[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]


# --- security settings ------------------------------------------------------------------


def read_values(names: list[str], **variables: str) -> dict:
    command = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}))"
    )
    result = run_manage("shell", "--no-startup", "--command", command, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


_TRANSPORT = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "TRUSTED_PROXY_COUNT",
]


def test_production_mode_sends_cookies_over_https_only_and_asks_for_hsts():
    assert read_values(_TRANSPORT, **production()) == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        # X-Forwarded-For is ignored until the operator says how many proxies add to it.
        "TRUSTED_PROXY_COUNT": 0,
    }


def test_a_developer_machine_works_over_plain_http_and_ignores_x_forwarded_for():
    values = read_values(_TRANSPORT)

    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["TRUSTED_PROXY_COUNT"] == 0
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_session_timeouts_come_from_the_environment():
    names = ["SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT", "SESSION_COOKIE_AGE"]

    assert read_values(names) == {
        "SESSION_IDLE_TIMEOUT": 30 * 60,
        "SESSION_ABSOLUTE_TIMEOUT": 12 * 3600,
        "SESSION_COOKIE_AGE": 12 * 3600,
    }
    assert read_values(names, SESSION_IDLE_TIMEOUT="600", SESSION_ABSOLUTE_TIMEOUT="28800") == {
        "SESSION_IDLE_TIMEOUT": 600,
        "SESSION_ABSOLUTE_TIMEOUT": 28800,
        "SESSION_COOKIE_AGE": 28800,
    }


_PRODUCTION_RESPONSE = """
from django.test import Client
client = Client(HTTP_HOST="mesads.example")
plain = client.get("/compte/deconnexion/")
print("plain", plain.status_code, plain.headers.get("Location"))
secure = client.get("/gestionnaires/", secure=True)
print("secure", secure.status_code)
print("hsts", secure.headers.get("Strict-Transport-Security"))
print("csp", secure.headers.get("Content-Security-Policy"))
"""


def test_production_responses_carry_hsts_and_the_content_security_policy():
    # A protected page redirects an anonymous visitor to the login without rendering a
    # template (production static files need collectstatic) or touching the database.
    result = run_manage("shell", "--no-startup", "--command", _PRODUCTION_RESPONSE, **production())
    assert result.returncode == 0, result.stderr
    keys = ("plain", "secure", "hsts", "csp")
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if line.startswith(keys))

    assert lines["plain"] == "301 https://mesads.example/compte/deconnexion/"
    assert lines["secure"] == "302"
    assert lines["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self' 'nonce-" in lines["csp"]
    assert "'unsafe-inline'" not in lines["csp"]


def test_the_security_middleware_order():
    middleware = settings.MIDDLEWARE
    position = middleware.index

    assert "mesads.users.middleware.CSPMiddleware" in middleware
    # The session clock needs the user (authentication) and says why it logged out
    # (messages); django-axes must stay last.
    timeout = position("mesads.users.middleware.SessionTimeoutMiddleware")
    assert timeout > position("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert timeout > position("django.contrib.messages.middleware.MessageMiddleware")
    assert middleware[-1] == "axes.middleware.AxesMiddleware"


def test_production_mode_refuses_the_console_email_backend_unless_allowed():
    """OPERATIONS.md #15: password-reset links were written to the server's output."""
    for url in ("consolemail://", "memorymail://", "dummymail://"):
        result = run_manage("check", **production(EMAIL_URL=url))
        assert result.returncode != 0, url
        assert "EMAIL_URL must name a real mail server in production" in result.stderr
    allowed = run_manage(
        "check", **production(EMAIL_URL="consolemail://", ALLOW_CONSOLE_EMAIL="true")
    )
    assert allowed.returncode == 0, allowed.stderr


def test_mails_sent_by_the_daily_job_link_to_the_service_not_to_this_machine():
    assert read_values(["SITE_URL"], **production()) == {"SITE_URL": "https://mesads.example"}
    assert read_values(["SITE_URL"], **production(SITE_URL="https://mesads.gouv.fr")) == {
        "SITE_URL": "https://mesads.gouv.fr"
    }
    assert read_values(["SITE_URL"]) == {"SITE_URL": "http://127.0.0.1:8000"}
