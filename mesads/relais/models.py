"""The register of relay taxis (taxis relais).

Article R. 3121-2 of the transport code lets a taxi immobilised by a breakdown, an
accident or a theft be replaced temporarily by a relay vehicle; the arrêté of 28 July 2023
(applicable since 1 February 2024) makes each owner declare each relay vehicle in a
register that is départemental, public and mandatory, and gives the vehicle a unique
number (``DD-NN``) shown on its « TAXI RELAIS » stickers.

Rules kept by the database where it can: one département per vehicle; a number unique
and never reused (a per-département counter, ``NumberCounter``, locked while allocating);
a plate unique among live vehicles and in the register's canonical form; a withdrawn
vehicle keeps its number and history (rows are never deleted, only their status moves);
a use's dates ordered and, on PostgreSQL, not overlapping another use of the same vehicle
(an exclusion constraint, migration 0002).
"""

import datetime
from typing import Any

import reversion
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mesads.ads import validators
from mesads.ads.models import ADS
from mesads.core.validators import formulas_refused
from mesads.geo.models import Commune, Departement


class OwnerQuerySet(models.QuerySet):
    def of_member(self, user) -> "OwnerQuerySet":
        """The owners whose members the user is (nothing for anonymous visitors)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(memberships__user_id=user.pk)


@reversion.register()
class Owner(models.Model):
    """Who owns relay vehicles: a taxi company, a garage, a renter, a taxi driver. Its
    company's name and contact are public (drivers use them to rent a vehicle)."""

    name = models.CharField("raison sociale", max_length=200)
    siret = models.CharField(
        "SIRET", max_length=14, validators=[validators.validate_siret], help_text="14 chiffres."
    )
    address = models.CharField("adresse", max_length=300)
    phone = models.CharField(
        "téléphone",
        max_length=20,
        validators=[validators.validate_phone],
        help_text="Publié dans le registre : les chauffeurs vous appellent à ce numéro.",
    )
    email = models.EmailField(
        "adresse électronique de contact",
        help_text="Publiée dans le registre : les chauffeurs vous écrivent à cette adresse.",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = OwnerQuerySet.as_manager()

    class Meta:
        verbose_name = "propriétaire de taxis relais"
        verbose_name_plural = "propriétaires de taxis relais"
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    FORMULA_FREE_FIELDS = ("name", "address", "email")

    def clean_fields(self, exclude: Any = None) -> None:
        self.name = (self.name or "").strip()
        self.address = (self.address or "").strip()
        self.siret = validators.normalize_siret(self.siret)
        self.phone = validators.normalize_phone(self.phone)
        with formulas_refused(self, self.FORMULA_FREE_FIELDS, exclude):
            super().clean_fields(exclude=exclude)


class Membership(models.Model):
    """A person who manages an owner's vehicles: every member may edit them and invite."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="relais_memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "membre"
        constraints = [
            models.UniqueConstraint(fields=["owner", "user"], name="relais_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.owner}"


class Invitation(models.Model):
    """An address invited to manage an owner; accepted by its holder once logged in."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("adresse électronique de la personne invitée")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "invitation"

    def __str__(self) -> str:
        return f"{self.email} → {self.owner}"


class NumberCounter(models.Model):
    """The last number given in a département. Its row is locked (SELECT … FOR UPDATE)
    while a number is allocated, so that two owners registering at once in one
    département never get the same one; it only grows, so a number is never reused."""

    departement = models.OneToOneField(
        Departement, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "compteur de numéros"

    def __str__(self) -> str:
        return f"{self.departement_id} : {self.last}"


class Requirements(models.Model):
    """A prefecture's own requirements for its département's relay vehicles (maximum
    age, dimensions…), shown to owners on the vehicle form."""

    departement = models.OneToOneField(
        Departement, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    text = models.TextField(
        "exigences propres au département",
        blank=True,
        help_text="Par exemple : âge maximal des véhicules, dimensions minimales.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = "exigences départementales"
        verbose_name_plural = "exigences départementales"

    def __str__(self) -> str:
        return f"Exigences du département {self.departement_id}"


class VehicleQuerySet(models.QuerySet):
    def live(self) -> "VehicleQuerySet":
        """In the register: active or suspended (a withdrawn or removed vehicle keeps its
        row, number and history, but not its plate)."""
        return self.filter(status__in=Vehicle.LIVE_STATUSES)

    def public(self) -> "VehicleQuerySet":
        """What the public register lists: the active vehicles."""
        return self.filter(status=Vehicle.Status.ACTIVE)

    def of_member(self, user) -> "VehicleQuerySet":
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(owner__memberships__user_id=user.pk)

    def search(self, text: str) -> "VehicleQuerySet":
        """By number (``30-12``, ``30 12``) or plate, in any spelling."""
        text = (text or "").strip()
        if not text:
            return self
        key = validators.plate_search_key(text)
        return self.filter(
            Q(number__iexact=text.replace(" ", "-"))
            | Q(plate_search=key)
            | Q(plate_search__startswith=key)
        )


@reversion.register()
class Vehicle(models.Model):
    class Engine(models.TextChoices):
        THERMAL = "thermique", "Thermique"
        HYBRID = "hybride", "Hybride"
        PLUGIN_HYBRID = "hybride-rechargeable", "Hybride rechargeable"
        ELECTRIC = "electrique", "Électrique"
        HYDROGEN = "hydrogene", "Hydrogène"
        GAS = "gaz", "GPL ou GNV"

    class Status(models.TextChoices):
        ACTIVE = "actif", "Inscrit"
        SUSPENDED = "suspendu", "Suspendu par la préfecture"
        WITHDRAWN = "retire", "Retiré par son propriétaire"
        REMOVED = "radie", "Radié par la préfecture"

    LIVE_STATUSES = (Status.ACTIVE, Status.SUSPENDED)

    owner = models.ForeignKey(
        Owner, on_delete=models.PROTECT, related_name="vehicles", verbose_name="propriétaire"
    )
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        related_name="relais_vehicles",
        verbose_name="département",
    )
    number = models.CharField("numéro", max_length=10, unique=True, editable=False)
    sequence = models.PositiveIntegerField(editable=False)
    plate = models.CharField(
        "immatriculation",
        max_length=20,
        validators=[validators.validate_plate],
        help_text="Format AB-123-CD. Elle ne pourra plus être modifiée après l’inscription.",
    )
    # plate_search_key(plate), for searches in any spelling.
    plate_search = models.CharField(max_length=20, editable=False, db_index=True)
    make = models.CharField("marque", max_length=100)
    model = models.CharField("modèle", max_length=100)
    engine = models.CharField("motorisation", max_length=30, choices=Engine.choices)
    first_registration_date = models.DateField("date de première immatriculation")
    seats = models.PositiveSmallIntegerField(
        "nombre de places", help_text="Places passagers, conducteur non compris (1 à 8)."
    )
    wheelchair_accessible = models.BooleanField(
        "accessible aux personnes en fauteuil roulant", default=False
    )
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="commune où le véhicule est garé",
    )
    status = models.CharField(
        "statut", max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.TextField("motif", blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField("inscrit le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = VehicleQuerySet.as_manager()

    class Meta:
        verbose_name = "taxi relais"
        verbose_name_plural = "taxis relais"
        ordering = ["departement_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["plate"],
                condition=Q(status__in=["actif", "suspendu"]),
                name="relais_vehicle_live_plate_unique",
                violation_error_message=(
                    "Ce véhicule est déjà inscrit au registre des taxis relais."
                ),
            ),
            models.UniqueConstraint(
                fields=["departement", "sequence"], name="relais_vehicle_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=1, seats__lte=8), name="relais_vehicle_seats_range"
            ),
            # The canonical forms of validators.normalize_plate: SIV or FNI.
            models.CheckConstraint(
                condition=Q(plate__regex=f"^(?:{validators.PLATE_RE})$"),
                name="relais_vehicle_plate_canonical",
            ),
            # A suspension or a removal is always explained to the owner.
            models.CheckConstraint(
                condition=Q(status__in=["actif", "retire"]) | ~Q(status_reason=""),
                name="relais_vehicle_reason_given",
            ),
        ]
        indexes = [models.Index(fields=["departement", "status", "sequence"])]

    def __str__(self) -> str:
        return f"Taxi relais n° {self.number} ({self.plate})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.plate = validators.normalize_plate(self.plate)
        self.plate_search = validators.plate_search_key(self.plate)
        if self.pk:
            # The number, the plate and the département identify the registration: a
            # change would make the stickers and the receipt on board lie.
            before = (
                Vehicle.objects.filter(pk=self.pk)
                .values_list("number", "plate", "departement_id")
                .first()
            )
            if before and before != (self.number, self.plate, self.departement_id):
                raise ValueError("Le numéro, l’immatriculation et le département sont fixés.")
        super().save(*args, **kwargs)

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    FORMULA_FREE_FIELDS = ("make", "model")

    def clean_fields(self, exclude: Any = None) -> None:
        self.plate = validators.normalize_plate(self.plate)
        self.plate_search = validators.plate_search_key(self.plate)
        self.make = (self.make or "").strip()
        self.model = (self.model or "").strip()
        with formulas_refused(self, self.FORMULA_FREE_FIELDS, exclude):
            super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.seats is not None and not 1 <= self.seats <= 8:
            errors["seats"] = "Un taxi compte de 1 à 8 places passagers."
        if self.first_registration_date and self.first_registration_date > timezone.localdate():
            errors["first_registration_date"] = "Cette date ne peut pas être dans le futur."
        if (
            self.commune_id
            and self.departement_id
            and self.commune.departement_id != self.departement_id
        ):
            errors["commune"] = "Cette commune n’est pas dans le département du véhicule."
        if errors:
            raise ValidationError(errors)


OVERLAP_MESSAGE = "Ce taxi relais remplace déjà un autre taxi pendant une partie de cette période."


@reversion.register()
class Use(models.Model):
    """A relay vehicle replacing an immobilised taxi (its ADS) for a period."""

    class Reason(models.TextChoices):
        BREAKDOWN = "panne", "Panne"
        ACCIDENT = "accident", "Accident"
        THEFT = "vol", "Vol du véhicule ou de ses équipements"

    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="uses", verbose_name="taxi relais"
    )
    ads = models.ForeignKey(
        ADS, on_delete=models.PROTECT, related_name="+", verbose_name="ADS remplacée"
    )
    start = models.DateField("du")
    end = models.DateField("au (inclus)")
    reason = models.CharField("motif", max_length=20, choices=Reason.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "utilisation"
        ordering = ["-start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="relais_use_dates_ordered"
            ),
        ]
        indexes = [models.Index(fields=["ads", "start", "end"])]

    def __str__(self) -> str:
        return f"{self.vehicle.number} remplace l’ADS {self.ads_id} du {self.start} au {self.end}"

    def clean(self) -> None:
        if self.start and self.end:
            if self.end < self.start:
                raise ValidationError({"end": "La date de fin doit suivre la date de début."})
            if self.vehicle_id and (
                Use.objects.filter(
                    vehicle_id=self.vehicle_id, start__lte=self.end, end__gte=self.start
                )
                .exclude(pk=self.pk)
                .exists()
            ):
                raise ValidationError(OVERLAP_MESSAGE)

    def is_current(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.start <= today <= self.end


class VehicleChange(models.Model):
    """One write to a relay vehicle as the API's change feed of relay taxis serves it.

    Written by ``services`` in the writing transaction; its ``position`` is given after
    commit, in commit order, by ``changes.stamp`` (the technique of the ADS feed,
    ``mesads.api.changes``): a position once served is never passed by a change committed
    later."""

    class Kind(models.TextChoices):
        CREATION = "creation", "Inscription"
        MODIFICATION = "modification", "Modification"
        WITHDRAWAL = "retrait", "Retrait ou radiation"

    # Plain ids: a change outlives nothing, but reads no join.
    vehicle_id = models.BigIntegerField()
    departement_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    position = models.BigIntegerField(null=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "changement du registre des taxis relais (API)"
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(position__isnull=True),
                name="relais_change_pending_idx",
            ),
            models.Index(fields=["departement_id", "position"], name="relais_change_dept_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.vehicle_id} ({self.position})"
