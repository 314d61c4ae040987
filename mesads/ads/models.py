"""The ADS register: issuing authorities, licences, their drivers and legal documents.

Rules from the transport code (articles L3121-1 to L3121-5, as amended by the law of
1 October 2014, "loi Thévenoud") live here, twice when they can: as a named database
constraint, and in ``clean()`` so that forms show a French message on the right field.
"""

import calendar
import datetime
import re
from typing import Any

import reversion
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
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
from django.db.models.functions import Cast, Coalesce, Replace, Upper
from django.utils import timezone

from mesads.core.text import search_key
from mesads.core.validators import formulas_refused
from mesads.geo.models import EPCI, Airport, Commune, Departement
from mesads.users.scope import scope_for

from . import validators

# ADS created on or after this date are personal, free, and valid five years (L3121-1-2).
NEW_REGIME_START = datetime.date(2014, 10, 1)
RENEWAL_YEARS = 5


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def renewal_limit(today: datetime.date) -> datetime.date:
    """A new-regime ADS whose validity started (creation or last renewal) on or before
    this day is due on ``today``."""
    limit = add_years(today, -RENEWAL_YEARS)
    if (today.month, today.day) == (2, 28) and calendar.isleap(limit.year):
        # ``add_years`` makes an ADS created on 29 February due on 28 February: the
        # query must reach it that day too, or the lists and the ADS page disagree.
        limit += datetime.timedelta(days=1)
    return limit


def validity_start() -> Coalesce:
    """When a new-regime ADS's five years started: its last renewal, else its creation
    (``renewal_overdue_q`` spelt as one expression, which an index holds)."""
    return Coalesce("last_renewal_date", "creation_date")


def renewal_overdue_q(today: datetime.date, prefix: str = "") -> Q:
    """New-regime ADS whose five-year validity, since creation or last renewal, has ended.

    ``prefix`` lets an aggregate over a relation reuse the rule (``prefix="ads__"``).
    """
    limit = renewal_limit(today)
    return Q(**{f"{prefix}creation_date__gte": NEW_REGIME_START}) & (
        Q(**{f"{prefix}last_renewal_date__lte": limit})
        | Q(**{f"{prefix}last_renewal_date__isnull": True, f"{prefix}creation_date__lte": limit})
    )


ATTESTATION_VALIDITY = datetime.timedelta(days=365)


def attestation_due_q(now: datetime.datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}attested_at__isnull": True}) | Q(
        **{f"{prefix}attested_at__lt": now - ATTESTATION_VALIDITY}
    )


def certified_q(prefix: str = "") -> Q:
    """Certified by the prefecture, with no substantive change since."""
    return Q(**{f"{prefix}certified_at__isnull": False}) & (
        Q(**{f"{prefix}substantive_change_at__isnull": True})
        | Q(**{f"{prefix}substantive_change_at__lte": F(f"{prefix}certified_at")})
    )


def to_recertify_q(prefix: str = "") -> Q:
    """Certified once, then changed: the prefecture must look again."""
    return Q(
        **{
            f"{prefix}certified_at__isnull": False,
            f"{prefix}substantive_change_at__gt": F(f"{prefix}certified_at"),
        }
    )


def natural_sort_key(number: str) -> str:
    """A key that sorts ADS numbers as people do: ``2`` before ``10``, ``A-7`` before ``A-12``.

    Every run of digits is left-padded to 12 characters, so that a plain string index
    gives the natural order on every database.
    """
    return re.sub(r"\d+", lambda m: m.group(0).lstrip("0").rjust(12, "0"), number.strip().upper())


# ---------------------------------------------------------------------------------------
# Authorities
# ---------------------------------------------------------------------------------------


# An INSEE code (2A004), a SIREN (200054781) or a département code (2B, 971).
_CODE_LIKE = re.compile(r"^[0-9][0-9ABab][0-9]{0,7}$")


def number_search_key(number: str) -> str:
    """An ADS number as a search compares it: upper case, without dashes, spaces, dots or
    slashes, so that ``ux42`` finds ``UX-42`` (as ``plate_search`` does for plates)."""
    return re.sub(r"[- ./]", "", (number or "").upper())


def number_search_expression() -> models.Func:
    """``number_search_key`` in SQL, on both databases; indexed (``ads_number_search_idx``)."""
    expression = Upper("number")
    for character in ("-", " ", ".", "/"):
        expression = Replace(expression, Value(character), Value(""))
    return expression


def _restrict(queryset: models.QuerySet, condition: Q | None) -> models.QuerySet:
    """``condition`` from the user's scope: None matches nothing, an empty Q everything."""
    if condition is None:
        return queryset.none()
    return queryset.filter(condition) if condition else queryset


class AuthorityQuerySet(models.QuerySet):
    # Bulk writes skip Authority.save(), which derives the search name: they derive it
    # here, or the ~36,000 authorities load_geography creates are found by no name.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for authority in objs:
            authority.search_name = search_key(authority.name)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "name" in fields:
            for authority in objs:
                authority.search_name = search_key(authority.name)
            fields = [*{*fields, "search_name"}]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def search(self, text: str) -> "AuthorityQuerySet":
        """Name (ignoring accents and case), INSEE code, SIREN or département code."""
        text = text.strip()
        if not text:
            return self
        # LIKE '%…%' on the normalised name: a pg_trgm index serves it on PostgreSQL
        # (migration 0006). The codes join other tables: asked only for what looks like
        # a code, so that a name search reads the index alone.
        condition = Q(search_name__contains=search_key(text))
        if _CODE_LIKE.match(text):
            condition |= (
                Q(commune__insee_code=text.upper())
                | Q(epci__siren=text)
                | Q(departement__code=text.upper())
            )
        return self.filter(condition)

    def readable_by(self, user) -> "AuthorityQuerySet":
        """The authorities whose register the user may read.

        Managers: the authorities they were granted, and those that delegated to them.
        Prefecture agents and inspectors: every authority of their départements.
        The rules live in ``mesads.users.scope``.
        """
        return _restrict(self, scope_for(user).readable_q())

    def writable_by(self, user) -> "AuthorityQuerySet":
        """The authorities whose register the user may change (locks aside)."""
        return _restrict(self, scope_for(user).writable_q())

    def supervised_by(self, user) -> "AuthorityQuerySet":
        """The authorities of the départements whose prefecture staff the user belongs to."""
        return _restrict(self, scope_for(user).supervised_q())

    # The historical name: what a user may see.
    for_user = readable_by

    def declared(self, state: str) -> "AuthorityQuerySet":
        """The authorities in one ``Authority.Declaration`` state (an index look-up each,
        not a count)."""
        has_ads = Exists(ADS.objects.filter(authority=OuterRef("pk"), deleted_at__isnull=True))
        return {
            Authority.Declaration.HAS_ADS: lambda: self.filter(has_ads),
            Authority.Declaration.NO_ADS: lambda: self.filter(declares_no_ads=True),
            Authority.Declaration.DELEGATES: lambda: self.filter(delegated_to__isnull=False),
            Authority.Declaration.NOTHING: lambda: self.filter(
                ~has_ads, declares_no_ads=False, delegated_to__isnull=True
            ),
        }[state]()

    def by_ads_count(self) -> "AuthorityQuerySet":
        """Most ADS first (then by name): a count per authority from the ADS index."""
        # alias(), not annotate(): the paginator's COUNT(*) then leaves the subquery out.
        return self.alias(live_ads=live_ads_count()).order_by("-live_ads", "name", "pk")

    # The annotations of with_ads_counts().
    COUNTS = ("ads_total", "ads_in_use", "ads_vacant", "ads_incomplete", "ads_renewal_overdue")

    def with_ads_counts(self, today: datetime.date | None = None) -> "AuthorityQuerySet":
        today = today or timezone.localdate()
        # The live ADS joined as such (deleted_at IS NULL in the join's condition), so
        # that PostgreSQL counts them from ads_live_authority_counts_idx alone.
        return self.alias(
            counted_ads=FilteredRelation("ads", condition=Q(ads__deleted_at__isnull=True))
        ).annotate(
            ads_total=Count("counted_ads"),
            ads_in_use=Count("counted_ads", filter=Q(counted_ads__in_use=True)),
            ads_vacant=Count("counted_ads", filter=Q(counted_ads__in_use=False)),
            ads_incomplete=Count("counted_ads", filter=Q(counted_ads__is_complete=False)),
            ads_renewal_overdue=Count(
                "counted_ads", filter=renewal_overdue_q(today, "counted_ads__")
            ),
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


class Authority(models.Model):
    """An issuing authority ("gestionnaire d'ADS"): a commune, an EPCI, a prefecture or
    an airport. One is pre-created for every territory (see ``ensure_authorities``)."""

    class Type(models.TextChoices):
        COMMUNE = "commune", "Commune"
        EPCI = "epci", "EPCI"
        PREFECTURE = "prefecture", "Préfecture"
        AIRPORT = "airport", "Aéroport"

    class Declaration(models.TextChoices):
        """Where an authority stands in its declaration to the register (filters)."""

        HAS_ADS = "ads", "Ont déclaré des ADS"
        NO_ADS = "aucune", "Ont déclaré n’avoir aucune ADS"
        DELEGATES = "delegue", "Délèguent à un EPCI"
        NOTHING = "jamais", "N’ont encore rien déclaré"

    type = models.CharField("type", max_length=20, choices=Type.choices)
    name = models.CharField("nom", max_length=200)
    # The name without accents or case (mesads.core.text.search_key), for searches.
    search_name = models.CharField(max_length=200, blank=True, editable=False)
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        related_name="authorities",
        verbose_name="département",
        null=True,
        blank=True,
    )
    commune = models.OneToOneField(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    epci = models.OneToOneField(
        EPCI, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    prefecture = models.OneToOneField(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prefecture_authority",
        verbose_name="préfecture du département",
    )
    airport = models.OneToOneField(
        Airport, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    declares_no_ads = models.BooleanField(
        "déclare n’avoir aucune ADS sur son territoire", default=False
    )
    delegated_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegating_authorities",
        verbose_name="gestion déléguée à l’EPCI",
        limit_choices_to={"type": "epci"},
    )
    is_locked = models.BooleanField(
        "verrouillé",
        default=False,
        help_text="Le registre de ce gestionnaire est alimenté par un fichier national : "
        "il ne se modifie pas dans l’interface.",
    )
    lock_reason = models.CharField("motif du verrouillage", max_length=300, blank=True)
    expected_ads_count = models.PositiveIntegerField(
        "nombre d’ADS attendu",
        null=True,
        blank=True,
        help_text="Renseigné par la préfecture, d’après l’arrêté fixant le nombre d’ADS.",
    )

    objects = AuthorityQuerySet.as_manager()

    class Meta:
        verbose_name = "gestionnaire d’ADS"
        verbose_name_plural = "gestionnaires d’ADS"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="authority_reference_matches_type",
                condition=(
                    Q(
                        type="commune",
                        commune__isnull=False,
                        epci__isnull=True,
                        prefecture__isnull=True,
                        airport__isnull=True,
                    )
                    | Q(
                        type="epci",
                        commune__isnull=True,
                        epci__isnull=False,
                        prefecture__isnull=True,
                        airport__isnull=True,
                    )
                    | Q(
                        type="prefecture",
                        commune__isnull=True,
                        epci__isnull=True,
                        prefecture__isnull=False,
                        airport__isnull=True,
                    )
                    | Q(
                        type="airport",
                        commune__isnull=True,
                        epci__isnull=True,
                        prefecture__isnull=True,
                        airport__isnull=False,
                    )
                ),
            ),
            models.CheckConstraint(
                name="authority_no_ads_or_delegated",
                condition=Q(declares_no_ads=False) | Q(delegated_to__isnull=True),
            ),
        ]
        indexes = [models.Index(fields=["departement", "type"], name="authority_dept_type_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = search_key(self.name)
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        """The official code shown beside the name: INSEE code, SIREN or OACI code."""
        if self.commune_id:
            return self.commune.insee_code
        if self.epci_id:
            return self.epci.siren
        if self.prefecture_id:
            return self.prefecture.code
        if self.airport_id:
            return self.airport.code
        return ""

    def clean(self) -> None:
        super().clean()
        if self.declares_no_ads and self.delegated_to_id:
            # On a field, not the whole form: a field in error is not checked again by
            # the constraint, whose raw name would otherwise show beside this message.
            raise ValidationError(
                {
                    "declares_no_ads": "Choisissez : soit aucune ADS sur le territoire, "
                    "soit une gestion déléguée."
                }
            )
        if self.delegated_to_id and self.delegated_to.type != Authority.Type.EPCI:
            raise ValidationError(
                {"delegated_to": "La gestion ne peut être déléguée qu’à un EPCI."}
            )
        if self.declares_no_ads and self.pk and self.ads.filter(deleted_at__isnull=True).exists():
            raise ValidationError(
                {
                    "declares_no_ads": "Impossible de déclarer n’avoir aucune ADS : "
                    "des ADS sont enregistrées pour ce gestionnaire."
                }
            )


# ---------------------------------------------------------------------------------------
# ADS
# ---------------------------------------------------------------------------------------


class ADSQuerySet(models.QuerySet):
    def locked(self, pk: int) -> "ADS":
        """The ADS as it is now, its row locked until the end of the transaction: what
        every change of an ADS (edit aside, which compares its version) starts from, so
        that two changes are applied one after the other, each on the other's result."""
        return self.select_for_update(of=("self",)).select_related("authority").get(pk=pk)

    def live(self) -> "ADSQuerySet":
        return self.filter(deleted_at__isnull=True)

    def of_authority(self, authority: "Authority") -> "ADSQuerySet":
        """The ADS of one authority, its id compared as a bigint (the column's type).
        PostgreSQL types a bare integer as int4, and btree_gin has no int8 = int4
        operator: the search's trigram indexes, led by the authority (migration 0010),
        would then find the matching rows of all France and filter Paris's out of them."""
        return self.filter(authority_id=Cast(Value(authority.pk), models.BigIntegerField()))

    def readable_by(self, user) -> "ADSQuerySet":
        # authority__pk is the ADS's own column; only a département-wide reader (agent,
        # inspector) joins the authority, which the ADS pages select anyway.
        return _restrict(self, scope_for(user).readable_q("authority__"))

    for_user = readable_by

    def attestation_due(self, now: datetime.datetime | None = None) -> "ADSQuerySet":
        """Never attested by the manager, or last attested over a year ago: « à vérifier »."""
        return self.filter(attestation_due_q(now or timezone.now()))

    def certified(self) -> "ADSQuerySet":
        return self.filter(certified_q())

    def to_recertify(self) -> "ADSQuerySet":
        return self.filter(to_recertify_q())

    def new_regime(self) -> "ADSQuerySet":
        return self.filter(creation_date__gte=NEW_REGIME_START)

    def old_regime(self) -> "ADSQuerySet":
        return self.filter(creation_date__lt=NEW_REGIME_START)

    def renewal_overdue(self, today: datetime.date | None = None) -> "ADSQuerySet":
        return self.filter(renewal_overdue_q(today or timezone.localdate()))

    def renewal_due_by(self, day: datetime.date) -> "ADSQuerySet":
        """``renewal_overdue(day)`` on the start of validity, which may then be read in
        order (``.order_by("validity_start")``) from ``ads_live_renewal_due_idx``."""
        return (
            self.new_regime()
            .alias(validity_start=validity_start())
            .filter(validity_start__lte=renewal_limit(day))
        )

    def stats(self, today: datetime.date | None = None) -> dict[str, int]:
        """Counts shown on dashboards, in one aggregate query."""
        today = today or timezone.localdate()
        return self.aggregate(
            ads_total=Count("pk"),
            ads_in_use=Count("pk", filter=Q(in_use=True)),
            ads_vacant=Count("pk", filter=Q(in_use=False)),
            ads_incomplete=Count("pk", filter=Q(is_complete=False)),
            ads_renewal_overdue=Count("pk", filter=renewal_overdue_q(today)),
        )

    def incomplete(self) -> "ADSQuerySet":
        return self.filter(is_complete=False)

    def search(self, text: str) -> "ADSQuerySet":
        """Number, holder name, SIRET, plate (with or without dashes), driver name or card."""
        text = text.strip()
        if not text:
            return self
        # Every branch has an index, so that PostgreSQL combines them (BitmapOr) and
        # reads the matching rows only: the number through ``ads_number_search_idx``,
        # the names, plates and SIRET through pg_trgm indexes (migration 0006; their
        # expressions are those Django writes for icontains: UPPER(col::text) LIKE …).
        queryset = self.alias(number_search=number_search_expression())
        number = number_search_key(text)
        number_q = Q(number_search=number) if number else Q(pk__in=[])
        if validators.is_full_plate(text):
            # A whole registration number is nothing else: one indexed lookup instead of
            # scanning the names of every ADS.
            # (An ADS number may look like an old plate: "2B12".)
            return queryset.filter(Q(plate_search=validators.plate_search_key(text)) | number_q)
        condition = Q(holder_name__icontains=text) | Q(drivers_search__icontains=text)
        siret = validators.normalize_siret(text)
        if siret.isascii() and siret.isdigit():
            condition |= Q(holder_siret__startswith=siret)
        plate = validators.plate_search_key(text)
        if len(plate) >= 3:
            condition |= Q(plate_search__contains=plate)
        # The number last: PostgreSQL rechecks the whole condition on every row the
        # indexes found, in this order, and the number's expression (four REPLACE) is the
        # dearest to evaluate and the least likely to match (a tenth of a broad search's
        # time, « SAS » in Paris).
        return queryset.filter(condition | number_q)

    def natural_order(self) -> "ADSQuerySet":
        return self.order_by("number_sort_key", "pk")


@reversion.register(follow=["drivers", "documents"])
class ADS(models.Model):
    """An *autorisation de stationnement*: a licence to wait for customers on the road."""

    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="ads", verbose_name="gestionnaire"
    )
    number = models.CharField("numéro de l’ADS", max_length=50)
    number_sort_key = models.CharField(max_length=120, editable=False)
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="commune de stationnement",
        help_text="Pour une ADS délivrée par un EPCI : la commune membre où elle s’exerce.",
    )
    creation_date = models.DateField("date de création de l’ADS", null=True, blank=True)
    attribution_date = models.DateField(
        "date d’attribution au titulaire actuel",
        null=True,
        blank=True,
        help_text="Uniquement pour une ADS créée avant le 1er octobre 2014.",
    )
    last_renewal_date = models.DateField(
        "date du dernier renouvellement",
        null=True,
        blank=True,
        help_text="Uniquement pour une ADS créée à partir du 1er octobre 2014 (valable 5 ans).",
    )
    in_use = models.BooleanField(
        "ADS exploitée",
        default=True,
        help_text="Décochez si l’ADS est vacante : elle doit alors être réattribuée ou retirée.",
    )
    holder_name = models.CharField("nom du titulaire", max_length=255, blank=True)
    holder_siret = models.CharField(
        "SIRET du titulaire", max_length=14, blank=True, help_text="14 chiffres."
    )
    holder_phone = models.CharField("téléphone du titulaire", max_length=16, blank=True)
    holder_email = models.EmailField("adresse électronique du titulaire", blank=True)
    vehicle_plate = models.CharField(
        "immatriculation du véhicule",
        max_length=12,
        blank=True,
        help_text="Format AB-123-CD (ou ancien format 1234 AB 56).",
    )
    vehicle_pmr = models.BooleanField(
        "véhicule accessible aux personnes en fauteuil roulant", null=True, blank=True
    )
    vehicle_low_emission = models.BooleanField(
        "véhicule à faibles émissions", null=True, blank=True
    )
    cpam_agreement = models.BooleanField(
        "taxi conventionné CPAM", default=False, help_text="Transport de patients assis."
    )
    notes = models.TextField("notes", blank=True)

    # Derived columns, written by save(): they make search, sort and counts index-friendly.
    plate_search = models.CharField(max_length=12, blank=True, editable=False)
    drivers_search = models.TextField(blank=True, editable=False)
    is_complete = models.BooleanField("complète", default=False, editable=False)

    # The manager attests the record ("je certifie l'exactitude…") at least yearly; the
    # prefecture certifies it; a substantive change after that asks for recertification.
    attested_at = models.DateTimeField("attestée le", null=True, blank=True, editable=False)
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="attestée par",
    )
    certified_at = models.DateTimeField("certifiée le", null=True, blank=True, editable=False)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="certifiée par",
    )
    substantive_change_at = models.DateTimeField(
        "dernière modification substantielle", null=True, blank=True, editable=False
    )
    sent_back_at = models.DateTimeField("renvoyée le", null=True, blank=True, editable=False)
    sent_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="renvoyée par",
    )
    sent_back_comment = models.TextField("motif du renvoi", blank=True, editable=False)

    # Optimistic locking: each save increments it; an edit based on an older value fails.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    deleted_at = models.DateTimeField("supprimée le", null=True, blank=True, editable=False)

    objects = ADSQuerySet.as_manager()

    class Meta:
        verbose_name = "ADS"
        verbose_name_plural = "ADS"
        ordering = ["authority", "number_sort_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "number"],
                condition=Q(deleted_at__isnull=True),
                name="ads_number_unique_per_authority",
                violation_error_message="Ce gestionnaire a déjà une ADS portant ce numéro : "
                "chaque numéro est unique.",
            ),
            # L3121-1-2: a new-regime ADS stays with its first holder: no attribution date.
            models.CheckConstraint(
                name="ads_new_regime_no_attribution_date",
                condition=Q(creation_date__isnull=True)
                | Q(creation_date__lt=NEW_REGIME_START)
                | Q(attribution_date__isnull=True),
            ),
            # Old-regime ADS are not time-limited: there is nothing to renew.
            models.CheckConstraint(
                name="ads_old_regime_no_renewal_date",
                condition=Q(creation_date__isnull=True)
                | Q(creation_date__gte=NEW_REGIME_START)
                | Q(last_renewal_date__isnull=True),
            ),
            models.CheckConstraint(
                name="ads_attribution_after_creation",
                condition=Q(creation_date__isnull=True)
                | Q(attribution_date__isnull=True)
                | Q(attribution_date__gte=F("creation_date")),
            ),
            models.CheckConstraint(
                name="ads_renewal_after_creation",
                condition=Q(creation_date__isnull=True)
                | Q(last_renewal_date__isnull=True)
                | Q(last_renewal_date__gte=F("creation_date")),
            ),
            models.CheckConstraint(
                name="ads_holder_siret_format",
                condition=Q(holder_siret="") | Q(holder_siret__regex=validators.SIRET_RE),
            ),
            models.CheckConstraint(
                name="ads_vehicle_plate_format",
                condition=Q(vehicle_plate="") | Q(vehicle_plate__regex=validators.PLATE_RE),
            ),
        ]
        indexes = [
            models.Index(fields=["authority", "number_sort_key"], name="ads_authority_sort_idx"),
            models.Index(fields=["holder_siret"], name="ads_holder_siret_idx"),
            models.Index(fields=["plate_search"], name="ads_plate_search_idx"),
            # The list's seek and its count (an index-only scan) over the live ADS.
            models.Index(
                fields=["authority", "number_sort_key", "id"],
                condition=Q(deleted_at__isnull=True),
                name="ads_live_authority_sort_idx",
            ),
            models.Index(number_search_expression(), name="ads_number_search_idx"),
            # The re-use API (mesads.api): an ADS by its authority and its number in any
            # spelling (the verification), and the « updated since » filter.
            models.Index(
                F("authority"),
                number_search_expression(),
                condition=Q(deleted_at__isnull=True),
                name="ads_live_authority_number_idx",
            ),
            models.Index(fields=["updated_at"], name="ads_updated_at_idx"),
            # The counts of an authority's live ADS, whole (the dashboard's figures, which
            # count ids) or filtered (the list's filters), read from the index alone on
            # PostgreSQL (SQLite creates it without the included columns).
            models.Index(
                fields=["authority"],
                include=[
                    "id",
                    "in_use",
                    "is_complete",
                    "creation_date",
                    "last_renewal_date",
                    "cpam_agreement",
                    "vehicle_pmr",
                    "attested_at",
                    "certified_at",
                    "substantive_change_at",
                ],
                condition=Q(deleted_at__isnull=True),
                name="ads_live_authority_counts_idx",
            ),
            # The renewal calendar: the first due of an authority, in order, and their
            # count, whatever the size of its register (ADSQuerySet.renewal_due_by). The
            # dates under validity_start() are included so that PostgreSQL counts the due
            # from the index alone (it must find an expression's columns in the index):
            # Paris's 2,350 due in 28 blocks instead of its 20,000 ADS in 137.
            models.Index(
                F("authority"),
                validity_start(),
                F("number_sort_key"),
                F("id"),
                include=["creation_date", "last_renewal_date"],
                condition=Q(deleted_at__isnull=True, creation_date__gte=NEW_REGIME_START),
                name="ads_live_renewal_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"ADS n° {self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.number_sort_key = natural_sort_key(self.number)
        self.plate_search = validators.plate_search_key(self.vehicle_plate)
        super().save(*args, **kwargs)

    # --- regime and dates -------------------------------------------------------------

    @property
    def is_new_regime(self) -> bool | None:
        if self.creation_date is None:
            return None
        return self.creation_date >= NEW_REGIME_START

    @property
    def regime_label(self) -> str:
        return {True: "Nouvelle ADS (depuis le 1er octobre 2014)", False: "Ancienne ADS"}.get(
            self.is_new_regime, "Régime inconnu (date de création manquante)"
        )

    @property
    def renewal_due_date(self) -> datetime.date | None:
        if not self.is_new_regime:
            return None
        return add_years(self.last_renewal_date or self.creation_date, RENEWAL_YEARS)

    def is_renewal_overdue(self, today: datetime.date | None = None) -> bool:
        due = self.renewal_due_date
        return due is not None and due <= (today or timezone.localdate())

    # --- attestation and certification ----------------------------------------------

    @property
    def attestation_status(self) -> str:
        if self.attested_at is None:
            return "non attestée"
        if self.attested_at < timezone.now() - ATTESTATION_VALIDITY:
            return "à vérifier"
        return "attestée"

    @property
    def certification_status(self) -> str:
        if self.certified_at is None:
            return "non certifiée"
        if self.substantive_change_at and self.substantive_change_at > self.certified_at:
            return "à recertifier"
        return "certifiée"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    # --- validation ---------------------------------------------------------------------

    # Free text that the exports and the open data publish: no formula (core.validators).
    FORMULA_FREE_FIELDS = ("number", "holder_name", "holder_email", "notes")

    def clean_fields(self, exclude: Any = None) -> None:
        self.normalize()
        with formulas_refused(self, self.FORMULA_FREE_FIELDS, exclude):
            super().clean_fields(exclude=exclude)

    def normalize(self) -> None:
        self.number = (self.number or "").strip()
        self.holder_name = (self.holder_name or "").strip()
        self.holder_siret = validators.normalize_siret(self.holder_siret)
        self.holder_phone = validators.normalize_phone(self.holder_phone)
        self.vehicle_plate = validators.normalize_plate(self.vehicle_plate)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        today = timezone.localdate()
        for field in ("creation_date", "attribution_date", "last_renewal_date"):
            value = getattr(self, field)
            if value and value > today:
                errors.setdefault(field, []).append("Cette date ne peut pas être dans le futur.")
        if self.creation_date:
            if self.is_new_regime and self.attribution_date:
                errors.setdefault("attribution_date", []).append(
                    "Une ADS créée à partir du 1er octobre 2014 n’a pas de date d’attribution : "
                    "elle reste à son premier titulaire, qui ne peut pas la céder."
                )
            if not self.is_new_regime and self.last_renewal_date:
                errors.setdefault("last_renewal_date", []).append(
                    "Une ADS créée avant le 1er octobre 2014 n’est pas limitée dans le temps : "
                    "elle n’a pas de date de renouvellement."
                )
            if self.attribution_date and self.attribution_date < self.creation_date:
                errors.setdefault("attribution_date", []).append(
                    "La date d’attribution ne peut pas précéder la date de création de l’ADS."
                )
            if self.last_renewal_date and self.last_renewal_date < self.creation_date:
                errors.setdefault("last_renewal_date", []).append(
                    "La date de renouvellement ne peut pas précéder la date de création de l’ADS."
                )
        if self.holder_siret:
            try:
                validators.validate_siret(self.holder_siret)
            except ValidationError as error:
                errors.setdefault("holder_siret", []).extend(error.messages)
        # Too long for the field: its length error says it already, once is enough.
        plate_length = self._meta.get_field("vehicle_plate").max_length
        if self.vehicle_plate and len(self.vehicle_plate) <= plate_length:
            try:
                validators.validate_plate(self.vehicle_plate)
            except ValidationError as error:
                errors.setdefault("vehicle_plate", []).extend(error.messages)
        if self.holder_phone:
            try:
                validators.validate_phone(self.holder_phone)
            except ValidationError as error:
                errors.setdefault("holder_phone", []).extend(error.messages)
        if self.authority_id and self.commune_id:
            authority = self.authority
            if authority.type == Authority.Type.EPCI:
                if not authority.epci.members.filter(pk=self.commune_id).exists():
                    errors.setdefault("commune", []).append(
                        "Cette commune n’est pas membre de l’EPCI gestionnaire."
                    )
            else:
                errors.setdefault("commune", []).append(
                    "Seule une ADS délivrée par un EPCI indique sa commune de stationnement : "
                    "laissez ce champ vide."
                )
        if errors:
            raise ValidationError(errors)
        if self._state.adding and self.authority_id and self.authority.declares_no_ads:
            raise ValidationError(
                "Ce gestionnaire a déclaré n’avoir aucune ADS sur son territoire : retirez "
                "d’abord cette déclaration pour en enregistrer une."
            )

    def validate_constraints(self, exclude: Any = None) -> None:
        # Django files a unique constraint's error under its field only when it has one;
        # ads_number_unique_per_authority has two, but it is the number that is taken.
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict({})
            (number_unique,) = (
                c for c in self._meta.constraints if c.name == "ads_number_unique_per_authority"
            )
            taken = number_unique.get_violation_error_message()
            general = errors.pop(NON_FIELD_ERRORS, [])
            for message in general:
                key = "number" if message.message == taken else NON_FIELD_ERRORS
                errors.setdefault(key, []).append(message)
            raise ValidationError(errors) from None

    def validate_drivers(self, drivers: list["Driver"]) -> list[str]:
        """Rules that span the ADS and its drivers; returns French messages."""
        errors = []
        if self.is_new_regime:
            if len(drivers) > 1:
                errors.append(
                    "Une ADS créée à partir du 1er octobre 2014 est exploitée personnellement "
                    "par son titulaire : elle ne peut avoir qu’un seul conducteur."
                )
            if any(d.status != Driver.Status.TITULAIRE for d in drivers):
                errors.append(
                    "Une ADS créée à partir du 1er octobre 2014 ne peut être exploitée que par "
                    "son titulaire (statut « titulaire exploitant »)."
                )
        if sum(1 for d in drivers if d.status == Driver.Status.TITULAIRE) > 1:
            errors.append("Une ADS ne peut avoir qu’un seul titulaire exploitant.")
        return errors

    # --- completeness -------------------------------------------------------------------

    def missing_information(self, drivers: list["Driver"] | None = None) -> list[str]:
        """What the law requires and the record lacks (empty when complete)."""
        if drivers is None:
            drivers = list(self.drivers.all()) if self.pk else []
        missing = []
        if not self.creation_date:
            missing.append("la date de création de l’ADS")
        if self.in_use:
            if not self.holder_name:
                missing.append("le nom du titulaire")
            if not self.holder_siret:
                missing.append("le SIRET du titulaire")
            if not self.vehicle_plate:
                missing.append("l’immatriculation du véhicule")
            if self.vehicle_pmr is None:
                missing.append("l’accessibilité du véhicule aux personnes en fauteuil roulant")
            if self.vehicle_low_emission is None:
                missing.append("le caractère faiblement émetteur du véhicule")
            if not drivers:
                missing.append("au moins un conducteur")
            elif any(not d.card_number for d in drivers):
                missing.append("le numéro de carte professionnelle de chaque conducteur")
            if (
                self.is_new_regime
                and drivers
                and not any(d.status == Driver.Status.TITULAIRE for d in drivers)
            ):
                missing.append("un conducteur titulaire exploitant")
        return missing

    def refresh_derived(self, drivers: list["Driver"] | None = None) -> None:
        """Recompute the derived columns (sort key, search text, completeness)."""
        if drivers is None:
            drivers = list(self.drivers.all()) if self.pk else []
        self.number_sort_key = natural_sort_key(self.number)
        self.plate_search = validators.plate_search_key(self.vehicle_plate)
        self.drivers_search = " | ".join(
            part for d in drivers for part in (d.name, d.card_number) if part
        )
        self.is_complete = not self.missing_information(drivers)


class Driver(models.Model):
    """A person who operates the ADS ("exploitant"), with their status."""

    class Status(models.TextChoices):
        TITULAIRE = "titulaire_exploitant", "Titulaire exploitant"
        REPRESENTANT = "representant_legal", "Représentant légal"
        SALARIE = "salarie", "Salarié"
        LOCATAIRE_GERANT = "locataire_gerant", "Locataire-gérant"
        LOCATAIRE_COOPERATEUR = "locataire_cooperateur", "Locataire coopérateur"

    # Employees and legal representatives work under the holder's company: no SIRET.
    STATUSES_WITH_SIRET = (Status.TITULAIRE, Status.LOCATAIRE_GERANT, Status.LOCATAIRE_COOPERATEUR)

    ads = models.ForeignKey(ADS, on_delete=models.CASCADE, related_name="drivers")
    status = models.CharField("statut", max_length=30, choices=Status.choices)
    name = models.CharField("nom et prénom", max_length=255)
    siret = models.CharField(
        "SIRET", max_length=14, blank=True, help_text="Pour un titulaire ou un locataire."
    )
    card_number = models.CharField("numéro de carte professionnelle", max_length=50, blank=True)
    lease_start_date = models.DateField(
        "début de la location-gérance",
        null=True,
        blank=True,
        help_text="Uniquement pour un locataire-gérant.",
    )

    class Meta:
        verbose_name = "conducteur"
        verbose_name_plural = "conducteurs"
        # By the ADS's id, not "ads" (its natural order): that would join the ADS and its
        # authority to every query of one ADS's drivers, on every ADS page.
        ordering = ["ads_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ads"],
                condition=Q(status="titulaire_exploitant"),
                name="driver_one_titulaire_per_ads",
            ),
            models.CheckConstraint(
                name="driver_siret_only_for_own_business",
                condition=Q(siret="")
                | Q(
                    status__in=["titulaire_exploitant", "locataire_gerant", "locataire_cooperateur"]
                ),
            ),
            models.CheckConstraint(
                name="driver_siret_format",
                condition=Q(siret="") | Q(siret__regex=validators.SIRET_RE),
            ),
            models.CheckConstraint(
                name="driver_lease_date_only_for_locataire_gerant",
                condition=Q(lease_start_date__isnull=True) | Q(status="locataire_gerant"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    def clean_fields(self, exclude: Any = None) -> None:
        self.name = (self.name or "").strip()
        self.siret = validators.normalize_siret(self.siret)
        self.card_number = (self.card_number or "").strip()
        with formulas_refused(self, ("name", "card_number"), exclude):
            super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        if self.siret:
            if self.status not in self.STATUSES_WITH_SIRET:
                errors.setdefault("siret", []).append(
                    f"Un conducteur au statut « {self.get_status_display()} » n’a pas de SIRET "
                    "propre : laissez ce champ vide."
                )
            else:
                try:
                    validators.validate_siret(self.siret)
                except ValidationError as error:
                    errors.setdefault("siret", []).extend(error.messages)
        if self.lease_start_date and self.status != self.Status.LOCATAIRE_GERANT:
            errors.setdefault("lease_start_date", []).append(
                "Seul un locataire-gérant a une date de début de location-gérance."
            )
        if self.lease_start_date and self.lease_start_date > timezone.localdate():
            errors.setdefault("lease_start_date", []).append(
                "Cette date ne peut pas être dans le futur."
            )
        if errors:
            raise ValidationError(errors)


def ads_document_path(instance: "ADSDocument", filename: str) -> str:
    return f"ads/{instance.ads.authority_id}/{instance.ads_id}/{filename}"


class UploadedFile(models.Model):
    """What is kept of every uploaded file besides the file itself."""

    original_name = models.CharField("nom du fichier", max_length=255)
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


class ADSDocument(UploadedFile):
    """A legal decree concerning one ADS (attribution, renewal, transfer…)."""

    class Kind(models.TextChoices):
        ATTRIBUTION = "attribution", "Arrêté d’attribution"
        RENEWAL = "renewal", "Arrêté de renouvellement"
        TRANSFER = "transfer", "Arrêté de transfert"
        WITHDRAWAL = "withdrawal", "Arrêté de retrait"
        OTHER = "other", "Autre document"

    ads = models.ForeignKey(ADS, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField("type de document", max_length=20, choices=Kind.choices)
    file = models.FileField("fichier", upload_to=ads_document_path, max_length=300)
    size = models.PositiveIntegerField("taille (octets)", default=0)

    class Meta:
        verbose_name = "document de l’ADS"
        verbose_name_plural = "documents de l’ADS"
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.original_name}"


reversion.register(Driver)
reversion.register(ADSDocument, exclude=["file"])


def decree_path(instance: "AuthorityDecree", filename: str) -> str:
    return f"arretes/{instance.authority_id}/{filename}"


class AuthorityDecree(UploadedFile):
    """The decree that fixes the number of ADS on an authority's territory."""

    authority = models.ForeignKey(
        Authority, on_delete=models.CASCADE, related_name="decrees", verbose_name="gestionnaire"
    )
    date = models.DateField("date de l’arrêté")
    ads_count = models.PositiveIntegerField("nombre d’ADS fixé")
    file = models.FileField("fichier", upload_to=decree_path, max_length=300)

    class Meta:
        verbose_name = "arrêté fixant le nombre d’ADS"
        verbose_name_plural = "arrêtés fixant le nombre d’ADS"
        ordering = ["-date", "-pk"]

    def __str__(self) -> str:
        return f"Arrêté du {self.date:%d/%m/%Y} ({self.ads_count} ADS)"

    def clean(self) -> None:
        super().clean()
        if self.date and self.date > timezone.localdate():
            raise ValidationError({"date": "Cette date ne peut pas être dans le futur."})


class RegisterChange(models.Model):
    """One change to the register, indexed by département and date.

    Written with each revision (``reversion.add_meta``) so that a prefecture's feed of the
    latest changes is an index range scan, whatever the size of the national history.
    """

    # A bulk import is one revision that changes many ADS: one row for each.
    revision = models.ForeignKey(
        "reversion.Revision", on_delete=models.CASCADE, related_name="register_changes"
    )
    ads = models.ForeignKey(ADS, on_delete=models.CASCADE, related_name="changes", null=True)
    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="changes")
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField("date", default=timezone.now)

    class Meta:
        verbose_name = "modification du registre"
        verbose_name_plural = "modifications du registre"
        indexes = [
            # The feed's order, made total by the id (mesads.ads.prefecture.CHANGES_ORDER).
            models.Index(
                fields=["departement", "-created_at", "-id"], name="change_departement_feed_idx"
            ),
            models.Index(fields=["authority", "-created_at"], name="change_authority_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.authority} {self.created_at:%d/%m/%Y %H:%M}"
