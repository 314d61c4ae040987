from django.test import Client
from django.urls import path


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("casse", broken)]


def test_a_server_error_shows_the_french_design_system_page(db, settings):
    settings.ROOT_URLCONF = "tests.test_error_page"
    client = Client(raise_request_exception=False)

    response = client.get("/casse")

    assert response.status_code == 500
    content = response.content.decode()
    assert "Erreur technique" in content
    assert "fr-header" in content
    assert "Server Error" not in content
