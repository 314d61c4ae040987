"""Searches that read the matching rows only.

On PostgreSQL, names, plates and SIRET are found through pg_trgm GIN indexes (migration
0006) led by the authority (0010, with btree_gin), ADS numbers through an index on the
number without dashes or spaces, so that a search in Paris touches the rows it finds, not
the 20,000 of the register. SQLite has no GIN: the same searches work there by scanning.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="GIN indexes exist on PostgreSQL only"
)


@pytest.fixture
def register(nimes, ales) -> dict[str, ADS]:
    ads = {
        "ux": ADS.objects.create(authority=nimes, number="UX-42", holder_name="Taxi Dupont"),
        "spaced": ADS.objects.create(authority=nimes, number="B 7", holder_name="Léa Martin"),
        "plain": ADS.objects.create(
            authority=nimes, number="742", holder_name="SARL Allo", vehicle_plate="AB-123-CD"
        ),
        "elsewhere": ADS.objects.create(authority=ales, number="UX42", holder_name="Dupont"),
    }
    Driver.objects.create(
        ads=ads["plain"], status=Driver.Status.SALARIE, name="Karim Benali", card_number="C-991"
    )
    ads["plain"].refresh_derived()
    ads["plain"].save()
    return ads


def found(authority: Authority, text: str) -> set[str]:
    return set(
        ADS.objects.filter(authority=authority).search(text).values_list("number", flat=True)
    )


@pytest.mark.parametrize(
    "text, numbers",
    [
        ("ux42", {"UX-42"}),
        ("UX 42", {"UX-42"}),
        ("u-x-4-2", {"UX-42"}),
        ("b7", {"B 7"}),
        ("B-7", {"B 7"}),
        ("dupont", {"UX-42"}),
        ("MARTIN", {"B 7"}),
        ("benali", {"742"}),
        ("c-991", {"742"}),
        ("123c", {"742"}),
        ("42", set()),  # a part of a number is not a number
    ],
)
def test_the_number_is_found_without_its_dashes_or_spaces(nimes, register, text, numbers):
    assert found(nimes, text) == numbers


def test_the_list_finds_ux42_as_a_manager_types_it(client, manager, nimes, register):
    client.force_login(manager)

    page = client.get(reverse("ads:list", args=[nimes.pk]), {"q": "ux42"}).content.decode()

    assert "ADS n° UX-42" in page
    assert "1 ADS correspondant à votre recherche" in page


def test_a_name_search_does_not_join_the_geography(nimes, ales):
    """Codes are looked for only in what looks like a code: a name reads one index."""
    by_name = str(Authority.objects.search("nimes").query)
    by_code = Authority.objects.search("30007")

    assert "geo_commune" not in by_name
    assert list(by_code) == [ales]
    assert list(Authority.objects.search("2A004")) == []


def plan(queryset) -> str:
    """The plan PostgreSQL chooses when it may neither read the whole table nor walk an
    unrelated index: a search branch no index serves leaves a Seq Scan in it. (On the
    tiny test tables, it would otherwise rightly prefer a scan.)"""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@postgresql_only
@pytest.mark.parametrize(
    "text, index",
    [
        ("dupont", "ads_holder_name_trgm_idx"),
        ("benali", "ads_drivers_search_trgm_idx"),
        ("123c", "ads_plate_search_trgm_idx"),
        ("ux42", "ads_number_search_idx"),
        ("12345", "ads_holder_siret_trgm_idx"),
    ],
)
def test_each_branch_of_an_ads_search_reads_an_index(nimes, register, text, index):
    explained = plan(ADS.objects.search(text))

    assert index in explained
    assert "Seq Scan on ads_ads" not in explained


@postgresql_only
def test_a_name_search_in_one_authority_reads_the_matches_of_that_authority(nimes, register):
    """The name's index is searched for Nîmes's ADS that match, not for every ADS of
    France that does, which PostgreSQL would then read to throw them away (in Paris,
    « SAS » found 5,292 rows to keep 1,798). The authority is compared as a bigint:
    btree_gin has no bigint = integer operator."""
    queryset = ADS.objects.live().of_authority(nimes).filter(holder_name__icontains="dupont")
    # On a table this small, PostgreSQL rightly reads Nîmes's few rows through any index
    # that holds the authority, then filters them: the name's index alone is left.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'ads_ads' AND indexname "
            "NOT IN ('ads_ads_pkey', 'ads_holder_name_trgm_idx')"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {name}")

    explained = plan(queryset)

    assert list(queryset) == [register["ux"]]
    index_scan = re.search(
        r"Bitmap Index Scan on ads_holder_name_trgm_idx .*\n\s+Index Cond: (.*)", explained
    )
    assert index_scan, explained
    assert f"(authority_id = '{nimes.pk}'::bigint) AND" in index_scan.group(1)


def test_the_list_compares_the_authority_as_a_bigint(client, manager, nimes, register):
    """What lets the search above use the authority (and SQLite is fine with the cast)."""
    client.force_login(manager)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("ads:list", args=[nimes.pk]), {"q": "dupont"})

    assert "1 ADS correspondant à votre recherche" in response.content.decode()
    count = next(q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(*)"))
    typed = rf'"authority_id" = \(?(\({nimes.pk}\)::bigint|CAST\({nimes.pk} AS bigint\))'
    assert re.search(typed, count), count


@postgresql_only
def test_an_authority_name_search_reads_the_trigram_index(nimes, ales):
    explained = plan(Authority.objects.search("nime"))

    assert "authority_search_name_trgm_idx" in explained
    assert "Seq Scan" not in explained


@postgresql_only
def test_the_trigram_extension_and_indexes_exist():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone()
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm_idx'")
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ads\\_%%_trgm_idx' "
            "AND indexdef LIKE '%%USING gin (authority_id, %%'"
        )
        led_by_the_authority = {row[0] for row in cursor.fetchall()}
    assert names == {
        "ads_holder_name_trgm_idx",
        "ads_drivers_search_trgm_idx",
        "ads_plate_search_trgm_idx",
        "ads_holder_siret_trgm_idx",
        "authority_search_name_trgm_idx",
    }
    assert led_by_the_authority == names - {"authority_search_name_trgm_idx"}
