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

PROJECT_ROOT = Path(__file__).resolve().parent.parent

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
