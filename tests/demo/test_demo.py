"""`make run` prepares a register a newcomer can explore with the demo accounts."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from mesads.ads.models import ADS


@pytest.mark.django_db
def test_demo_data_gives_a_manager_a_register_showing_every_state(client):
    call_command("load_geography", verbosity=0)
    call_command("load_demo", ads=60)
    call_command("load_demo", ads=60)  # idempotent: nothing is generated twice

    response = client.post(
        reverse("login"),
        {"username": "gestionnaire@demo.mesads.fr", "password": "demo-mesads-2026"},
    )
    assert response.status_code == 302
    demo = ADS.objects.filter(authority__commune__insee_code="30189", number__startswith="D-")
    assert demo.count() == 5
    assert demo.filter(is_complete=True).exists()
    assert demo.filter(is_complete=False).exists()
    assert demo.filter(in_use=False).exists()
    assert demo.new_regime().exists() and demo.old_regime().exists()
    assert demo.renewal_overdue().exists()
    assert ADS.objects.count() == 60 + 5

    edited = demo.get(number="D-1")
    history = client.get(reverse("ads:history", args=[edited.pk]))
    assert "Nouveau véhicule et nouvelle locataire-gérante" in history.content.decode()
    assert "Inès Benali" in history.content.decode()

    listing = client.get(reverse("ads:list", args=[edited.authority_id]))
    assert "ADS n° D-5" in listing.content.decode()

    client.post(reverse("logout"))
    response = client.post(
        reverse("login"),
        {"username": "equipe-nationale@demo.mesads.fr", "password": "demo-mesads-2026"},
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
