"""The API's documentation: a page of the site in French, the OpenAPI schema, and Swagger
UI from our own static files under the site's strict Content-Security-Policy."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_documentation_page_explains_keys_profiles_and_the_verification(client):
    response = client.get(reverse("api:documentation"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1") == 1
    assert "<h1>L’API de réutilisation du registre</h1>" in page
    assert "insee=30189&amp;numero=12&amp;immatriculation=ab123cd" in page
    # ADS not issued by a commune are found by a commune's INSEE code too.
    assert "ADS d’un EPCI : le code INSEE de sa commune de stationnement" in page
    assert "<code>75056</code>" in page  # the Préfecture de police's ADS
    assert "ADS d’un aéroport : le code d’une commune du département de l’aéroport" in page
    assert "<code>le_taxi</code>" in page and "<caption>" in page
    assert "Ce que le flux garantit" in page


def test_the_schema_is_openapi_3_with_the_verification_example(client):
    response = client.get(reverse("api:schema"), {"format": "json"})
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    verification = schema["paths"]["/api/v1/ads/verification"]["get"]
    assert verification["security"] == [{"cleApi": []}]
    examples = verification["responses"]["200"]["content"]["application/json"]["examples"]
    assert any(e["value"]["trouvee"] is True for e in examples.values())


def test_swagger_ui_runs_from_our_static_files_without_inline_script(client):
    response = client.get(reverse("api:swagger"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in page
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in page and "cdn" not in page.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source
    (init,) = [s for s in sources if "script" in s]
    script = client.get(init.replace("&amp;", "&"))
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
