"""Queries behind the prefecture's space: its départements, the table of their
authorities with the state of their registers, and the feed of the latest changes.

Every figure of the table is computed by the database in the page's one query (a count
per figure, with the register's own rules), never a query per authority; the feed reads
the ``RegisterChange`` index, never the stored versions.
"""

import datetime

from django.db.models import Count, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from mesads.authorities.models import Authority, AuthorityQuerySet
from mesads.geo.models import Departement
from mesads.users.models import AuthorityAccess, PrefectureMembership, User

from .access import AUTHORITY_RELATED
from .certification import attested_q
from .models import ADS, ADSQuerySet, RegisterChange, certified_q


def supervised_departements(user: User) -> QuerySet[Departement]:
    """The départements whose prefecture space the user may open (national staff: all).

    Inspectors are not in it: the space is the prefecture's desk (requests to decide,
    expected numbers to set, records to certify), not part of the register they read.
    """
    if not user.is_authenticated or not user.is_active:
        return Departement.objects.none()
    if user.is_staff:
        return Departement.objects.all()
    return Departement.objects.filter(
        pk__in=PrefectureMembership.objects.filter(
            user=user, status=PrefectureMembership.Status.ACCEPTED
        ).values("departement_id")
    )


def _count(condition: Q) -> Coalesce:
    """How many live ADS of the outer authority meet ``condition``.

    A correlated count rather than ``Count("ads", filter=…)`` over a join: the table is
    not grouped, so counting its rows is cheap and its related objects come with it.
    Measured on 60,000 ADS (bench/prefecture.py), a page for Paris (20,000 ADS) or the
    Pas-de-Calais (907 authorities) takes half the time, counting the pages a fraction.
    """
    counts = (
        ADS.objects.live()
        .filter(condition, authority=OuterRef("pk"))
        .order_by()
        .values("authority")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0, output_field=IntegerField())


def _rate(part: str) -> Cast:
    return Cast(F(part), FloatField()) / Cast(NullIf(F("ads_total"), 0), FloatField())


def authority_table(
    departement: Departement, now: datetime.datetime | None = None
) -> AuthorityQuerySet:
    """The département's authorities, each with its counts of ADS by status.

    ``ads_attested`` counts records attested within twelve months; ``ads_certified`` those
    certified with no substantive change since. The ``*_rate`` annotations (None without
    ADS) are there to sort on.
    """
    now = now or timezone.now()
    delegating = (
        Authority.objects.filter(delegated_to=OuterRef("pk"))
        .order_by()
        .values("delegated_to")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Authority.objects.filter(departement=departement)
        .select_related(*AUTHORITY_RELATED)
        .annotate(
            ads_total=_count(Q()),
            ads_complete=_count(Q(is_complete=True)),
            ads_attested=_count(attested_q(now)),
            ads_certified=_count(certified_q()),
            delegating_count=Coalesce(
                Subquery(delegating, output_field=IntegerField()), 0, output_field=IntegerField()
            ),
        )
        .annotate(
            complete_rate=_rate("ads_complete"),
            certified_rate=_rate("ads_certified"),
        )
    )


def departement_totals(departement: Departement, now: datetime.datetime | None = None) -> dict:
    """The département's counts, all authorities together, in one aggregate query."""
    now = now or timezone.now()
    return (
        ADS.objects.live()
        .filter(authority__departement=departement)
        .aggregate(
            ads_total=Count("pk"),
            ads_complete=Count("pk", filter=Q(is_complete=True)),
            ads_attested=Count("pk", filter=attested_q(now)),
            ads_certified=Count("pk", filter=certified_q()),
        )
    )


def departement_ads(departement: Departement) -> ADSQuerySet:
    """The live ADS of the département, as its prefecture lists them."""
    return ADS.objects.live().filter(authority__departement=departement)


CHANGES_ORDER = ("-created_at", "-pk")


def changes_feed(departement: Departement) -> QuerySet[RegisterChange]:
    """The latest changes of the département's register, newest first.

    An index range scan on (département, date): the cost of a page does not depend on
    the size of the national history, and no stored version is read.
    """
    return (
        RegisterChange.objects.filter(departement=departement)
        .select_related("revision__user", "authority", "ads")
        .only(
            "created_at",
            "revision__comment",
            "revision__date_created",
            "revision__user__email",
            "revision__user__first_name",
            "revision__user__last_name",
            "authority__name",
            "ads__number",
            "ads__deleted_at",
        )
        # Exactly the index's order (département, -created_at, -id): the id breaks the
        # ties of a bulk import, whose changes share one date, so that none shifts
        # between pages, and the database still reads the page's rows only.
        .order_by(*CHANGES_ORDER)
    )


def pending_requests(departement: Departement) -> QuerySet[AuthorityAccess]:
    """Access requests to the département's authorities that await the prefecture."""
    return AuthorityAccess.objects.filter(
        authority__departement=departement, status=AuthorityAccess.Status.PENDING
    )
