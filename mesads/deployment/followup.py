"""The figures of « Suivi du déploiement », for national staff.

Per département: where its authorities stand in their declaration, the managers who have
access and those who never came back, the access requests waiting for the prefecture,
the completeness and certification of its ADS; per prefecture: its agents and how fast
it decides. Every figure comes from a handful of aggregate queries grouped by
département (conditional counts), never a query per département or per authority: the
page costs the same for 101 départements as for 3.

The drill-down into one département is one query for a page of its authorities, each
with its figures as correlated counts (the prefecture's own table, plus accounts and
requests), sorted and paginated by the database.
"""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from mesads.ads import prefecture
from mesads.ads.certification import attested_q
from mesads.ads.models import ADS, certified_q, declaration_state
from mesads.authorities.models import Authority, AuthorityQuerySet
from mesads.core.computed import computed_once
from mesads.geo.models import Departement
from mesads.users.models import AuthorityAccess, PrefectureMembership, Status

# A manager whose last login is older than this is « pas vu depuis 6 mois ».
DORMANT_AFTER = datetime.timedelta(days=183)
# Decisions counted, and whose median delay is shown: those of the last twelve months
# (the bound that keeps SQLite's median, computed in Python, small).
DECISION_PERIOD = datetime.timedelta(days=365)

# An authority's declaration, one state each (the states of Authority.Declaration made
# exclusive): ADS in the register first — a commune that delegated to an EPCI but still
# holds ADS of its own has declared them —, then « aucune ADS », then the delegation.
DECLARATION_LABELS = {
    Authority.Declaration.HAS_ADS: "ADS déclarées",
    Authority.Declaration.NO_ADS: "Aucune ADS",
    Authority.Declaration.DELEGATES: "Délègue à un EPCI",
    Authority.Declaration.NOTHING: "Rien déclaré",
}


def _manager_q(prefix: str = "") -> Q:
    """An accepted access of an active account, not an agent acting as manager (agents
    are counted with their prefecture)."""
    return Q(
        **{
            f"{prefix}status": Status.ACCEPTED,
            f"{prefix}via_prefecture": False,
            f"{prefix}user__is_active": True,
        }
    )


def _never_logged_in_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}user__last_login__isnull": True})


def _dormant_q(now: datetime.datetime, prefix: str = "") -> Q:
    """Seen once, but not for six months (never seen is the other column)."""
    return Q(**{f"{prefix}user__last_login__lt": now - DORMANT_AFTER})


def _decided_q(now: datetime.datetime) -> Q:
    """Requests the prefecture decided within the period. A revoked access is left out:
    its decision date is the revocation's, not the answer's; so is an agent's own choice
    to act as manager, which nobody decided."""
    return Q(
        status__in=[Status.ACCEPTED, Status.REFUSED],
        via_prefecture=False,
        decided_at__gte=now - DECISION_PERIOD,
    )


class MedianSeconds(Aggregate):
    """PostgreSQL's exact median of a duration, in seconds."""

    function = "percentile_cont"
    name = "MedianSeconds"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


def _rate(part: int, total: int) -> float | None:
    return part / total if total else None


@dataclass
class DepartementFigures:
    """One row of the national tables."""

    departement: Departement
    authorities: int = 0
    with_ads: int = 0
    no_ads: int = 0
    delegates: int = 0
    managers: int = 0
    never_logged_in: int = 0
    dormant: int = 0
    pending: int = 0
    oldest_pending: datetime.datetime | None = None
    ads_total: int = 0
    ads_complete: int = 0
    ads_attested: int = 0
    ads_certified: int = 0
    agents: int = 0
    memberships_pending: int = 0
    decided: int = 0
    accepted: int = 0
    refused: int = 0
    median_decision_seconds: float | None = None
    now: datetime.datetime = field(default_factory=timezone.now, repr=False)

    @property
    def code(self) -> str:
        return self.departement.code

    @property
    def name(self) -> str:
        return self.departement.name

    @property
    def nothing(self) -> int:
        return self.authorities - self.with_ads - self.no_ads - self.delegates

    @property
    def declared(self) -> int:
        return self.with_ads + self.no_ads + self.delegates

    @property
    def declared_rate(self) -> float | None:
        return _rate(self.declared, self.authorities)

    @property
    def complete_rate(self) -> float | None:
        return _rate(self.ads_complete, self.ads_total)

    @property
    def certified_rate(self) -> float | None:
        return _rate(self.ads_certified, self.ads_total)

    @property
    def oldest_pending_days(self) -> int | None:
        return age_in_days(self.oldest_pending, self.now)

    @property
    def median_decision_days(self) -> float | None:
        if self.median_decision_seconds is None:
            return None
        return round(self.median_decision_seconds / 86400, 1)


def age_in_days(moment: datetime.datetime | None, now: datetime.datetime) -> int | None:
    return None if moment is None else max((now - moment).days, 0)


def _by_departement(rows, key: str = "dept") -> dict[int, dict]:
    return {row.pop(key): row for row in rows}


def _only(queryset: QuerySet, path: str, departement: Departement | None) -> QuerySet:
    return queryset if departement is None else queryset.filter(**{path: departement})


def _declarations(departement: Departement | None) -> dict[int, dict]:
    """Authorities by what they declared, whether they hold ADS or not (``_ads`` counts
    those that do: the states are made exclusive in ``_figures``)."""
    return _by_departement(
        _only(Authority.objects.filter(departement__isnull=False), "departement", departement)
        .order_by()
        .values(dept=F("departement_id"))
        .annotate(
            authorities=Count("pk"),
            no_ads=Count("pk", filter=Q(declares_no_ads=True)),
            delegates=Count("pk", filter=Q(delegated_to__isnull=False)),
        )
    )


def _ads(now: datetime.datetime, departement: Departement | None) -> dict[int, dict]:
    # The authorities holding ADS are counted here, from the ADS, rather than by an
    # EXISTS for each of the 36,000 authorities (three times slower on 60,000 ADS).
    return _by_departement(
        _only(ADS.objects.live(), "authority__departement", departement)
        .order_by()
        .values(dept=F("authority__departement_id"))
        .annotate(
            ads_total=Count("pk"),
            ads_complete=Count("pk", filter=Q(is_complete=True)),
            ads_attested=Count("pk", filter=attested_q(now)),
            ads_certified=Count("pk", filter=certified_q()),
            with_ads=Count("authority_id", distinct=True),
            with_ads_no_ads=Count(
                "authority_id", distinct=True, filter=Q(authority__declares_no_ads=True)
            ),
            with_ads_delegates=Count(
                "authority_id", distinct=True, filter=Q(authority__delegated_to__isnull=False)
            ),
        )
    )


def _accounts(now: datetime.datetime, departement: Departement | None) -> dict[int, dict]:
    manager = _manager_q()
    pending = Q(status=Status.PENDING)
    return _by_departement(
        _only(AuthorityAccess.objects.all(), "authority__departement", departement)
        .order_by()
        .values(dept=F("authority__departement_id"))
        .annotate(
            # A person managing two communes of the département is one manager.
            managers=Count("user", distinct=True, filter=manager),
            never_logged_in=Count("user", distinct=True, filter=manager & _never_logged_in_q()),
            dormant=Count("user", distinct=True, filter=manager & _dormant_q(now)),
            pending=Count("pk", filter=pending),
            oldest_pending=Min("created_at", filter=pending),
        )
    )


def _agents(departement: Departement | None) -> dict[int, dict]:
    return _by_departement(
        _only(PrefectureMembership.objects.all(), "departement", departement)
        .order_by()
        .values(dept=F("departement_id"))
        .annotate(
            agents=Count(
                "user", distinct=True, filter=Q(status=Status.ACCEPTED, user__is_active=True)
            ),
            memberships_pending=Count("pk", filter=Q(status=Status.PENDING)),
        )
    )


def _decisions(now: datetime.datetime, departement: Departement | None) -> dict[int, dict]:
    decided = _only(
        AuthorityAccess.objects.filter(_decided_q(now)), "authority__departement", departement
    ).order_by()
    postgresql = connections[decided.db].vendor == "postgresql"
    extra = (
        {"median_decision_seconds": MedianSeconds(F("decided_at") - F("created_at"))}
        if postgresql
        else {}
    )
    figures = _by_departement(
        decided.values(dept=F("authority__departement_id")).annotate(
            decided=Count("pk"),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
            refused=Count("pk", filter=Q(status=Status.REFUSED)),
            **extra,
        )
    )
    if not postgresql:
        # SQLite has no percentile: the period's decisions (a bounded set: a year of
        # answers) are read as two dates each, in one query, and the median taken here.
        delays = defaultdict(list)
        for dept, created_at, decided_at in decided.values_list(
            "authority__departement_id", "created_at", "decided_at"
        ):
            delays[dept].append((decided_at - created_at).total_seconds())
        for dept, values in delays.items():
            figures[dept]["median_decision_seconds"] = statistics.median(values)
    return figures


def departement_figures(now: datetime.datetime | None = None) -> list[DepartementFigures]:
    """Every département's figures, in the order of their codes: six queries in all
    (seven on SQLite, which reads the delays to take their median)."""
    now = now or timezone.now()
    return _figures(Departement.objects.order_by("code"), now, None)


def shared_departement_figures() -> list[DepartementFigures]:
    """``departement_figures()``, computed once for all the requests that arrive while it
    is being computed, on every server (the national tables and their export)."""
    return computed_once("deployment:departement-figures", departement_figures)


def one_departement_figures(
    departement: Departement, now: datetime.datetime | None = None
) -> DepartementFigures:
    """The same figures for one département (the same five queries, on its rows only)."""
    return _figures([departement], now or timezone.now(), departement)[0]


def _figures(departements, now: datetime.datetime, only: Departement | None):
    parts = [
        _declarations(only),
        _ads(now, only),
        _accounts(now, only),
        _agents(only),
        _decisions(now, only),
    ]
    rows = []
    for departement in departements:
        values = {}
        for part in parts:
            values |= part.get(departement.pk, {})
        # An authority holding ADS has declared them, whatever else it said.
        values["no_ads"] = values.get("no_ads", 0) - values.pop("with_ads_no_ads", 0)
        values["delegates"] = values.get("delegates", 0) - values.pop("with_ads_delegates", 0)
        row = DepartementFigures(departement=departement, now=now)
        for name, value in values.items():
            if value is not None:
                setattr(row, name, value)
        rows.append(row)
    return rows


# --- one département: its authorities ----------------------------------------------------


def _count(queryset: QuerySet) -> Coalesce:
    counts = queryset.order_by().values("authority").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0, output_field=IntegerField())


def authority_table(
    departement: Departement, now: datetime.datetime | None = None
) -> AuthorityQuerySet:
    """The département's authorities, each with the prefecture's figures (``ads_total``,
    ``ads_complete``, ``ads_certified``, their rates…) and its accounts and requests:
    ``managers``, ``never_logged_in``, ``dormant``, ``pending``, ``oldest_pending``, and
    its ``declaration`` (one ``Authority.Declaration`` value)."""
    now = now or timezone.now()
    accesses = AuthorityAccess.objects.filter(authority=OuterRef("pk"))
    manager = _manager_q()
    pending = accesses.filter(status=Status.PENDING)
    oldest = (
        pending.order_by().values("authority").annotate(oldest=Min("created_at")).values("oldest")
    )
    return (
        prefecture.authority_table(departement, now)
        .annotate(
            # One access per person and authority: counting accesses counts people.
            managers=_count(accesses.filter(manager)),
            never_logged_in=_count(accesses.filter(manager & _never_logged_in_q())),
            dormant=_count(accesses.filter(manager & _dormant_q(now))),
            pending=_count(pending),
            oldest_pending=Subquery(oldest, output_field=DateTimeField()),
        )
        .annotate(declaration=declaration_state("ads_total"))
    )
