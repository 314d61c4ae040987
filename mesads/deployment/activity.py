"""How much the register is used: active users, changes of ADS and imports, per month and
per département, for national staff.

- An **active user** of a month logged in during it (``LoginEvent``). By département, a
  manager counts where the authorities they manage are, an agent where its prefecture
  is (their roles of today, accepted); a person active in two départements counts in
  each, so départements do not add up to the national figure, which counts people once.
- A **change** is one ADS changed by one revision of django-reversion (its
  ``RegisterChange`` row, indexed by département and date): an edit, an attestation, a
  certification, a deletion, or one ADS of a bulk import.
- An **import** is an ``ImportJob`` written to the register: nationally, those finished
  in the month; by département, those that changed at least one of its ADS.

Each table is one or two aggregate queries grouped by month or by département, whatever
the number of départements, users or changes.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from mesads.ads.models import RegisterChange
from mesads.exchange.models import ImportJob
from mesads.geo.models import Departement
from mesads.users.models import AuthorityAccess, LoginEvent, PrefectureMembership, Status


def month_starts(months: int, now: datetime.datetime | None = None) -> list[datetime.date]:
    """The first day of each of the last ``months`` months, this one included, oldest
    first (in local time, as TruncMonth groups them)."""
    today = timezone.localtime(now or timezone.now()).date()
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month(value) -> datetime.date:
    """TruncMonth gives a datetime on PostgreSQL and SQLite alike; the table keys by day."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _managers(departement: Departement | None = None):
    accesses = AuthorityAccess.objects.filter(status=Status.ACCEPTED, via_prefecture=False)
    if departement is not None:
        accesses = accesses.filter(authority__departement=departement)
    return accesses.values("user_id")


def _agents(departement: Departement | None = None):
    memberships = PrefectureMembership.objects.filter(status=Status.ACCEPTED)
    if departement is not None:
        memberships = memberships.filter(departement=departement)
    return memberships.values("user_id")


def _logins(start: datetime.datetime):
    return LoginEvent.objects.filter(
        kind=LoginEvent.Kind.LOGIN, created_at__gte=start, user__isnull=False
    ).order_by()


def _is_import() -> Q:
    """A change written by an import: the imports are few, their revisions are hashed
    once (an EXISTS would probe the imports for each of 100,000 changes)."""
    return Q(revision_id__in=ImportJob.objects.filter(revision__isnull=False).values("revision_id"))


def _active(start: datetime.datetime, prefix: str = "") -> Exists:
    """The user (of the outer access or membership) logged in since ``start``."""
    return Exists(_logins(start).filter(user_id=OuterRef(f"{prefix}user_id")))


@dataclass
class MonthRow:
    month: datetime.date
    users: int = 0
    managers: int = 0
    agents: int = 0
    changes: int = 0
    import_changes: int = 0
    imports: int = 0


@dataclass
class DepartementRow:
    departement: Departement
    managers: int = 0
    agents: int = 0
    changes: int = 0
    import_changes: int = 0
    imports: int = 0

    @property
    def code(self) -> str:
        return self.departement.code

    @property
    def name(self) -> str:
        return self.departement.name


@dataclass
class Activity:
    months: list[MonthRow]
    departements: list[DepartementRow]
    departement: Departement | None = None
    start: datetime.date | None = None
    totals: dict = field(default_factory=dict)


def by_month(months: int, departement: Departement | None = None, now=None) -> list[MonthRow]:
    """Per month, nationally or in one département: three queries."""
    starts = month_starts(months, now)
    start = _aware(starts[0])
    rows = {day: MonthRow(day) for day in starts}

    managers, agents = _managers(departement), _agents(departement)
    logins = _logins(start)
    if departement is not None:
        logins = logins.filter(Q(user_id__in=managers) | Q(user_id__in=agents))
    for entry in (
        logins.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            users=Count("user_id", distinct=True),
            managers=Count("user_id", distinct=True, filter=Q(user_id__in=managers)),
            agents=Count("user_id", distinct=True, filter=Q(user_id__in=agents)),
        )
    ):
        row = rows.get(_month(entry["month"]))
        if row:
            row.users, row.managers, row.agents = entry["users"], entry["managers"], entry["agents"]

    changes = RegisterChange.objects.filter(created_at__gte=start).order_by()
    if departement is not None:
        changes = changes.filter(departement=departement)
    is_import = _is_import()
    for entry in (
        changes.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            changes=Count("pk"),
            import_changes=Count("pk", filter=is_import),
            imports=Count("revision_id", distinct=True, filter=is_import),
        )
    ):
        row = rows.get(_month(entry["month"]))
        if row:
            row.changes, row.import_changes = entry["changes"], entry["import_changes"]
            if departement is not None:
                row.imports = entry["imports"]

    if departement is None:
        for entry in (
            ImportJob.objects.filter(status=ImportJob.Status.DONE, finished_at__gte=start)
            .order_by()
            .annotate(month=TruncMonth("finished_at"))
            .values("month")
            .annotate(imports=Count("pk"))
        ):
            row = rows.get(_month(entry["month"]))
            if row:
                row.imports = entry["imports"]
    return list(rows.values())


def by_departement(months: int, now=None) -> list[DepartementRow]:
    """Per département over the period: three queries, and the list of départements."""
    start = _aware(month_starts(months, now)[0])
    rows = {d.pk: DepartementRow(d) for d in Departement.objects.order_by("code")}
    # From the accesses and memberships (some 17,000), each asking the login index
    # whether its user came: cheaper than joining a year of logins to them.
    for entry in (
        AuthorityAccess.objects.filter(status=Status.ACCEPTED, via_prefecture=False)
        .filter(_active(start))
        .order_by()
        .values(dept=F("authority__departement_id"))
        .annotate(n=Count("user_id", distinct=True))
    ):
        if entry["dept"] in rows:
            rows[entry["dept"]].managers = entry["n"]
    for entry in (
        PrefectureMembership.objects.filter(status=Status.ACCEPTED)
        .filter(_active(start))
        .order_by()
        .values(dept=F("departement_id"))
        .annotate(n=Count("user_id", distinct=True))
    ):
        if entry["dept"] in rows:
            rows[entry["dept"]].agents = entry["n"]
    is_import = _is_import()
    for entry in (
        RegisterChange.objects.filter(created_at__gte=start, departement__isnull=False)
        .order_by()
        .values(dept=F("departement_id"))
        .annotate(
            changes=Count("pk"),
            import_changes=Count("pk", filter=is_import),
            imports=Count("revision_id", distinct=True, filter=is_import),
        )
    ):
        row = rows.get(entry["dept"])
        if row:
            row.changes = entry["changes"]
            row.import_changes = entry["import_changes"]
            row.imports = entry["imports"]
    return list(rows.values())


def national_totals(months: int, now=None) -> dict:
    """Over the whole period: people active at least once, changes, imports (two queries)."""
    start = _aware(month_starts(months, now)[0])
    users = _logins(start).aggregate(n=Count("user_id", distinct=True))["n"]
    imports = ImportJob.objects.filter(
        status=ImportJob.Status.DONE, finished_at__gte=start
    ).aggregate(
        imports=Count("pk"),
        created=Sum("created_count"),
        updated=Sum("updated_count"),
        deleted=Sum("deleted_count"),
    )
    return {"users": users, **{k: v or 0 for k, v in imports.items()}}
