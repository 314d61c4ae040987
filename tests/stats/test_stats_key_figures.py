"""The public « Chiffres clés » page: what a visitor reads equals what the register holds.

The data set: in the Gard, Nîmes (3 live ADS and a deleted one, 5 expected), Alès
(declared having none), Uzès (nothing yet), and two communes that delegated to the CA
Nîmes Métropole, which holds one ADS; in the Hérault, Montpellier (nothing yet, 10 ADS
fixed by its latest decree) and an EPCI nobody delegated to (not concerned).
"""

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesads.ads.models import ADS, AuthorityDecree
from mesads.authorities.models import Authority
from mesads.geo.models import EPCI, Commune, Departement
from mesads.stats.figures import Counts, live_counts, monthly_ads

URL = reverse("stats:key_figures")


@pytest.fixture(autouse=True)
def _fresh_figures(db):
    # The page's figures are cached for a few minutes: each test computes its own.
    cache.clear()
    yield
    cache.clear()


def _commune(code: str, name: str, departement: Departement, **fields) -> Authority:
    commune = Commune.objects.create(
        insee_code=code, type=Commune.Type.ACTUELLE, name=name, departement=departement
    )
    return Authority.objects.create(
        type=Authority.Type.COMMUNE, name=name, commune=commune, departement=departement, **fields
    )


def _epci(siren: str, name: str, departement: Departement) -> Authority:
    epci = EPCI.objects.create(siren=siren, name=name, type="CA", departement=departement)
    return Authority.objects.create(
        type=Authority.Type.EPCI, name=name, epci=epci, departement=departement
    )


def _ads(authority: Authority, number: str, **fields) -> ADS:
    ads = ADS(authority=authority, number=number, creation_date=datetime.date(2016, 5, 2))
    for name, value in fields.items():
        setattr(ads, name, value)
    ads.save()
    return ads


@pytest.fixture
def register(gard, herault, nimes, ales, montpellier):
    now = timezone.now()
    nimes.expected_ads_count = 5
    nimes.save()
    ales.declares_no_ads = True
    ales.save()
    _commune("30334", "Uzès", gard)
    metropole = _epci("200035319", "CA Nîmes Métropole", gard)
    for code, name in [("30156", "Marguerittes"), ("30060", "Caissargues")]:
        _commune(code, name, gard, delegated_to=metropole)
    _epci("243400017", "Montpellier Méditerranée Métropole", herault)
    for date, count in [(datetime.date(2015, 1, 5), 8), (datetime.date(2021, 3, 1), 10)]:
        AuthorityDecree.objects.create(
            authority=montpellier, date=date, ads_count=count, file="arretes/x.pdf"
        )

    _ads(nimes, "1", in_use=True, vehicle_pmr=True, vehicle_low_emission=True)
    _ads(nimes, "2", in_use=True, cpam_agreement=True, vehicle_low_emission=False)
    _ads(nimes, "3", in_use=False, vehicle_pmr=True, cpam_agreement=True)  # vacant
    deleted = _ads(nimes, "4", in_use=True, vehicle_pmr=True, cpam_agreement=True)
    _ads(metropole, "M-1", in_use=True)
    ADS.objects.filter(pk=deleted.pk).update(deleted_at=now)
    ADS.objects.filter(number__in=["1", "2"]).update(is_complete=True)
    ADS.objects.filter(number="1").update(attested_at=now, certified_at=now)
    ADS.objects.filter(number="M-1").update(attested_at=now - datetime.timedelta(days=400))
    return metropole


GARD = Counts(
    ads_total=4,  # Nîmes' three live ADS and the EPCI's; the deleted one is not counted
    ads_in_use=3,
    ads_complete=2,
    ads_attested=1,  # the EPCI's was attested over a year ago
    ads_certified=1,
    ads_pmr=1,  # the vacant ADS' vehicle does not count
    ads_low_emission=1,
    ads_cpam=1,
    ads_expected=5,
    ads_of_expected=3,
    # Nîmes, Alès, Uzès and the EPCI; its two delegating communes are counted through it.
    authorities_concerned=4,
    authorities_declared=3,  # Nîmes, Alès (none), the EPCI
    authorities_with_expected=1,
)
HERAULT = Counts(
    ads_expected=10,  # the latest decree, not the older one
    authorities_concerned=1,  # Montpellier; the EPCI without delegation is not concerned
    authorities_with_expected=1,
)


def test_the_counts_by_departement_are_the_registers(register, gard, herault):
    counts = live_counts()

    assert counts[gard.pk] == GARD
    assert counts[herault.pk] == HERAULT
    national = Counts.total(counts.values())
    assert national.ads_total == ADS.objects.live().count() == 4
    assert national.authorities_concerned == 5
    assert national.declaration_rate == 60.0
    assert GARD.declaration_rate == 75.0
    assert GARD.pmr_rate == 33.3


def _row(page: str, header: str) -> list[str]:
    """The cells of the table row whose header is ``header``."""
    match = re.search(rf"<th scope=\"row\">{re.escape(header)}</th>(.*?)</tr>", page, re.S)
    assert match, header
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td>(.*?)</td>", match[1], re.S)
    ]


def test_a_visitor_reads_the_figures_of_the_register(client, register):
    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Chiffres clés du registre</h1>" in page
    assert "des gestionnaires ont déclaré (3 sur 5)" in page
    assert _row(page, "30 – Gard") == [
        "4", "3", "75,0\u00a0%", "4",
        "5 ADS déclarées par ces gestionnaires : 3", "50,0\u00a0%", "25,0\u00a0%",
    ]  # fmt: skip
    assert _row(page, "34 – Hérault") == [
        "1",
        "0",
        "0,0\u00a0%",
        "0",
        "10 ADS déclarées par ces gestionnaires : 0",
        "—",
        "—",
    ]
    assert _row(page, "France entière")[:4] == ["5", "3", "60,0\u00a0%", "4"]
    assert _row(page, "Véhicules accessibles en fauteuil roulant") == [
        "33,3\u00a0%",
        "1",
        "ADS exploitées : 3",
    ]
    assert _row(page, "Taxis conventionnés CPAM")[:2] == ["33,3\u00a0%", "1"]
    # The map colours each département by its declaration rate.
    assert 'data="{&quot;30&quot;: 75.0, &quot;34&quot;: 0.0}"' in page
    assert 'value="60.0"' in page


def test_the_evolution_month_by_month_since_the_register_opened(client, register):
    paris = timezone.get_current_timezone()
    entered = datetime.datetime(2026, 9, 30, 23, 30, tzinfo=paris)
    ADS.objects.filter(number__in=["1", "2"]).update(created_at=entered)
    ADS.objects.filter(number__in=["3", "4"]).update(
        created_at=datetime.datetime(2026, 10, 1, 0, 30, tzinfo=paris)  # October in Paris
    )
    ADS.objects.filter(number="4").update(
        deleted_at=datetime.datetime(2026, 11, 15, 10, tzinfo=paris)
    )
    ADS.objects.filter(number="M-1").update(
        created_at=datetime.datetime(2026, 11, 2, 10, tzinfo=paris)
    )

    assert monthly_ads(datetime.date(2026, 12, 3)) == [
        (datetime.date(2026, 9, 1), 2),
        (datetime.date(2026, 10, 1), 4),
        (datetime.date(2026, 11, 1), 4),  # one entered, one deleted
        (datetime.date(2026, 12, 1), 4),
    ]
    page = client.get(URL).content.decode()
    assert _row(page, "septembre 2026") == ["2"]
    assert _row(page, "octobre 2026") == ["4"]


def test_an_empty_register_says_so(client, gard):
    response = client.get(URL)

    assert response.status_code == 200
    assert "Aucune ADS n’a encore été déclarée." in response.content.decode()


def test_the_home_page_links_to_the_key_figures(client, db):
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()


def _add_departements(count: int, authorities: int) -> None:
    """More départements, each with communes, delegations, decrees and ADS."""
    for index in range(count):
        departement = Departement.objects.create(code=f"{50 + index}", name=f"Dépt {index}")
        epci = _epci(f"2000000{index:02d}", f"EPCI {index}", departement)
        for number in range(authorities):
            code = f"{50 + index}{number:03d}"
            commune = _commune(code, f"Commune {code}", departement)
            if number % 3 == 0:
                commune.delegated_to = epci
                commune.save()
            elif number % 3 == 1:
                commune.expected_ads_count = 2
                commune.save()
                _ads(commune, "1")
                AuthorityDecree.objects.create(
                    authority=commune, date=datetime.date(2020, 1, 1), ads_count=3, file="x.pdf"
                )


def _queries(client) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["anonymous", "staff"])
def test_the_page_costs_the_same_queries_whatever_the_size_of_the_country(
    client, register, staff, persona
):
    if persona == "staff":
        client.force_login(staff)
    small = _queries(client)

    _add_departements(count=6, authorities=12)
    large = _queries(client)

    assert large == small
    assert "50 – Dépt 0" in client.get(URL).content.decode()


def test_the_figures_are_computed_once_then_served_from_the_cache(client, register, nimes):
    first = _queries(client)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(URL).content.decode()
    _ads(nimes, "5")

    # The cached figures: a cache read, none of the six figure queries.
    assert len(queries) <= first - 6
    assert "des gestionnaires ont déclaré (3 sur 5)" in page
    assert _row(client.get(URL).content.decode(), "30 – Gard")[3] == "4"


def test_no_visitor_waits_for_the_figures_once_they_were_computed(client, register, settings):
    """Past five minutes the page still answers at once with the figures it has, and the
    worker computes new ones: one refresh queued, whichever server noticed first."""
    from django_tasks import default_task_backend

    from mesads.stats import current

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default", "emails", "imports"],
        }
    }

    def figures_shown() -> str:
        page = client.get(URL).content.decode()
        return page[page.index("<h1>") : page.index("Comment lire ces chiffres")]

    first = figures_shown()  # nothing cached yet: computed in the request
    Authority.objects.filter(name="Uzès").update(declares_no_ads=True)
    cache.delete(current.FRESH_KEY)  # five minutes later

    with CaptureQueriesContext(connection) as queries:
        stale = figures_shown()
    figures_shown()
    assert stale == first  # the same figures, without their queries
    assert not [q for q in queries.captured_queries if "ads_ads" in q["sql"]]
    [queued] = default_task_backend.results
    assert queued.task.name == "refresh_key_figures"

    current.refresh_key_figures.call()  # what the worker does
    fresh = figures_shown()
    assert fresh != first
    assert cache.get(current.FRESH_KEY) is not None
