"""The register's counts of each authority's ADS: what the authorities' queries
(``Authority.objects.declared``, ``by_ads_count``, ``with_ads_counts``) ask the register,
which holds the ADS, and the expressions the lists and the API build on."""

import datetime

from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FilteredRelation,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from mesads.authorities.models import Authority, AuthorityQuerySet, answer_from_above

from .ads import ADS
from .rules import renewal_overdue_q


def declared(authorities: AuthorityQuerySet, state: str) -> AuthorityQuerySet:
    """The authorities in one ``Authority.Declaration`` state (an index look-up each,
    not a count)."""
    has_ads = Exists(ADS.objects.filter(authority=OuterRef("pk"), deleted_at__isnull=True))
    return {
        Authority.Declaration.HAS_ADS: lambda: authorities.filter(has_ads),
        Authority.Declaration.NO_ADS: lambda: authorities.filter(declares_no_ads=True),
        Authority.Declaration.DELEGATES: lambda: authorities.filter(delegated_to__isnull=False),
        Authority.Declaration.NOTHING: lambda: authorities.filter(
            ~has_ads, declares_no_ads=False, delegated_to__isnull=True
        ),
    }[state]()


def by_ads_count(authorities: AuthorityQuerySet) -> AuthorityQuerySet:
    """Most ADS first (then by name): a count per authority from the ADS index."""
    # alias(), not annotate(): the paginator's COUNT(*) then leaves the subquery out.
    return authorities.alias(live_ads=live_ads_count()).order_by("-live_ads", "name", "pk")


def with_ads_counts(
    authorities: AuthorityQuerySet, today: datetime.date | None = None
) -> AuthorityQuerySet:
    today = today or timezone.localdate()
    # The live ADS joined as such (deleted_at IS NULL in the join's condition), so
    # that PostgreSQL counts them from ads_live_authority_counts_idx alone.
    return authorities.alias(
        counted_ads=FilteredRelation("ads", condition=Q(ads__deleted_at__isnull=True))
    ).annotate(
        ads_total=Count("counted_ads"),
        ads_in_use=Count("counted_ads", filter=Q(counted_ads__in_use=True)),
        ads_vacant=Count("counted_ads", filter=Q(counted_ads__in_use=False)),
        ads_incomplete=Count("counted_ads", filter=Q(counted_ads__is_complete=False)),
        ads_renewal_overdue=Count("counted_ads", filter=renewal_overdue_q(today, "counted_ads__")),
    )


def live_ads_count() -> Subquery:
    """The number of live ADS of the authority of the row, from the ADS index."""
    # COUNT as a plain function, not an aggregate: no GROUP BY in the subquery, which then
    # always answers one row (0 when there is none) without a Coalesce around it. Sorting
    # the 36,000 authorities by it: 75 → 51 ms at 60,000 ADS.
    live = (
        ADS.objects.filter(authority=OuterRef("pk"), deleted_at__isnull=True)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Subquery(live, output_field=models.IntegerField())


def declaration_state(ads_count: str) -> Case:
    """The row's ``Authority.Declaration`` state, given the name of its annotation that
    counts its live ADS: ADS first (an authority that delegates but still holds ADS has
    declared them), then « aucune », then a delegation."""
    return Case(
        When(**{f"{ads_count}__gt": 0}, then=Value(Authority.Declaration.HAS_ADS)),
        When(declares_no_ads=True, then=Value(Authority.Declaration.NO_ADS)),
        When(delegated_to__isnull=False, then=Value(Authority.Declaration.DELEGATES)),
        default=Value(Authority.Declaration.NOTHING),
        output_field=models.CharField(),
    )


answer_from_above(declared=declared, by_ads_count=by_ads_count, with_ads_counts=with_ads_counts)
