"""Waiting lists: the applications from which an authority issues its new ADS.

The rules come from the transport code, article L3121-5 and its decree (R3121-13 and
following):

- new ADS are issued in the order applications were registered on the authority's
  waiting list, which the authority makes **public**;
- priority goes to holders of a taxi driver's professional card who can show at least
  two years of taxi driving in the five years before the attribution;
- an application is valid one year and lapses unless the applicant renews it;
- a person holds at most one application on one list: the card number spots it.

Each rule is written twice where it can be: a named database constraint, and the same
rule in ``clean()`` so that forms show a French message on the right field.
"""

import datetime
import re
from typing import Any

import reversion
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from mesads.ads import validators
from mesads.ads.models import ADS, add_years, natural_sort_key
from mesads.authorities.models import Authority, _restrict
from mesads.core.validators import formulas_refused
from mesads.geo.models import Departement
from mesads.users.scope import scope_for

# An application lasts one year from its registration or its last renewal.
VALIDITY_YEARS = 1
# Applicants and managers are told this many days before an application lapses.
REMINDER_DAYS = 30

PRIORITY_REASON = "Prioritaire : 2 ans de conduite sur les 5 dernières années"
ORDER_REASON = "Ordre d’inscription"

CARD_TAKEN = (
    "Ce demandeur figure déjà sur la liste d’attente de ce gestionnaire (carte "
    "professionnelle n° {card}) : une personne ne peut y avoir qu’une demande en cours."
)
NUMBER_TAKEN = "Ce gestionnaire a déjà une demande n° {number} : chaque numéro est unique."


def card_key(number: str) -> str:
    """A professional card number as comparisons see it: upper case, letters and digits
    only, so that « cp 30-0001 » and « CP300001 » are one card."""
    return re.sub(r"[^0-9A-Z]", "", (number or "").upper())


class ApplicationQuerySet(models.QuerySet):
    def readable_by(self, user) -> "ApplicationQuerySet":
        """The applications of the registers the user may read (``mesads.users.scope``)."""
        return _restrict(self, scope_for(user).readable_q("authority__"))

    for_user = readable_by

    def active(self) -> "ApplicationQuerySet":
        return self.filter(state=Application.State.ACTIVE)

    def due(self, today: datetime.date | None = None) -> "ApplicationQuerySet":
        """Active, still valid, lapsing within ``REMINDER_DAYS``: to renew."""
        today = today or timezone.localdate()
        return self.active().filter(
            valid_until__gte=today,
            valid_until__lt=today + datetime.timedelta(days=REMINDER_DAYS),
        )

    def expired(self, today: datetime.date | None = None) -> "ApplicationQuerySet":
        """Active but not renewed in time: lapsed, to remove from the list."""
        return self.active().filter(valid_until__lt=today or timezone.localdate())

    def eligible(self, today: datetime.date | None = None) -> "ApplicationQuerySet":
        """Active and valid: those an ADS may be attributed to."""
        return self.active().filter(valid_until__gte=today or timezone.localdate())

    def in_priority_order(self) -> "ApplicationQuerySet":
        """The order of attribution: priority applicants first (L3121-5: two years of
        taxi driving in the last five), then the order of registration."""
        return self.alias(
            priority_rank=Case(When(proves_driving_experience=True, then=Value(0)), default=1)
        ).order_by("priority_rank", "registered_at", "pk")

    def ranks(self) -> dict[int, int]:
        """The place of each application in course in the order of attribution, by id,
        whatever filters the page: one query of ids (an SQL rank per row, a correlated
        count, cost 0.25 s for a page of a 500-application list on SQLite)."""
        ordered = self.active().in_priority_order().values_list("pk", flat=True)
        return {pk: rank for rank, pk in enumerate(ordered.iterator(chunk_size=5000), 1)}

    def public(self) -> "ApplicationQuerySet":
        """The public list: applications in course, in the order of attribution, read
        without any personal data."""
        return self.active().in_priority_order().only(*Application.PUBLIC_FIELDS)

    def recently_attributed(self, count: int = 20) -> "ApplicationQuerySet":
        """The last applications that received an ADS, newest first, read without any
        personal data: the public sees that attributions follow the list."""
        return (
            self.filter(state=Application.State.ATTRIBUTED)
            .order_by("-removed_at", "-pk")
            .only(*Application.PUBLIC_FIELDS, "removed_at")[:count]
        )

    def with_card(self, card_number: str) -> "ApplicationQuerySet":
        return self.filter(card_number_key=card_key(card_number))


class Application(models.Model):
    """An application on an authority's waiting list."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        ATTRIBUTED = "attributed", "Attribuée"
        REMOVED = "removed", "Radiée"

    class RemovalReason(models.TextChoices):
        ATTRIBUTED = "attributed", "Attribuée"
        WITHDRAWN = "withdrawn", "Retirée par le demandeur"
        NOT_RENEWED = "not_renewed", "Non renouvelée"
        INELIGIBLE = "ineligible", "Demandeur inéligible"
        OTHER = "other", "Autre motif"

    authority = models.ForeignKey(
        Authority,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name="gestionnaire",
    )
    number = models.CharField(
        "numéro de la demande",
        max_length=50,
        blank=True,
        help_text="Laissez vide pour le numéro suivant de la liste.",
    )
    number_sort_key = models.CharField(max_length=120, editable=False)
    registered_at = models.DateTimeField(
        "date et heure d’inscription",
        default=timezone.now,
        help_text="Elles fixent l’ordre de la liste.",
    )
    applicant_name = models.CharField("nom et prénom du demandeur", max_length=255)
    applicant_email = models.EmailField(
        "adresse électronique",
        blank=True,
        help_text="Pour lui rappeler de renouveler sa demande.",
    )
    applicant_phone = models.CharField("téléphone", max_length=16, blank=True)
    applicant_address = models.TextField("adresse postale", blank=True)
    card_number = models.CharField("numéro de carte professionnelle", max_length=50)
    # card_key(card_number): what the uniqueness rule compares.
    card_number_key = models.CharField(max_length=50, editable=False)
    card_departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="département de délivrance de la carte",
    )
    card_date = models.DateField("date de délivrance de la carte", null=True, blank=True)
    proves_driving_experience = models.BooleanField(
        "justifie de 2 ans de conduite d’un taxi au cours des 5 dernières années",
        default=False,
        help_text="Donne la priorité sur la liste (article L3121-5 du code des transports).",
    )
    renewed_at = models.DateField("date du dernier renouvellement", null=True, blank=True)
    # (renewed_at or the registration date) + one year: the lists and reminders query it.
    valid_until = models.DateField("valable jusqu’au", editable=False)
    state = models.CharField(
        "état", max_length=20, choices=State.choices, default=State.ACTIVE, editable=False
    )
    removal_reason = models.CharField(
        "motif de sortie de la liste", max_length=20, choices=RemovalReason.choices, blank=True
    )
    removal_comment = models.CharField("précision", max_length=255, blank=True)
    removed_at = models.DateTimeField("sortie de la liste le", null=True, blank=True)
    ads = models.ForeignKey(
        ADS,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="ADS attribuée",
        editable=False,
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    # What the public list reads: no personal data leaves the database for it.
    PUBLIC_FIELDS = ("pk", "authority_id", "number", "registered_at", "state", "valid_until")

    class Meta:
        verbose_name = "demande d’ADS"
        verbose_name_plural = "demandes d’ADS"
        ordering = ["authority", "registered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "number"],
                name="application_number_unique_per_authority",
                violation_error_message="Ce gestionnaire a déjà une demande portant ce "
                "numéro : chaque numéro est unique.",
            ),
            # One person, one application in course on one list (L3121-5).
            models.UniqueConstraint(
                fields=["authority", "card_number_key"],
                condition=Q(state="active"),
                name="application_card_unique_active",
                violation_error_message="Ce demandeur a déjà une demande en cours sur cette liste.",
            ),
            models.CheckConstraint(
                name="application_state_matches_reason",
                condition=Q(state="active", removal_reason="", removed_at__isnull=True)
                | Q(state="attributed", removal_reason="attributed", removed_at__isnull=False)
                | Q(
                    state="removed",
                    removal_reason__in=["withdrawn", "not_renewed", "ineligible", "other"],
                    removed_at__isnull=False,
                ),
            ),
            models.CheckConstraint(
                name="application_ads_only_when_attributed",
                condition=Q(ads__isnull=True) | Q(state="attributed"),
            ),
            models.CheckConstraint(
                name="application_card_number_not_empty", condition=~Q(card_number_key="")
            ),
        ]
        indexes = [
            models.Index(
                fields=["authority", "proves_driving_experience", "registered_at", "id"],
                condition=Q(state="active"),
                name="application_active_order_idx",
            ),
            models.Index(fields=["card_number_key"], name="application_card_idx"),
            models.Index(
                fields=["valid_until"], condition=Q(state="active"), name="application_valid_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Demande n° {self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_derived()
        super().save(*args, **kwargs)

    def refresh_derived(self) -> None:
        self.number_sort_key = natural_sort_key(self.number)
        self.card_number_key = card_key(self.card_number)
        if self.renewed_at or self.registered_at:
            start = self.renewed_at or timezone.localdate(self.registered_at)
            self.valid_until = add_years(start, VALIDITY_YEARS)

    # --- what the lists show -------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_priority(self) -> bool:
        return self.proves_driving_experience

    @property
    def order_reason(self) -> str:
        """Why the application stands where it does in the computed order."""
        return PRIORITY_REASON if self.is_priority else ORDER_REASON

    def is_expired(self, today: datetime.date | None = None) -> bool:
        return self.is_active and self.valid_until < (today or timezone.localdate())

    def is_due(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.is_active and today <= self.valid_until < today + datetime.timedelta(
            days=REMINDER_DAYS
        )

    def status_label(self, today: datetime.date | None = None) -> str:
        """The state as the lists say it (the public one too: no personal data)."""
        if self.state == self.State.ATTRIBUTED:
            return "Attribuée"
        if self.state == self.State.REMOVED:
            return f"Radiée ({self.get_removal_reason_display().lower()})"
        if self.is_expired(today):
            return "Expirée"
        if self.is_due(today):
            return "À renouveler"
        return "Active"

    # --- validation ----------------------------------------------------------------------

    # Free text that the exports and the public list publish: no formula (core.validators).
    FORMULA_FREE_FIELDS = (
        "number",
        "applicant_name",
        "applicant_email",
        "applicant_address",
        "card_number",
        "removal_comment",
    )

    def clean_fields(self, exclude: Any = None) -> None:
        self.number = (self.number or "").strip()
        self.applicant_name = (self.applicant_name or "").strip()
        self.card_number = (self.card_number or "").strip()
        self.applicant_phone = validators.normalize_phone(self.applicant_phone)
        with formulas_refused(self, self.FORMULA_FREE_FIELDS, exclude):
            super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        try:
            self.clean_values()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        try:
            self.check_list()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def check_list(self) -> None:
        """The rules against the rest of the list: a number and an applicant's card once."""
        errors: dict[str, list[str]] = {}
        if self.authority_id:
            if self.number and self.number_is_taken():
                errors["number"] = [NUMBER_TAKEN.format(number=self.number)]
            if self.is_active and self.card_number and self.card_is_taken():
                errors["card_number"] = [CARD_TAKEN.format(card=self.card_number)]
        if errors:
            raise ValidationError(errors)

    def clean_values(self) -> None:
        """The rules on the application's own values (no query: the import checks a
        whole file with them, and the list's uniqueness in one query)."""
        errors: dict[str, list[str]] = {}
        now = timezone.now()
        today = timezone.localdate()
        if self.registered_at and self.registered_at > now + datetime.timedelta(minutes=5):
            errors.setdefault("registered_at", []).append(
                "L’inscription ne peut pas être dans le futur."
            )
        if self.card_date and self.card_date > today:
            errors.setdefault("card_date", []).append("Cette date ne peut pas être dans le futur.")
        if self.renewed_at:
            if self.renewed_at > today:
                errors.setdefault("renewed_at", []).append(
                    "Cette date ne peut pas être dans le futur."
                )
            elif self.registered_at and self.renewed_at < timezone.localdate(self.registered_at):
                errors.setdefault("renewed_at", []).append(
                    "Une demande ne peut pas être renouvelée avant d’avoir été inscrite."
                )
        if self.applicant_phone:
            try:
                validators.validate_phone(self.applicant_phone)
            except ValidationError as error:
                errors.setdefault("applicant_phone", []).extend(error.messages)
        if self.card_number and not card_key(self.card_number):
            errors.setdefault("card_number", []).append(
                "Le numéro de carte professionnelle doit contenir des lettres ou des chiffres."
            )
        if errors:
            raise ValidationError(errors)

    def number_is_taken(self) -> bool:
        taken = Application.objects.filter(authority=self.authority_id, number=self.number)
        return taken.exclude(pk=self.pk).exists() if self.pk else taken.exists()

    def card_is_taken(self) -> bool:
        taken = Application.objects.active().filter(authority=self.authority_id)
        taken = taken.with_card(self.card_number)
        return taken.exclude(pk=self.pk).exists() if self.pk else taken.exists()

    def other_lists(self) -> list[Authority]:
        """The other authorities on whose list this card has an application in course:
        a warning for the manager (a person should not sit on several lists), not a
        refusal — the law forbids two applications on one list only."""
        if not self.card_number:
            return []
        ids = (
            Application.objects.active()
            .with_card(self.card_number)
            .exclude(authority=self.authority_id)
            .values("authority_id")
        )
        return list(Authority.objects.filter(pk__in=ids).only("pk", "name").order_by("name"))

    def next_number(self) -> str:
        """The next free number of the authority's list: one more than the largest
        plain number given so far."""
        numbers = Application.objects.filter(
            authority=self.authority_id, number__regex=r"^[0-9]{1,12}$"
        ).values_list("number", flat=True)
        return str(max((int(number) for number in numbers), default=0) + 1)


class Reminder(models.Model):
    """A reminder sent by the daily job, so that none is sent twice (``daily.py``)."""

    class Kind(models.TextChoices):
        DUE = "due", "Renouvellement à faire"
        EXPIRED = "expired", "Demande expirée"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    # The end of validity the reminder is about: a renewed application gets new ones.
    valid_until = models.DateField("fin de validité")
    sent_at = models.DateTimeField("envoyé le", default=timezone.now)
    applicant_told = models.BooleanField("demandeur prévenu", default=False)
    managers_told = models.PositiveIntegerField("gestionnaires prévenus", default=0)

    class Meta:
        verbose_name = "rappel de renouvellement"
        verbose_name_plural = "rappels de renouvellement"
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind", "valid_until"], name="reminder_once_per_validity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.application}"


reversion.register(Application, exclude=["number_sort_key", "card_number_key", "updated_at"])
