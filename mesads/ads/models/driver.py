"""The people who operate an ADS ("exploitants")."""

from typing import Any

import reversion
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import (
    Q,
)
from django.utils import timezone

from mesads.core.validators import formulas_refused

from .. import validators


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

    ads = models.ForeignKey("ads.ADS", on_delete=models.CASCADE, related_name="drivers")
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


reversion.register(Driver)
