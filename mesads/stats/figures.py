"""The register's key figures: counts of live ADS and of authorities, by département.

Two aggregate queries give every département at once (``live_counts``), grouped by the
authority's département with conditional counts; two more give the number of ADS month
by month since the register opened (``monthly_ads``). Nothing here runs a query per
département or per authority, so the « Chiffres clés » page and the daily snapshot cost
the same whatever the size of the country.

What the figures mean (also said on the page):

- an ADS counts while it is not deleted; the shares of PMR-accessible, low-emission and
  CPAM-agreed vehicles are over the ADS *in use* (a vacant ADS has no vehicle);
- « attested » is attested by its manager within twelve months, « certified » is certified
  by the prefecture with no substantive change since (the register's own rules);
- the authorities *concerned* are those that must say where they stand: every commune,
  and the EPCIs, prefectures and airports that hold ADS, declared having none, or received
  a commune's delegation. A commune that delegated to an EPCI is not counted itself: it is
  counted once, through its EPCI (which may gather several communes). An authority has
  *declared* when it holds live ADS or declared having none;
- an authority's *expected* number of ADS is the one its prefecture set
  (``Authority.expected_ads_count``), else the number fixed by its latest decree
  (``AuthorityDecree``); the ADS declared are compared with it only for the authorities
  whose expected number is known.
"""

import dataclasses
import datetime
from collections.abc import Iterable

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from mesads.ads.certification import attested_q
from mesads.ads.models import ADS, AuthorityDecree, certified_q
from mesads.authorities.models import Authority
from mesads.geo.models import Departement

from .models import COUNTS, DailySnapshot


@dataclasses.dataclass(frozen=True)
class Counts:
    """The counts of one territory (a département, or France), and their shares."""

    ads_total: int = 0
    ads_in_use: int = 0
    ads_complete: int = 0
    ads_attested: int = 0
    ads_certified: int = 0
    ads_pmr: int = 0
    ads_low_emission: int = 0
    ads_cpam: int = 0
    ads_expected: int = 0
    ads_of_expected: int = 0
    authorities_concerned: int = 0
    authorities_declared: int = 0
    authorities_with_expected: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in COUNTS})

    @classmethod
    def total(cls, many: Iterable["Counts"]) -> "Counts":
        return sum(many, cls())

    @classmethod
    def of(cls, row) -> "Counts":
        """From a mapping or a ``DailySnapshot``."""
        get = row.get if isinstance(row, dict) else lambda name, default: getattr(row, name)
        return cls(**{name: get(name, 0) or 0 for name in COUNTS})

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    # Shares, in per cent with one decimal; None when there is nothing to divide.
    @property
    def declaration_rate(self) -> float | None:
        return percent(self.authorities_declared, self.authorities_concerned)

    @property
    def complete_rate(self) -> float | None:
        return percent(self.ads_complete, self.ads_total)

    @property
    def attested_rate(self) -> float | None:
        return percent(self.ads_attested, self.ads_total)

    @property
    def certified_rate(self) -> float | None:
        return percent(self.ads_certified, self.ads_total)

    @property
    def pmr_rate(self) -> float | None:
        return percent(self.ads_pmr, self.ads_in_use)

    @property
    def low_emission_rate(self) -> float | None:
        return percent(self.ads_low_emission, self.ads_in_use)

    @property
    def cpam_rate(self) -> float | None:
        return percent(self.ads_cpam, self.ads_in_use)

    @property
    def expected_rate(self) -> float | None:
        """ADS declared by the authorities whose expected number is known, against it."""
        return percent(self.ads_of_expected, self.ads_expected)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ads_counts(now: datetime.datetime) -> dict[int | None, dict]:
    """Counts of live ADS, by département of their authority: one grouped query."""
    in_use = Q(in_use=True)
    rows = (
        ADS.objects.live()
        .order_by()
        .values("authority__departement_id")
        .annotate(
            ads_total=Count("pk"),
            ads_in_use=Count("pk", filter=in_use),
            ads_complete=Count("pk", filter=Q(is_complete=True)),
            ads_attested=Count("pk", filter=attested_q(now)),
            ads_certified=Count("pk", filter=certified_q()),
            ads_pmr=Count("pk", filter=in_use & Q(vehicle_pmr=True)),
            ads_low_emission=Count("pk", filter=in_use & Q(vehicle_low_emission=True)),
            ads_cpam=Count("pk", filter=in_use & Q(cpam_agreement=True)),
        )
    )
    return {row.pop("authority__departement_id"): row for row in rows}


def _authority_counts() -> dict[int | None, dict]:
    """Counts of authorities, by département: one grouped query.

    The per-authority facts are uncorrelated ``IN`` subqueries (which authorities
    hold live ADS, which received a delegation), that the database evaluates once and
    hashes; only the few authorities with an expected number run a correlated count.
    """
    holds_ads = Q(pk__in=ADS.objects.live().order_by().values("authority_id"))
    receives_delegation = Q(
        pk__in=Authority.objects.filter(delegated_to__isnull=False)
        .order_by()
        .values("delegated_to_id")
    )
    declared_none = Q(declares_no_ads=True)
    not_delegating = Q(delegated_to__isnull=True)
    concerned = not_delegating & (
        Q(type=Authority.Type.COMMUNE) | holds_ads | declared_none | receives_delegation
    )
    # Holding ADS or declaring none makes an authority concerned: no need to say it twice
    # (each mention of holds_ads is one more pass over the ADS).
    declared = not_delegating & (holds_ads | declared_none)
    latest_decree = (
        AuthorityDecree.objects.filter(authority=OuterRef("pk"))
        .order_by("-date", "-pk")
        .values("ads_count")[:1]
    )
    expected = Case(
        When(expected_ads_count__isnull=False, then=F("expected_ads_count")),
        When(
            pk__in=AuthorityDecree.objects.order_by().values("authority_id"),
            then=Subquery(latest_decree),
        ),
        default=None,
        output_field=IntegerField(),
    )
    live_ads = (
        ADS.objects.live()
        .filter(authority=OuterRef("pk"))
        .order_by()
        .values("authority")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Authority.objects.order_by()
        .alias(expected=expected)
        .values("departement_id")
        .annotate(
            authorities_concerned=Count("pk", filter=concerned),
            authorities_declared=Count("pk", filter=declared),
            authorities_with_expected=Count("pk", filter=Q(expected__isnull=False)),
            ads_expected=Coalesce(Sum("expected"), 0),
            ads_of_expected=Coalesce(
                Sum(
                    Case(
                        When(
                            expected__isnull=False,
                            then=Coalesce(Subquery(live_ads, output_field=IntegerField()), 0),
                        ),
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                ),
                0,
            ),
        )
    )
    return {row.pop("departement_id"): row for row in rows}


def live_counts(now: datetime.datetime | None = None) -> dict[int | None, Counts]:
    """Today's counts by département id (``None``: authorities without a département).

    France's figures are ``Counts.total(live_counts().values())``.
    """
    now = now or timezone.now()
    ads, authorities = _ads_counts(now), _authority_counts()
    return {
        key: Counts.of(ads.get(key, {}) | authorities.get(key, {}))
        for key in ads.keys() | authorities.keys()
    }


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The first day of every month from ``first``'s to ``last``'s, both included."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _local_date(moment: datetime.datetime) -> datetime.date:
    # TruncMonth truncates in the current time zone (Europe/Paris): an ADS entered on
    # 1 March at 00:30 belongs to March, not to February as in UTC.
    return timezone.localdate(moment)


def monthly_ads(today: datetime.date | None = None) -> list[tuple[datetime.date, int]]:
    """The number of live ADS at the end of each month, since the first ADS was entered.

    Rebuilt from when each ADS was entered in the register (``created_at``) and deleted
    (``deleted_at``): exact for every month, in two grouped queries, with no history to
    backfill. (A deleted ADS that national staff restore counts as if never deleted.)
    """
    today = today or timezone.localdate()
    created = dict(
        ADS.objects.order_by()
        .annotate(month=TruncMonth("created_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
    )
    deleted = dict(
        ADS.objects.filter(deleted_at__isnull=False)
        .order_by()
        .annotate(month=TruncMonth("deleted_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
    )
    if not created:
        return []
    created = {_local_date(month): n for month, n in created.items()}
    deleted = {_local_date(month): n for month, n in deleted.items()}
    history, running = [], 0
    for month in months_between(min(created), today):
        running += created.get(month, 0) - deleted.get(month, 0)
        history.append((month, running))
    return history


# --- the page ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DepartementFigures:
    code: str
    name: str
    counts: Counts


@dataclasses.dataclass(frozen=True)
class KeyFigures:
    computed_at: datetime.datetime
    national: Counts
    departements: list[DepartementFigures]
    # (first day of the month, live ADS at its end), since the first ADS.
    ads_by_month: list[tuple[datetime.date, int]]
    # (first day of the month, France's last snapshot of that month).
    snapshots_by_month: list[tuple[datetime.date, Counts]]


def compute_key_figures(now: datetime.datetime | None = None) -> KeyFigures:
    """Everything the « Chiffres clés » page shows, in six queries whatever the size of
    the register: live counts (2), the départements (1), ADS by month (2), snapshots (1)."""
    now = now or timezone.now()
    counts = live_counts(now)
    departements = [
        DepartementFigures(code, name, counts.get(pk, Counts()))
        for pk, code, name in Departement.objects.order_by("code").values_list("pk", "code", "name")
    ]
    by_month: dict[datetime.date, Counts] = {}
    for snapshot in DailySnapshot.objects.filter(departement__isnull=True).order_by("date"):
        by_month[snapshot.date.replace(day=1)] = Counts.of(snapshot)  # the month's last
    return KeyFigures(
        computed_at=now,
        national=Counts.total(counts.values()),
        departements=departements,
        ads_by_month=monthly_ads(timezone.localdate(now)),
        snapshots_by_month=sorted(by_month.items()),
    )
