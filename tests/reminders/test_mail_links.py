"""Links in e-mails lead to the service's address (SITE_URL), whatever Host the request
came with (any entry of ALLOWED_HOSTS reaches the servers: a technical name, another
domain); and every mail's Message-ID carries a real domain, not the machine's
``localhost``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from mesads.reminders.models import Campaign

pytestmark = pytest.mark.django_db

SITE = "https://mesads.example.gouv.fr"
OTHER_HOST = "serveur-2.interne.example"


@pytest.fixture
def other_host(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, OTHER_HOST]
    return {"HTTP_HOST": OTHER_HOST}


def test_a_password_reset_link_leads_to_the_site_not_to_the_requests_host(
    client, manager, mailoutbox, other_host
):
    response = client.post(reverse("password_reset"), {"email": manager.email}, **other_host)
    assert response.status_code == 302
    [mail] = mailoutbox
    assert f"{SITE}/compte/mot-de-passe/reinitialiser/" in mail.body
    assert OTHER_HOST not in mail.body


def test_a_campaigns_links_lead_to_the_site_not_to_the_requests_host(
    client, staff, nimes, manager, mailoutbox, other_host, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    response = client.post(
        reverse("reminders:campaign_create"),
        {"target": "jamais", "departement": "", "subject": "Relance", "body": ""},
        **other_host,
    )
    assert response.status_code == 302
    campaign = Campaign.objects.latest("pk")
    preview = client.get(reverse("reminders:campaign", args=[campaign.pk]), **other_host)
    assert OTHER_HOST not in preview.content.decode().split("<main", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reminders:campaign_send", args=[campaign.pk]), **other_host)
    [mail] = mailoutbox
    assert f"{SITE}/gestionnaires/{nimes.pk}/" in mail.body
    assert f"{SITE}/compte/profil/" in mail.body
    assert OTHER_HOST not in mail.body


def test_the_message_id_carries_the_sites_domain():
    """In a process of its own, configured as in production (SITE_URL), on a machine whose
    name is whatever it is (``localhost`` in a container)."""
    script = (
        "import django; django.setup();"
        "from django.core.mail import EmailMessage;"
        "print(EmailMessage('Objet', 'Texte', 'a@mesads.example', ['b@mairie.example'])"
        ".message()['Message-ID'])"
    )
    env = {**os.environ, "SITE_URL": "https://mesads.beta.gouv.fr"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    message_id = done.stdout.strip().splitlines()[-1]
    assert message_id.startswith("<") and message_id.endswith("@mesads.beta.gouv.fr>"), message_id
