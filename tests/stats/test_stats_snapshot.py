"""The daily snapshot of the key figures: one row per département and one for France,
per day, however often the job runs; the page follows the shares month by month."""

import datetime

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse

from mesads.ads.models import ADS
from mesads.geo.models import Departement
from mesads.stats.models import DailySnapshot
from mesads.stats.snapshots import take_daily_snapshot

DAY = datetime.date(2026, 12, 3)


@pytest.fixture(autouse=True)
def _fresh_figures(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def declared(nimes, ales, montpellier, complete_ads):
    ales.declares_no_ads = True
    ales.save()
    return complete_ads


def test_one_row_per_departement_and_one_for_france(declared, gard, herault):
    Departement.objects.create(code="2A", name="Corse-du-Sud")

    summary = take_daily_snapshot(DAY)

    rows = DailySnapshot.objects.filter(date=DAY)
    assert rows.count() == 4  # Gard, Hérault, Corse-du-Sud (nothing there yet), France
    france = rows.get(departement=None)
    assert (france.ads_total, france.authorities_concerned, france.authorities_declared) == (
        1,
        3,
        2,
    )
    assert rows.get(departement=gard).authorities_declared == 2
    assert rows.get(departement__code="2A").authorities_concerned == 0
    assert "3 département(s) et la France" in summary


def test_a_second_run_the_same_day_updates_the_days_rows(declared, nimes, gard):
    take_daily_snapshot(DAY)
    ADS.objects.create(authority=nimes, number="13")

    take_daily_snapshot(DAY)

    assert DailySnapshot.objects.filter(date=DAY).count() == 3
    assert DailySnapshot.objects.get(date=DAY, departement=gard).ads_total == 2
    assert DailySnapshot.objects.get(date=DAY, departement=None).ads_total == 2
    take_daily_snapshot(DAY + datetime.timedelta(days=1))
    assert DailySnapshot.objects.count() == 6


def test_the_database_refuses_a_second_row_for_the_same_day(gard):
    DailySnapshot.objects.create(date=DAY, departement=None)
    DailySnapshot.objects.create(date=DAY, departement=gard)
    for departement in (None, gard):
        with pytest.raises(IntegrityError), transaction.atomic():
            DailySnapshot.objects.create(date=DAY, departement=departement)


def test_the_page_follows_the_shares_month_by_month(client, declared, gard):
    take_daily_snapshot(datetime.date(2026, 11, 10))
    ADS.objects.filter(pk=declared.pk).update(is_complete=False)
    take_daily_snapshot(datetime.date(2026, 11, 30))  # the month's last counts
    ADS.objects.filter(pk=declared.pk).update(is_complete=True)
    take_daily_snapshot(DAY)

    page = client.get(reverse("stats:key_figures")).content.decode()

    assert "Parts mesurées au dernier relevé de chaque mois" in page
    november = page.split('<th scope="row">novembre 2026</th>')[1].split("</tr>")[0]
    december = page.split('<th scope="row">décembre 2026</th>')[2].split("</tr>")[0]
    # Declared authorities (Nîmes and Alès out of three), then complete records.
    assert "<td>66,7\u00a0%</td><td>0,0\u00a0%</td>" in november
    assert "<td>66,7\u00a0%</td><td>100,0\u00a0%</td>" in december
