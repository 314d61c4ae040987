"""Public pages render as a visitor sees them, and static files are served in production."""

import gzip
import re

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_page(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Mes ADS" in page
    assert page.count("<h1") == 1
    assert reverse("login") in page


def test_login_page_labels_the_email_field(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<label[^>]*for="id_username"[^>]*>\s*Adresse électronique\s*</label>', page)
    assert re.search(r'<input type="email" name="username"[^>]*id="id_username"', page)
    assert reverse("password_reset") in page


@pytest.mark.parametrize(
    ("url_name", "kwargs", "title"),
    [
        ("login", {}, "Connexion"),
        ("password_reset", {}, "Mot de passe oublié"),
        ("password_reset_done", {}, "Courriel envoyé"),
        ("password_reset_complete", {}, "Mot de passe modifié"),
        (
            "password_reset_confirm",
            {"uidb64": "MQ", "token": "set-password-link-expired"},
            "Lien invalide ou expiré",
        ),
    ],
)
def test_account_pages_have_one_h1_a_title_and_breadcrumbs(client, url_name, kwargs, title):
    response = client.get(reverse(url_name, kwargs=kwargs))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert f"<title>{title}" in page
    assert 'class="fr-breadcrumb"' in page
    assert 'aria-current="page">' in page


def test_whitenoise_serves_collected_static_files_with_debug_off(client, settings, tmp_path):
    # The production set-up: collected, hashed and compressed files served by WhiteNoise,
    # with no web server in front for /static/.
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)

    # The test client builds its middleware (WhiteNoise reads STATIC_ROOT then) on its
    # first request, so it sees the files just collected.
    css_url = static("css/mesads.css")
    assert css_url != "/static/css/mesads.css"  # a hashed, cache-busting name
    response = client.get(css_url, HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(response.streaming_content)).decode()
    assert ".mesads-nowrap" in body

    dsfr = client.get(static("dsfr/dist/dsfr.min.css"))
    assert dsfr.status_code == 200
    assert dsfr["Content-Type"].startswith("text/css")
