"""A realistic fake register of ADS over the real communes, for demos and benchmarks.

``generate_registry(60_000, seed=1)`` writes what the national register looks like at
full scale: a third of the licences in Paris (Préfecture de police), the rest spread over
the communes by population (most have none, a few have hundreds), some managed by an
EPCI, both regimes of the law of 1 October 2014, vacant and incomplete records, and
about 1.5 drivers per ADS. Every row satisfies the models' rules (``full_clean()``,
``validate_drivers``), so pages and exports see nothing a real register could not hold.

It writes with ``bulk_create`` (``ADS.save()`` is bypassed, hence the explicit
``refresh_derived``) and, with ``history=True``, one initial django-reversion revision per
ADS serialized exactly as reversion would, so that history pages can be measured on
hundreds of thousands of stored versions. The same seed gives the same register.
"""

from __future__ import annotations

import datetime
import itertools
import random
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from faker import Faker
from reversion.models import Revision, Version

from mesads.authorities.models import Authority
from mesads.authorities.territories import ensure_authorities
from mesads.geo.models import EPCI, Commune

from . import validators
from .history import bulk_versions
from .models import ADS, NEW_REGIME_START, RENEWAL_YEARS, Driver, RegisterChange, add_years

HISTORY_COMMENT = "Création (jeu de données généré)"
DEFAULT_BATCH_SIZE = 5000

# Shares of the register, from the orders of magnitude of the real one (see DOMAIN.md).
PARIS_SHARE = 1 / 3
AIRPORT_SHARE = 0.005
# Communautés de communes / d'agglomération to which member communes delegated their ADS.
EPCI_DELEGATION_SHARE = 0.04
OLD_REGIME_SHARE = 0.6
VACANT_SHARE = 0.05
# Applied to ADS in use only (a vacant ADS needs nothing but its creation date): ~10%.
INCOMPLETE_SHARE = 0.105
# Among new-regime ADS whose five years have run out: not renewed in time.
RENEWAL_OVERDUE_SHARE = 0.25
CPAM_SHARE = 0.4
PMR_SHARE = 0.1
LOW_EMISSION_SHARE = 0.3
COMPANY_HOLDER_SHARE = 0.3
# Old-regime ADS in use: 1, 2 or 3 drivers (shifts), ~2 on average, so that the whole
# register averages ~1.5 drivers per ADS (new-regime ADS have one, vacant ones none).
OLD_REGIME_DRIVER_COUNTS = ((1, 2, 3), (28, 45, 27))

OLDEST_CREATION = datetime.date(1975, 1, 1)
# SIV letters: I, O and U are never issued. Taxis are recent cars, hence C… to G… series.
SIV_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
SIV_FIRST_LETTERS = "CDEFFGG"
COMPANY_PREFIXES = ("Taxi", "Taxis", "Allo Taxi", "Taxi Services", "Ambulances et Taxis")
COMPANY_FORMS = ("SARL", "SAS", "SASU", "EURL")
# RFC 2606 domains: a demo must never e-mail a real address.
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
NOTES = (
    "Véhicule de remplacement pendant les réparations.",
    "Titulaire joignable de préférence par courriel.",
    "Stationnement habituel : parvis de la gare.",
    "Changement de véhicule prévu dans l’année.",
)

Progress = Callable[[str], None]


class GenerationError(Exception):
    """The register cannot be generated (no geography loaded, unsupported database)."""


@dataclass
class GenerationReport:
    ads: int = 0
    drivers: int = 0
    revisions: int = 0
    versions: int = 0
    authorities: int = 0
    delegated_communes: int = 0
    seconds: float = 0.0


@dataclass
class _AuthorityPlan:
    """The ADS one authority receives: for each, its commune (EPCI) or None."""

    authority_id: int
    sort_key: str
    departement_code: str
    is_paris: bool = False
    communes: list[int | None] = field(default_factory=list)


def _luhn_key(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check (SIREN, SIRET)."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        n = int(char)
        if index % 2 == 0:  # doubled once the key is appended at the end
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return str(-total % 10)


def _ascii_slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


class _Factory:
    """Builds one ADS and its drivers at a time; all randomness comes from the seed."""

    def __init__(self, seed: int, today: datetime.date) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)
        self.today = today
        self.days_since_oldest = (NEW_REGIME_START - OLDEST_CREATION).days

    # --- identifiers ----------------------------------------------------------------

    def siret(self) -> str:
        rng = self.rng
        while True:
            siren8 = str(rng.randrange(10_000_000, 100_000_000))
            siren = siren8 + _luhn_key(siren8)
            if siren != validators.LA_POSTE_SIREN:  # La Poste has its own check
                break
        nic = f"{rng.choice((1, 1, 1, 1, 2, 2, 3, rng.randrange(4, 100))):04d}"
        return siren + nic + _luhn_key(siren + nic)

    def plate(self) -> str:
        rng = self.rng
        while True:
            first = rng.choice(SIV_FIRST_LETTERS) + rng.choice(SIV_LETTERS)
            last = rng.choice(SIV_LETTERS) + rng.choice(SIV_LETTERS)
            if first not in ("SS", "WW") and last != "SS":
                return validators.normalize_plate(f"{first}{rng.randrange(1, 1000):03d}{last}")

    def phone(self) -> str:
        return f"0{self.rng.choice('67')}{self.rng.randrange(10**8):08d}"

    def card_number(self, departement_code: str) -> str:
        """A professional card number as prefectures print it: département-year-serial."""
        year = self.rng.randrange(1995, self.today.year + 1)
        return f"{departement_code}-{year}-{self.rng.randrange(1, 100_000):05d}"

    def person(self) -> tuple[str, str]:
        """(display name "DUPONT Jean", e-mail local part)."""
        last, first = self.fake.last_name(), self.fake.first_name()
        return f"{last.upper()} {first}", f"{_ascii_slug(first)}.{_ascii_slug(last)}"

    def company(self) -> tuple[str, str]:
        last = self.fake.last_name()
        name = f"{self.rng.choice(COMPANY_PREFIXES)} {last} {self.rng.choice(COMPANY_FORMS)}"
        return name, f"contact.{_ascii_slug(last)}"

    def day_between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        return start + datetime.timedelta(days=self.rng.randrange((end - start).days + 1))

    # --- dates ----------------------------------------------------------------------

    def dates(self) -> tuple[datetime.date, datetime.date | None, datetime.date | None]:
        """(creation, attribution, last renewal) for either regime, none in the future."""
        rng, today = self.rng, self.today
        if rng.random() < OLD_REGIME_SHARE:
            creation = OLDEST_CREATION + datetime.timedelta(
                days=rng.randrange(self.days_since_oldest)
            )
            # The first holder, or a successor presented after a transfer.
            attribution = creation if rng.random() < 0.4 else self.day_between(creation, today)
            return creation, attribution, None
        creation = self.day_between(NEW_REGIME_START, today)
        periods = 0  # five-year periods fully elapsed since creation
        while add_years(creation, RENEWAL_YEARS * (periods + 1)) <= today:
            periods += 1
        if periods == 0:
            return creation, None, None
        if rng.random() < RENEWAL_OVERDUE_SHARE:
            if periods >= 2 and rng.random() < 0.5:  # renewed once, then forgotten
                renewal = add_years(creation, RENEWAL_YEARS) - datetime.timedelta(
                    days=rng.randrange(60)
                )
                return creation, None, max(renewal, creation)
            return creation, None, None
        # Renewed shortly before the last anniversary, so still valid today.
        anniversary = add_years(creation, RENEWAL_YEARS * periods)
        next_due = add_years(creation, RENEWAL_YEARS * (periods + 1))
        margin = min(90, (next_due - today).days - 1, (anniversary - creation).days)
        renewal = anniversary - datetime.timedelta(days=rng.randrange(max(margin, 0) + 1))
        return creation, None, min(renewal, today)

    # --- records --------------------------------------------------------------------

    def ads(
        self,
        plan: _AuthorityPlan,
        number: str,
        commune_id: int | None,
        dates: tuple[datetime.date, datetime.date | None, datetime.date | None],
    ) -> tuple[ADS, list[Driver]]:
        rng = self.rng
        creation, attribution, renewal = dates
        new_regime = creation >= NEW_REGIME_START
        in_use = rng.random() >= VACANT_SHARE
        ads = ADS(
            authority_id=plan.authority_id,
            number=number,
            commune_id=commune_id,
            creation_date=creation,
            attribution_date=attribution,
            last_renewal_date=renewal,
            in_use=in_use,
        )
        # A new ADS is personal: its holder is a natural person who drives it.
        company = not new_regime and rng.random() < COMPANY_HOLDER_SHARE
        # A vacant new ADS was given back; a vacant old one still has its holder.
        if in_use or (not new_regime and rng.random() < 0.6):
            name, email_local = self.company() if company else self.person()
            ads.holder_name = name
            ads.holder_siret = self.siret()
            if rng.random() < 0.9:
                ads.holder_phone = self.phone()
            if rng.random() < 0.4:
                ads.holder_email = f"{email_local}@{rng.choice(EMAIL_DOMAINS)}"
        if rng.random() < 0.03:
            ads.notes = rng.choice(NOTES)
        if not in_use:
            return ads, []

        ads.vehicle_plate = self.plate()
        ads.vehicle_pmr = rng.random() < PMR_SHARE
        ads.vehicle_low_emission = rng.random() < LOW_EMISSION_SHARE
        ads.cpam_agreement = rng.random() < CPAM_SHARE
        drivers = self.drivers(ads, plan.departement_code, new_regime, company)

        if rng.random() < INCOMPLETE_SHARE:
            missing = rng.choice(("siret", "plate", "card"))
            if missing == "siret":
                ads.holder_siret = ""
                for driver in drivers:
                    if driver.status == Driver.Status.TITULAIRE:
                        driver.siret = ""
            elif missing == "plate":
                ads.vehicle_plate = ""
            else:
                rng.choice(drivers).card_number = ""
        return ads, drivers

    def drivers(
        self, ads: ADS, departement_code: str, new_regime: bool, company: bool
    ) -> list[Driver]:
        rng = self.rng
        Status = Driver.Status

        def driver(status: str, name: str | None = None, siret: str = "") -> Driver:
            if name is None:
                name = self.person()[0]
                if status in Driver.STATUSES_WITH_SIRET:
                    siret = self.siret()
            lease_start = None
            if status == Status.LOCATAIRE_GERANT:
                lease_start = self.day_between(
                    ads.attribution_date or ads.creation_date, self.today
                )
            return Driver(
                status=status,
                name=name,
                siret=siret,
                card_number=self.card_number(departement_code),
                lease_start_date=lease_start,
            )

        if new_regime:
            return [driver(Status.TITULAIRE, ads.holder_name, ads.holder_siret)]
        count = rng.choices(*OLD_REGIME_DRIVER_COUNTS)[0]
        if company:
            first = driver(Status.REPRESENTANT)
            others = (Status.SALARIE, Status.LOCATAIRE_COOPERATEUR, Status.LOCATAIRE_GERANT)
            weights = (70, 15, 15)
        else:
            if rng.random() < 0.75:  # the holder drives, maybe with others on other shifts
                first = driver(Status.TITULAIRE, ads.holder_name, ads.holder_siret)
            else:  # the holder leases the ADS out
                first = driver(Status.LOCATAIRE_GERANT)
            others = (Status.SALARIE, Status.LOCATAIRE_GERANT, Status.LOCATAIRE_COOPERATEUR)
            weights = (60, 25, 15)
        statuses = rng.choices(others, weights, k=count - 1)
        return [first] + [driver(status) for status in statuses]


# ---------------------------------------------------------------------------------------
# Where the ADS go
# ---------------------------------------------------------------------------------------


def _delegate_to_epcis(rng: random.Random, rows: list[tuple]) -> dict[int, int]:
    """Let the communes of a few EPCIs delegate their ADS; returns commune authority →
    EPCI authority for every delegating commune (including earlier delegations)."""
    delegated = {row[0]: row[6] for row in rows if row[6]}
    epcis = list(
        Authority.objects.filter(
            type=Authority.Type.EPCI,
            epci__is_active=True,
            epci__type__in=[EPCI.Type.CC, EPCI.Type.CA],
        )
        .order_by("epci__siren")
        .values_list("pk", "epci_id")
    )
    chosen = {epci_id: pk for pk, epci_id in epcis if rng.random() < EPCI_DELEGATION_SHARE}
    members = EPCI.members.through.objects.filter(epci_id__in=list(chosen)).values_list(
        "commune_id", "epci_id"
    )
    epci_of_commune = {commune_id: chosen[epci_id] for commune_id, epci_id in members}
    with_ads = set(ADS.objects.live().values_list("authority_id", flat=True).distinct())
    new: dict[int, list[int]] = defaultdict(list)
    for authority_id, commune_id, *_, declares_no_ads, delegated_to_id in rows:
        epci_authority = epci_of_commune.get(commune_id)
        if (
            epci_authority
            and not delegated_to_id
            and not declares_no_ads
            and authority_id not in with_ads
        ):
            new[epci_authority].append(authority_id)
            delegated[authority_id] = epci_authority
    for epci_authority, authority_ids in new.items():
        Authority.objects.filter(pk__in=authority_ids).update(delegated_to_id=epci_authority)
    return delegated


def _plan(rng: random.Random, count: int, progress: Progress | None) -> list[_AuthorityPlan]:
    if not Commune.objects.current().exists():
        raise GenerationError("No commune loaded: run `python manage.py load_geography` first.")
    ensure_authorities()
    rows = list(
        Authority.objects.filter(
            type=Authority.Type.COMMUNE,
            commune__type=Commune.Type.ACTUELLE,
            commune__is_active=True,
        )
        .order_by("commune__insee_code")
        .values_list(
            "pk",
            "commune_id",
            "commune__insee_code",
            "commune__population",
            "departement__code",
            "declares_no_ads",
            "delegated_to_id",
        )
    )
    paris = (
        Authority.objects.filter(type=Authority.Type.PREFECTURE, prefecture__code="75")
        .values_list("pk", flat=True)
        .first()
    )
    airports = list(
        Authority.objects.filter(type=Authority.Type.AIRPORT)
        .order_by("airport__code")
        .values_list("pk", "airport__code", "departement__code")
    )
    delegated = _delegate_to_epcis(rng, rows)
    epci_sirens = dict(
        Authority.objects.filter(type=Authority.Type.EPCI).values_list("pk", "epci__siren")
    )

    plans: dict[int, _AuthorityPlan] = {}

    def plan_for(authority_id: int, sort_key: str, departement_code: str) -> _AuthorityPlan:
        if authority_id not in plans:
            plans[authority_id] = _AuthorityPlan(authority_id, sort_key, departement_code)
        return plans[authority_id]

    paris_count = round(count * PARIS_SHARE) if paris else 0
    if paris_count:
        plan = plan_for(paris, "75", "75")
        plan.is_paris = True
        plan.communes = [None] * paris_count
    airport_count = min(round(count * AIRPORT_SHARE), count - paris_count) if airports else 0
    for index in range(airport_count):
        authority_id, code, departement_code = airports[index % len(airports)]
        plan = plan_for(authority_id, f"{departement_code}~{code}", departement_code)
        plan.communes.append(None)
    special = len(plans)  # Paris and the airports

    # Paris's licences are the Préfecture de police's; no commune may take ADS it
    # declared it does not have.
    candidates = [row for row in rows if not row[5] and not (paris_count and row[4] == "75")]
    weights = [row[3] or 0 for row in candidates]
    if not any(weights):  # a geography without population figures
        weights = [1] * len(candidates)
    rest = count - paris_count - airport_count
    if rest and not candidates:
        raise GenerationError("No commune authority can receive ADS.")
    cumulative = list(itertools.accumulate(weights))
    for row in rng.choices(candidates, cum_weights=cumulative, k=rest) if rest else []:
        authority_id, commune_id, insee_code, _, departement_code, *_ = row
        if authority_id in delegated:
            epci_authority = delegated[authority_id]
            sort_key = f"{departement_code}~{epci_sirens.get(epci_authority, '')}"
            plan_for(epci_authority, sort_key, departement_code).communes.append(commune_id)
        else:
            plan_for(authority_id, insee_code, departement_code).communes.append(None)
    if progress:
        epci_count = sum(1 for authority_id in plans if authority_id in epci_sirens)
        progress(
            f"Répartition : {paris_count} ADS à Paris, {airport_count} dans les aéroports, "
            f"{rest} sur {len(plans) - special} autres gestionnaires "
            f"(dont {epci_count} EPCI)"
        )
    return sorted(plans.values(), key=lambda p: (p.sort_key, p.authority_id))


def _records(factory: _Factory, plans: list[_AuthorityPlan]) -> Iterator[tuple[ADS, list[Driver]]]:
    """Every ADS to write, authority by authority, numbered in order of creation."""
    rng = factory.rng
    existing: dict[int, set[str]] = defaultdict(set)
    for authority_id, number in ADS.objects.live().values_list("authority_id", "number"):
        existing[authority_id].add(number)
    for plan in plans:
        # Most authorities number 1, 2, 3…; some prefix a letter or the year.
        style = (
            "plain" if plan.is_paris else rng.choices(("plain", "letter", "year"), (80, 14, 6))[0]
        )
        letter = rng.choice("ABCT")
        communes = plan.communes
        dates = sorted((factory.dates() for _ in communes), key=lambda d: d[0])
        taken = existing[plan.authority_id]
        index = 0
        for commune_id, ads_dates in zip(communes, dates, strict=True):
            while True:
                index += 1
                # Each style is injective in the index, so numbers never repeat.
                if style == "letter":
                    number = f"{letter}-{index:02d}"
                elif style == "year":
                    number = f"{ads_dates[0].year}-{index}"
                else:
                    number = str(index)
                if number not in taken:
                    break
            yield factory.ads(plan, number, commune_id, ads_dates)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, history: bool, report: GenerationReport) -> None:
        self.history = history
        self.report = report
        if history:
            self.now = timezone.now()
            self.departement_of = dict(Authority.objects.values_list("pk", "departement_id"))

    def write(self, batch: list[tuple[ADS, list[Driver]]]) -> None:
        for ads, drivers in batch:
            ads.refresh_derived(drivers)
        ADS.objects.bulk_create([ads for ads, _ in batch])
        all_drivers = []
        for ads, drivers in batch:
            for driver in drivers:
                driver.ads = ads  # now that it has a primary key
                all_drivers.append(driver)
        Driver.objects.bulk_create(all_drivers)
        self.report.ads += len(batch)
        self.report.drivers += len(all_drivers)
        if self.history:
            self.write_history(batch)

    def write_history(self, batch: list[tuple[ADS, list[Driver]]]) -> None:
        """One revision per ADS holding its version and its drivers', as
        ``reversion.create_revision()`` around a save would have written them."""
        revisions = Revision.objects.bulk_create(
            [Revision(date_created=self.now, comment=HISTORY_COMMENT) for _ in batch]
        )
        versions = []
        for revision, (ads, drivers) in zip(revisions, batch, strict=True):
            versions += bulk_versions(revision, [ads]) + bulk_versions(revision, drivers)
        Version.objects.bulk_create(versions)
        # The index behind the prefectures' feed of changes (what reversion.add_meta
        # writes for a revision saved by the application).
        RegisterChange.objects.bulk_create(
            RegisterChange(
                revision=revision,
                ads=ads,
                authority_id=ads.authority_id,
                departement_id=self.departement_of[ads.authority_id],
                created_at=self.now,
            )
            for revision, (ads, _) in zip(revisions, batch, strict=True)
        )
        self.report.revisions += len(revisions)
        self.report.versions += len(versions)


@transaction.atomic
def generate_registry(
    count: int,
    *,
    seed: int = 0,
    history: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    today: datetime.date | None = None,
    progress: Progress | None = None,
) -> GenerationReport:
    """Write ``count`` realistic fake ADS with their drivers over the loaded communes.

    Creates the missing authorities first; may make the communes of a few EPCIs
    delegate their ADS to them. Adds to an existing register without reusing its
    numbers. Raises ``GenerationError`` when no commune is loaded.
    """
    if count < 0 or batch_size < 1:
        raise ValueError("count must be ≥ 0 and batch_size ≥ 1")
    if not connection.features.can_return_rows_from_bulk_insert:
        raise GenerationError(
            "This database does not return primary keys from bulk inserts "
            "(PostgreSQL or SQLite ≥ 3.35 needed)."
        )
    start = time.monotonic()
    report = GenerationReport()
    factory = _Factory(seed, today or timezone.localdate())
    plans = _plan(factory.rng, count, progress)
    report.authorities = len(plans)
    report.delegated_communes = Authority.objects.filter(delegated_to__isnull=False).count()
    writer = _Writer(history, report)
    batch: list[tuple[ADS, list[Driver]]] = []
    for record in _records(factory, plans):
        batch.append(record)
        if len(batch) >= batch_size:
            writer.write(batch)
            batch = []
            _report_progress(progress, report, count, start)
    if batch:
        writer.write(batch)
        _report_progress(progress, report, count, start)
    _refresh_statistics()
    report.seconds = time.monotonic() - start
    return report


def _refresh_statistics() -> None:
    """Bulk loads leave PostgreSQL's planner statistics stale until autovacuum passes:
    meanwhile it may scan every stored version instead of using the per-object index."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("ads_ads", "ads_driver", "reversion_revision", "reversion_version"):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 (fixed table names)


def _report_progress(
    progress: Progress | None, report: GenerationReport, count: int, start: float
) -> None:
    if not progress:
        return
    elapsed = time.monotonic() - start
    history = f", {report.versions} versions" if report.revisions else ""
    progress(
        f"{report.ads}/{count} ADS écrites ({report.drivers} conducteurs{history}) "
        f"en {elapsed:.1f} s, {report.ads / max(elapsed, 1e-6):.0f} ADS/s"
    )
