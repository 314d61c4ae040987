"""The licences (ADS) of the register: the rules of the transport code on each, and
their queries."""

import datetime
from typing import Any

import reversion
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import (
    Count,
    F,
    Q,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from mesads.authorities.models import Authority, _restrict
from mesads.core.validators import formulas_refused
from mesads.geo.models import Commune
from mesads.users.scope import scope_for

from .. import validators
from .driver import Driver
from .rules import (
    ATTESTATION_VALIDITY,
    NEW_REGIME_START,
    RENEWAL_YEARS,
    add_years,
    attestation_due_q,
    certified_q,
    natural_sort_key,
    number_search_expression,
    number_search_key,
    renewal_limit,
    renewal_overdue_q,
    to_recertify_q,
    validity_start,
)


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
