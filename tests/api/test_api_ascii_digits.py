"""The API reads ids and numbers in ASCII digits only: ``/api/v1/ads/¹`` was a server
error (``"¹".isdigit()`` but ``int("¹")`` fails) and ``/api/v1/ads/١٥٠١`` read ADS 1501."""

import pytest
from django.urls import reverse

from mesads.api.models import Profile

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def key(make_key):
    return make_key(Profile.COMPLET)[0]


def test_the_api_reads_an_ads_id_in_ascii_digits_only(api, key, complete_ads):
    pk = str(complete_ads.pk)
    assert api(f"/api/v1/ads/{pk}", key).status_code == 200
    wide = "".join(chr(ord(c) + 0xFEE0) for c in pk)  # fullwidth digits
    for text in ["¹", pk.translate(ARABIC_INDIC), wide, f"+{pk}", f"%20{pk}"]:
        response = api(f"/api/v1/ads/{text}", key)
        assert response.status_code == 404, text
        assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "url,param",
    [
        ("api:ads_list", "curseur"),
        ("api:ads_list", "taille"),
        ("api:ads_list", "gestionnaire"),
        ("api:changes", "depuis"),
        ("api:changes", "taille"),
        ("api:authorities", "curseur"),
    ],
)
def test_the_apis_number_parameters_refuse_other_digits(api, key, complete_ads, url, param):
    valid = "0" if param == "depuis" else "5"  # the feed's cursor is opaque, or 0
    assert api(reverse(url), key, **{param: valid}).status_code == 200
    for text in ["¹", "٥", "５"]:
        response = api(reverse(url), key, **{param: text})
        assert response.status_code == 400, (param, text)
        assert param in response.json()["details"]
