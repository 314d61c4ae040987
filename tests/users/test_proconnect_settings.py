"""ProConnect's settings: without them there is no button and no ProConnect page; in
production mode the deployment checks stay clean, and an unencrypted discovery URL is
refused at start (settings are read once per process, so each production configuration
runs manage.py in a subprocess, as in tests/core/test_settings.py)."""

import json

from django.urls import reverse

from tests.core.test_settings import deploy_check, production, run_manage

PROCONNECT = {
    "PROCONNECT_CLIENT_ID": "mesads",
    "PROCONNECT_CLIENT_SECRET": "secret-donne-par-proconnect",
    "PROCONNECT_DISCOVERY_URL": (
        "https://auth.agentconnect.gouv.fr/api/v2/.well-known/openid-configuration"
    ),
}


def test_without_configuration_there_is_no_button_and_no_proconnect_page(client, settings, db):
    settings.PROCONNECT_CLIENT_ID = settings.PROCONNECT_CLIENT_SECRET = ""
    settings.PROCONNECT_DISCOVERY_URL = ""

    content = client.get(reverse("login")).content.decode()

    assert "ProConnect" not in content
    for name in ("proconnect:start", "proconnect:callback", "proconnect:logout_callback"):
        assert client.get(reverse(name)).status_code == 404


def test_production_with_proconnect_passes_the_deployment_checks():
    result = deploy_check(**production(**PROCONNECT))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_refuses_a_discovery_url_without_https():
    unencrypted = "http://auth.agentconnect.gouv.fr/api/v2/.well-known/openid-configuration"
    result = deploy_check(**production(**{**PROCONNECT, "PROCONNECT_DISCOVERY_URL": unencrypted}))

    assert result.returncode != 0
    assert "PROCONNECT_DISCOVERY_URL" in result.stderr


_PRINT_POLICY = """
import json
from django.conf import settings
print(json.dumps(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"]))
"""


def test_the_logout_may_continue_to_proconnect_and_nowhere_else():
    result = run_manage("shell", "--no-startup", "--command", _PRINT_POLICY, **PROCONNECT)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "'self'",
        "https://auth.agentconnect.gouv.fr",
    ]


def test_without_proconnect_the_forms_post_to_mes_ads_only():
    # The discovery URL alone (a forgotten client secret, say) shows no button: its
    # provider is not allowed either.
    only_url = {"PROCONNECT_DISCOVERY_URL": PROCONNECT["PROCONNECT_DISCOVERY_URL"]}
    for variables in ({}, only_url):
        result = run_manage("shell", "--no-startup", "--command", _PRINT_POLICY, **variables)

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == ["'self'"]


def test_production_refuses_half_a_proconnect_configuration():
    result = deploy_check(**production(**{**PROCONNECT, "PROCONNECT_CLIENT_SECRET": ""}))

    assert result.returncode != 0
    assert "PROCONNECT_CLIENT_SECRET" in result.stderr
