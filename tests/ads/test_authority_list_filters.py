"""National staff's « Gestionnaires d’ADS » (issue 10, point 2): 36,000 authorities made
727 alphabetical pages, mostly zeros. Staff filter by département, type and declaration
(has ADS, declared none, delegates, never declared) and sort by number of ADS."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mesads.authorities.models import Authority
from tests.ads.test_ads_queries import AUTHORITY_LIST_QUERIES, fill_register
from tests.conftest import _commune_authority


@pytest.fixture
def gard_and_herault(nimes, ales, nimes_metropole, montpellier):
    """Nîmes: 3 ADS; Montpellier: 5; Alès declared none; its neighbour Uzès delegates to
    the EPCI; Beaucaire has declared nothing."""
    fill_register(nimes, 3)
    fill_register(montpellier, 5)
    ales.declares_no_ads = True
    ales.save()
    uzes = _commune_authority("30334", "Uzès", nimes.departement)
    uzes.delegated_to = nimes_metropole
    uzes.save()
    _commune_authority("30032", "Beaucaire", nimes.departement)
    return {"uzes": uzes}


def names_listed(client, **filters) -> list[str]:
    page = client.get(reverse("ads:authorities"), filters).content.decode()
    return re.findall(r'<td><a href="/gestionnaires/\d+/">([^<]+)</a>', page)


def test_staff_see_what_each_authority_declared(client, staff, gard_and_herault):
    client.force_login(staff)

    assert names_listed(client, declaration="ads") == ["Montpellier", "Nîmes"]
    assert names_listed(client, declaration="aucune") == ["Alès"]
    assert names_listed(client, declaration="delegue") == ["Uzès"]
    # The EPCI has no ADS of its own and declared nothing either.
    assert names_listed(client, declaration="jamais") == ["Beaucaire", "CA Nîmes Métropole"]


def test_staff_filter_by_departement_and_type_and_sort_by_ads(client, staff, gard_and_herault):
    client.force_login(staff)

    assert names_listed(client, departement="34") == ["Montpellier"]
    assert names_listed(client, departement="30", type="epci") == ["CA Nîmes Métropole"]
    by_count = names_listed(client, tri="ads")
    assert by_count[:2] == ["Montpellier", "Nîmes"]  # 5, then 3; the others by name
    assert by_count[2:] == sorted(by_count[2:])
    page = client.get(reverse("ads:authorities"), {"departement": "30", "tri": "ads"})
    text = page.content.decode()
    assert "5 gestionnaires correspondant à votre recherche" in text
    assert "Réinitialiser" in text
    # The filters keep their choice, and the pagination links carry them.
    assert '<option value="30" selected>30 – Gard</option>' in text
    assert page.context["query_string"] == "departement=30&tri=ads"


def test_deleted_ads_do_not_count_in_the_order_by_number(client, staff, gard_and_herault):
    beaucaire = Authority.objects.get(commune__insee_code="30032")
    fill_register(beaucaire, 6)
    beaucaire.ads.update(deleted_at=timezone.now())
    client.force_login(staff)

    by_count = names_listed(client, tri="ads")

    assert by_count[:2] == ["Montpellier", "Nîmes"]  # Beaucaire's 6 deleted ADS count 0
    assert by_count[2:] == sorted(by_count[2:])
    assert "Beaucaire" in by_count[2:]


def test_a_wrong_filter_value_is_said_not_ignored(client, staff, gard_and_herault):
    client.force_login(staff)
    response = client.get(reverse("ads:authorities"), {"declaration": "peut-etre"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()


def test_the_filters_are_for_national_staff_a_manager_sees_his_own(
    client, manager, gard_and_herault
):
    client.force_login(manager)
    page = client.get(reverse("ads:authorities")).content.decode()
    assert 'name="declaration"' not in page
    assert names_listed(client) == ["Nîmes"]
    assert names_listed(client, departement="34") == []  # never another's authorities


@pytest.mark.parametrize("extra", [0, 60])
def test_the_list_counts_only_the_page_it_shows(
    client, staff, gard_and_herault, extra, django_assert_max_num_queries
):
    gard = Authority.objects.get(commune__insee_code="30189").departement
    for n in range(extra):
        fill_register(_commune_authority(f"30{500 + n}", f"Commune {n:02}", gard), 1)
    client.force_login(staff)

    with django_assert_max_num_queries(AUTHORITY_LIST_QUERIES + 1):  # + the département chosen
        response = client.get(reverse("ads:authorities"), {"tri": "ads", "departement": "30"})

    assert len(response.context["page_obj"]) == min(50, 5 + extra)
    assert response.context["page_obj"][0].name == "Nîmes"  # 3 ADS, the others 1
    assert response.context["page_obj"][0].ads_total == 3
