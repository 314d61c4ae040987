from django.test import Client
from django.urls import path


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("casse", broken)]


def test_a_server_error_shows_the_french_design_system_page(db, settings):
    settings.ROOT_URLCONF = "tests.core.test_error_page"
    client = Client(raise_request_exception=False)

    response = client.get("/casse")

    assert response.status_code == 500
    content = response.content.decode()
    assert "Erreur technique" in content
    assert "fr-header" in content
    assert "Server Error" not in content


# --- every error Django answers by itself is a French page of the design system --------


def _french_page(response, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert f"<h1>{title}</h1>" in content and content.count("<h1") == 1
    assert '<html lang="fr"' in content and "fr-header" in content
    return content


def test_an_unknown_host_gets_the_french_400_page(db, settings):
    settings.ALLOWED_HOSTS = ["mesads.example.gouv.fr"]
    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example")
    content = _french_page(response, 400, "Requête invalide")
    assert "Bad Request" not in content


def test_a_form_sent_without_its_csrf_token_gets_the_french_403_page(db):
    response = Client(enforce_csrf_checks=True).post(
        "/compte/connexion/", {"username": "a@b.fr", "password": "x"}
    )
    content = _french_page(response, 403, "Formulaire expiré")
    assert "CSRF" not in content and "Forbidden" not in content
    assert "rechargez-la" in content


def test_the_other_errors_stay_french(db, client, manager):
    _french_page(client.get("/n-existe-pas/"), 404, "Page non trouvée")
    client.force_login(manager)
    _french_page(client.get("/compte/deconnexion/"), 405, "Cette action ne s’ouvre pas par un lien")
