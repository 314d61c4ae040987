"""The legal documents of the register: an ADS's decrees, and the decree that fixes an
authority's number of ADS."""

import reversion
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from mesads.authorities.models import Authority

from .ads import ADS


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
