from django.urls import reverse


def test_a_managers_pages_are_never_cached(client, manager, complete_ads):
    client.force_login(manager)
    for url in [
        reverse("ads:detail", args=[complete_ads.pk]),
        reverse("ads:list", args=[complete_ads.authority_id]),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert "no-store" in response["Cache-Control"]


def test_anonymous_public_pages_keep_the_default(client, db):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
