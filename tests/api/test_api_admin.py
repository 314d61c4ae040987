"""National staff give a re-user organisation its key in the admin, see how much it is
used, and revoke it; nobody else reaches the keys."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from mesads.api.models import APIKey, APIKeyUsage, Profile

pytestmark = pytest.mark.django_db

LIST = reverse("api:ads_list")
USAGE_FORMSET = {
    "usage-TOTAL_FORMS": "0",
    "usage-INITIAL_FORMS": "0",
    "usage-MIN_NUM_FORMS": "0",
    "usage-MAX_NUM_FORMS": "0",
}


def key_form(departement, **fields) -> dict:
    """The admin's form of a le.taxi key limited to ``departement``."""
    return {
        "organisation": "le.taxi",
        "name": "Production",
        "scope": APIKey.Scope.DEPARTEMENTS,
        "departements": [departement.pk],
        "profile": Profile.LE_TAXI,
        "rate_limit": "600",
        **USAGE_FORMSET,
        **fields,
    }


def test_staff_create_a_key_shown_once_then_revoke_it(client, api, staff, gard, complete_ads):
    client.force_login(staff)
    response = client.post(
        reverse("admin:api_apikey_add"),
        key_form(gard),
    )
    assert response.status_code == 302, response.context["adminform"].errors
    (message,) = [m for m in map(str, get_messages(response.wsgi_request)) if "La clé" in m]
    raw = re.search(r"La clé de « le\.taxi » est : (\S+) —", message).group(1)
    key = APIKey.objects.get()
    assert (key.profile, list(key.departements.all())) == (Profile.LE_TAXI, [gard])
    # Only a hash is kept; the key works, and is never shown again.
    assert raw.split(".")[1] not in key.hashed_key
    change_url = reverse("admin:api_apikey_change", args=[key.pk])
    client.get(change_url)  # the page after the creation shows the message once
    assert raw not in client.get(change_url).content.decode()
    assert api(LIST, raw).status_code == 200

    response = client.post(
        reverse("admin:api_apikey_change", args=[key.pk]),
        key_form(gard, revoked="on"),
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert api(LIST, raw).json()["erreur"] == "cle_revoquee"


def test_staff_see_the_calls_of_each_key(client, api, make_key, staff, complete_ads):
    raw, key = make_key(organisation="CNAM")
    for _ in range(3):
        assert api(LIST, raw).status_code == 200
    APIKeyUsage.objects.create(
        key=key, day=timezone.localdate() - timezone.timedelta(days=1), calls=42
    )
    client.force_login(staff)

    listing = client.get(reverse("admin:api_apikey_changelist")).content.decode()
    page = client.get(reverse("admin:api_apikey_change", args=[key.pk])).content.decode()

    # Today: one call written, two still in the cache; both are counted.
    assert re.search(r'<td class="field-calls_today">3</td>', listing)
    assert re.search(r'<td class="field-last_used_at[^"]*">[^<]*[0-9]{4}', listing)
    assert '<td class="field-calls"> <p>42</p>' in re.sub(r"\s+", " ", page)
    assert "Appels par jour" in page


def test_the_key_form_speaks_french(client, staff):
    """The library's own fields (name, expiry, revocation) ship in English only."""
    client.force_login(staff)
    page = client.get(reverse("admin:api_apikey_add")).content.decode()
    assert "Nom de la clé" in page and "Expire le" in page and "Révoquée" in page
    for english in ("A free-form name", "Expires", "Revoked", "cannot use it anymore"):
        assert english not in page


def test_only_national_staff_reach_the_keys(client, manager, make_key):
    make_key()
    client.force_login(manager)
    response = client.get(reverse("admin:api_apikey_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
