"""The cost of a page does not grow with what it lists.

Each page is opened with few and with many rows, under the same bound on the number of
queries (session, user, savepoint of the request's transaction included). A query per
row anywhere — a deferred column, a relation read in a template — breaks the bound.
"""

import datetime

import pytest
import reversion
from django.urls import reverse

from mesads.ads.models import ADS, ADSDocument, AuthorityDecree, Driver
from mesads.authorities.models import Authority
from mesads.geo.models import Airport, Commune

pytestmark = pytest.mark.django_db

# The read-only pages run outside the request's transaction (mesads.core.http.read_only):
# no savepoint and release around the view.
LIST_QUERIES = 7  # + the menu (is the user a prefecture agent?) + may the user write
DETAIL_QUERIES = 7  # + the menu, + what the user may do: attest, certify (one query)
HISTORY_QUERIES = 6
# The page of ids, its 50 authorities, then their counts; + the départements of the filter.
AUTHORITY_LIST_QUERIES = 7
# + the renewal calendar (mesads.reminders: one query, whatever the number of ADS).
DASHBOARD_QUERIES = 7


def fill_register(authority: Authority, size: int) -> None:
    """``size`` ADS of every kind: old and new, in use and vacant, complete or not."""
    register = []
    for n in range(1, size + 1):
        ads = ADS(
            authority=authority,
            number=f"{n}" if n % 3 else f"B-{n}",
            creation_date=datetime.date(2000 + n % 20, 1 + n % 12, 1),
            in_use=n % 4 != 0,
            holder_name=f"Taxi {n}" if n % 5 else "",
            holder_siret="73282932000074",
            vehicle_plate="AB-123-CD",
            vehicle_pmr=n % 2 == 0,
            vehicle_low_emission=False,
            cpam_agreement=n % 2 == 1,
        )
        ads.refresh_derived([])
        register.append(ads)
    ADS.objects.bulk_create(register)


@pytest.mark.parametrize("size", [5, 120])
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"page": "2"},
        {"q": "Taxi 1"},
        {"q": "732 829 320 00074", "exploitation": "exploitee"},
        {"q": "ab123cd", "completude": "a_completer", "regime": "ancienne"},
        {"regime": "nouvelle", "renouvellement": "on", "cpam": "on", "pmr": "on"},
    ],
)
def test_the_ads_list(client, manager, nimes, size, query, django_assert_max_num_queries):
    fill_register(nimes, size)
    client.force_login(manager)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(reverse("ads:list", args=[nimes.pk]), query)

    assert response.status_code == 200
    if size == 120 and not query:
        assert len(response.context["page_obj"]) == 50


@pytest.mark.parametrize("drivers", [1, 10])
def test_the_ads_detail(client, manager, complete_ads, drivers, django_assert_max_num_queries):
    for n in range(2, drivers + 1):
        Driver.objects.create(
            ads=complete_ads,
            status=Driver.Status.LOCATAIRE_GERANT,
            name=f"Conducteur {n}",
            card_number=f"CP-{n}",
            lease_start_date=datetime.date(2020, 1, n),
        )
        ADSDocument.objects.create(
            ads=complete_ads, kind="attribution", file=f"ads/{n}.pdf", original_name=f"{n}.pdf"
        )
    client.force_login(manager)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(reverse("ads:detail", args=[complete_ads.pk]))

    assert response.status_code == 200
    assert response.content.decode().count("<tr><td>") == drivers


@pytest.mark.parametrize("revisions", [2, 30])
def test_the_ads_history(
    client, manager, staff, nimes, nimes_metropole, revisions, django_assert_max_num_queries
):
    ads = ADS.objects.create(
        authority=nimes_metropole, number="1", commune=nimes.commune, creation_date=None
    )
    for n in range(revisions):
        with reversion.create_revision():
            ads.holder_name = f"Titulaire {n}"
            ads.save()
            if n % 2:
                Driver.objects.create(ads=ads, status=Driver.Status.SALARIE, name=f"Chauffeur {n}")
            reversion.add_to_revision(ads)
            reversion.set_user(manager)
            reversion.set_comment(f"Modification {n}")
    client.force_login(staff)
    url = reverse("ads:history", args=[ads.pk])
    client.get(url)  # content types are cached once per process, not per page

    with django_assert_max_num_queries(HISTORY_QUERIES):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["page_obj"]) == revisions


@pytest.mark.parametrize("communes", [3, 40])
def test_the_authority_list_for_staff(
    client, staff, gard, nimes_metropole, communes, django_assert_max_num_queries
):
    for n in range(communes):
        commune = Commune.objects.create(
            insee_code=f"30{n + 300}",
            type=Commune.Type.ACTUELLE,
            name=f"Commune {n}",
            departement=gard,
        )
        authority = Authority.objects.create(
            type=Authority.Type.COMMUNE, name=commune.name, commune=commune, departement=gard
        )
        fill_register(authority, 2)
    Authority.objects.create(
        type=Authority.Type.PREFECTURE, name="Préfecture – Gard", prefecture=gard, departement=gard
    )
    airport = Airport.objects.create(code="LFTW", name="Nîmes-Garons", departement=gard)
    Authority.objects.create(
        type=Authority.Type.AIRPORT, name="Aéroport Nîmes-Garons", airport=airport, departement=gard
    )
    client.force_login(staff)

    with django_assert_max_num_queries(AUTHORITY_LIST_QUERIES):
        response = client.get(reverse("ads:authorities"))

    page = response.content.decode()
    assert "LFTW" in page and "200035319" in page and "30300" in page
    assert len(response.context["page_obj"]) == communes + 4  # with Nîmes, its EPCI


@pytest.mark.parametrize("size", [5, 120])
def test_the_dashboard(client, staff, gard, nimes_metropole, size, django_assert_max_num_queries):
    fill_register(nimes_metropole, size)
    for n in range(size // 10):
        AuthorityDecree.objects.create(
            authority=nimes_metropole,
            date=datetime.date(2020, 1, 1 + n),
            ads_count=n,
            file=f"arretes/{n}.pdf",
            original_name=f"{n}.pdf",
        )
        commune = Commune.objects.create(
            insee_code=f"30{n + 500}",
            type=Commune.Type.ACTUELLE,
            name=f"Commune {n}",
            departement=gard,
        )
        Authority.objects.create(
            type=Authority.Type.COMMUNE,
            name=commune.name,
            commune=commune,
            departement=gard,
            delegated_to=nimes_metropole,
        )
    client.force_login(staff)

    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = client.get(reverse("ads:authority", args=[nimes_metropole.pk]))

    assert response.context["stats"]["ads_total"] == size
