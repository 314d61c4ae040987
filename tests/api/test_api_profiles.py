"""Each profile receives exactly the fields ``mesads.api.profiles`` gives it, through every
endpoint: an anonymous key never reads a plate, a holder or a driver; the documentation
page shows the same table."""

import pytest
from django.urls import reverse

from mesads.api import profiles
from mesads.api.models import Profile

pytestmark = pytest.mark.django_db


def paths(value, prefix: str = "") -> set[str]:
    """Every leaf field of a JSON value, by path (``conducteurs[].nom``)."""
    if isinstance(value, dict):
        found = set()
        for name, inner in value.items():
            found |= (
                paths(inner, f"{prefix}{name}.")
                if isinstance(inner, dict | list)
                else {prefix + name}
            )
        return found
    if isinstance(value, list):
        return set().union(*(paths(item, prefix[:-1] + "[].") for item in value))
    return {prefix[:-1]}


@pytest.fixture
def full_ads(complete_ads):
    """An ADS with every field filled, drivers included."""
    complete_ads.holder_phone = "0612345678"
    complete_ads.holder_email = "arenes@taxi.fr"
    complete_ads.save()
    assert complete_ads.drivers.exists()
    return complete_ads


@pytest.mark.parametrize("profile", Profile.values)
def test_every_endpoint_answers_exactly_the_profiles_fields(api, make_key, full_ads, profile):
    raw, _ = make_key(profile)
    expected = profiles.ads_fields(profile)
    ads_answers = []

    detail = api(reverse("api:ads_detail", args=[full_ads.pk]), raw)
    assert detail.status_code == 200
    ads_answers.append(detail.json())

    listing = api(reverse("api:ads_list"), raw)
    assert listing.status_code == 200
    ads_answers += listing.json()["resultats"]

    feed = api(reverse("api:changes"), raw)
    assert feed.status_code == 200
    ads_answers += [entry["ads"] for entry in feed.json()["resultats"] if entry["ads"]]

    comparisons = dict(profiles.comparisons(profile))
    query = {"insee": "30189", "numero": full_ads.number}
    if "immatriculation_concorde" in comparisons:
        query["immatriculation"] = "ab123cd"
    if "carte_pro_concorde" in comparisons:
        query["carte_pro"] = "CP-30-0001"
    verification = api(reverse("api:verification"), raw, **query)
    assert verification.status_code == 200
    body = verification.json()
    assert set(body) == profiles.verification_fields(profile)
    assert all(body[answer] is True for answer in comparisons)
    ads_answers.append(body["ads"])

    assert len(ads_answers) == 4
    for ads in ads_answers:
        assert paths(ads) == expected

    authorities = api(reverse("api:authorities"), raw).json()["resultats"]
    assert authorities and all(set(a) == profiles.AUTHORITY_FIELDS for a in authorities)


def test_the_anonymous_profile_reads_no_plate_and_compares_none(api, make_key, full_ads):
    raw, _ = make_key(Profile.ANONYME)
    detail = api(reverse("api:ads_detail", args=[full_ads.pk]), raw)
    assert "AB-123-CD" not in detail.content.decode()
    assert "immatriculation" not in detail.json()["vehicule"]
    for param, value in (("immatriculation", "ab123cd"), ("carte_pro", "CP-30-0001")):
        response = api(
            reverse("api:verification"), raw, insee="30189", numero="12", **{param: value}
        )
        assert response.status_code == 400
        assert "profil de cette clé" in response.content.decode()


def test_a_cpam_key_compares_a_plate_but_not_a_drivers_card(api, make_key, full_ads):
    raw, _ = make_key(Profile.CPAM)
    plate = api(reverse("api:verification"), raw, insee="30189", numero="12", immatriculation="x")
    assert plate.status_code == 200 and plate.json()["immatriculation_concorde"] is False
    card = api(reverse("api:verification"), raw, insee="30189", numero="12", carte_pro="x")
    assert card.status_code == 400


def test_the_documentation_page_shows_the_definition(client):
    page = client.get(reverse("api:documentation")).content.decode()
    for label in profiles.GROUP_LABELS.values():
        assert f'<th scope="col">{label}</th>' in page.replace("&#x27;", "’")
    # The anonymous profile's row: the ADS itself, nothing else.
    row = page.split("<code>anonyme</code>")[1].split("</tr>")[0]
    assert row.count("<td>Oui</td>") == 1
    assert row.count("<td>Non</td>") == len(profiles.GROUP_LABELS) - 1
