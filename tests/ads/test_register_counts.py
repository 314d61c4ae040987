"""The figures of an authority's register are read from its indexes, not from its rows.

Paris's dashboard counts its 20,000 ADS (in use, vacant, to complete, renewal overdue)
and lists the first 200 of its renewals; its list counts the ADS of each filter. On
PostgreSQL the counts read ``ads_live_authority_counts_idx`` alone (an index-only scan:
no table block), and the calendar reads its first rows in order from
``ads_live_renewal_due_idx`` instead of sorting the 2,300 due. The renewal rule is spelt
twice, as the lists filter it (``renewal_overdue_q``) and as that index orders it
(``renewal_due_by``): both must find the same ADS.
"""

import datetime
import re

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from mesads.ads.filters import ADSFilterForm
from mesads.ads.models import ADS, renewal_overdue_q
from mesads.authorities.models import Authority, AuthorityQuerySet
from tests.ads.test_ads_queries import fill_register

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="index-only scans are PostgreSQL's"
)


def last_plan(run) -> str:
    """The plan of the last query ``run()`` sends, when PostgreSQL may neither read the
    table nor build a bitmap (on the tiny test tables it would rightly read the table)."""
    with CaptureQueriesContext(connection) as queries:
        run()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + queries[-1]["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def columns_read(run, table: str = "ads_ads") -> set[str]:
    """The columns of ``table`` (a table or a join's alias over ads_ads) that the last query
    ``run()`` sends names."""
    with CaptureQueriesContext(connection) as queries:
        run()
    return set(re.findall(rf'"?{table}"?\."(\w+)"', queries[-1]["sql"]))


def index_columns(name: str) -> set[str]:
    """The columns an index of ads_ads holds as such (its fields, its F() keys and its
    included columns): not those under an expression, which PostgreSQL cannot read back."""
    index = next(i for i in ADS._meta.indexes if i.name == name)
    keys = [expression.name for expression in index.expressions if isinstance(expression, F)]
    names = [*index.fields, *keys, *index.include]
    return {ADS._meta.get_field(name).column for name in names}


def counts_index_columns() -> set[str]:
    return index_columns("ads_live_authority_counts_idx")


# Whether PostgreSQL may count from the index alone depends on its visibility map, which
# only VACUUM sets (never within a test's transaction): what is checked here is that the
# counts name no column the index lacks, which would force a read of every row.
# (``deleted_at`` is the index's condition, which the count repeats.)


def test_the_dashboards_figures_need_only_the_counts_index(nimes, complete_ads):
    read = columns_read(lambda: ADS.objects.live().filter(authority=nimes).stats())

    assert read - {"deleted_at"} <= counts_index_columns()


def test_the_authority_lists_counts_need_only_the_counts_index(nimes, complete_ads):
    counts = Authority.objects.filter(pk=nimes.pk).with_ads_counts()

    read = columns_read(lambda: list(counts.values("pk", *AuthorityQuerySet.COUNTS)), "counted_ads")

    assert read and read - {"deleted_at"} <= counts_index_columns()


def test_the_authority_list_counts_what_the_dashboard_counts(nimes, ales):
    fill_register(nimes, 40)
    ADS.objects.filter(authority=nimes, number__in=["1", "2", "B-3"]).update(
        deleted_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    today = datetime.date(2026, 12, 7)

    listed = {
        row.pop("pk"): row
        for row in Authority.objects.filter(pk__in=[nimes.pk, ales.pk])
        .with_ads_counts(today)
        .values("pk", *AuthorityQuerySet.COUNTS)
    }

    assert listed[nimes.pk] == ADS.objects.live().filter(authority=nimes).stats(today)
    assert listed[nimes.pk]["ads_total"] == 37
    assert listed[ales.pk] == dict.fromkeys(AuthorityQuerySet.COUNTS, 0)


FILTERS = [
    {"exploitation": "exploitee"},
    {"exploitation": "vacante"},
    {"completude": "complete"},
    {"completude": "a_completer"},
    {"regime": "nouvelle"},
    {"regime": "ancienne"},
    {"cpam": "on"},
    {"pmr": "on"},
    {"renouvellement": "on"},
    {"attestation": "a_verifier"},
    {"attestation": "attestee"},
    {"certification": "certifiee"},
    {"certification": "a_recertifier"},
    {"certification": "non_certifiee"},
]


@pytest.mark.parametrize("data", FILTERS, ids=lambda data: "=".join(*data.items()))
def test_each_filter_of_the_list_is_counted_from_the_counts_index(nimes, complete_ads, data):
    form = ADSFilterForm(data)
    assert form.is_valid(), form.errors
    filtered = form.apply(ADS.objects.live().of_authority(nimes))

    read = columns_read(filtered.count)

    assert read - {"deleted_at"} <= counts_index_columns()
    assert read - {"deleted_at", "authority_id"}  # the filter is in the count


def test_the_form_has_no_filter_this_test_does_not_count():
    tested = {name for data in FILTERS for name in data}

    assert set(ADSFilterForm.base_fields) - {"q"} == tested


@postgresql_only
def test_the_calendar_reads_its_first_renewals_in_order_from_the_index(nimes, complete_ads):
    horizon = datetime.date(2027, 12, 7)
    due = (
        ADS.objects.live()
        .filter(authority=nimes)
        .renewal_due_by(horizon)
        .order_by("validity_start", "number_sort_key", "pk")
    )

    explained = last_plan(lambda: list(due[:201]))

    assert "Index Scan using ads_live_renewal_due_idx" in explained, explained
    assert "Sort" not in explained, explained


def test_the_calendars_count_needs_only_the_renewal_index(nimes, complete_ads):
    due = ADS.objects.live().filter(authority=nimes).renewal_due_by(datetime.date(2027, 12, 7))

    read = columns_read(due.count)

    assert {"creation_date", "last_renewal_date"} <= read
    assert read - {"deleted_at"} <= index_columns("ads_live_renewal_due_idx")


@pytest.fixture
def renewals(nimes) -> list[ADS]:
    """New- and old-regime ADS around the five-year limit, a 29 February among them."""
    dates = [
        (None, None),
        (datetime.date(2010, 5, 1), None),  # old regime: never due
        (datetime.date(2014, 10, 1), None),
        (datetime.date(2016, 2, 29), None),
        (datetime.date(2019, 3, 1), None),
        (datetime.date(2015, 1, 1), datetime.date(2020, 2, 28)),
        (datetime.date(2015, 1, 1), datetime.date(2021, 12, 7)),
        (datetime.date(2015, 1, 1), datetime.date(2024, 6, 30)),
        (datetime.date(2022, 12, 8), None),
    ]
    return [
        ADS.objects.create(
            authority=nimes, number=str(n), creation_date=created, last_renewal_date=renewed
        )
        for n, (created, renewed) in enumerate(dates)
    ]


@pytest.mark.parametrize(
    "day",
    [
        datetime.date(2021, 2, 28),
        datetime.date(2021, 3, 1),
        datetime.date(2024, 3, 1),
        datetime.date(2026, 12, 7),
        datetime.date(2027, 12, 8),
        datetime.date(2029, 6, 30),
    ],
)
def test_the_calendar_and_the_lists_agree_on_what_is_due(nimes, renewals, day):
    live = ADS.objects.live().filter(authority=nimes)

    by_the_calendar = set(live.renewal_due_by(day).values_list("number", flat=True))
    by_the_lists = set(live.filter(renewal_overdue_q(day)).values_list("number", flat=True))

    assert by_the_calendar == by_the_lists
    assert by_the_lists  # the dates above are chosen so that each day has some due
