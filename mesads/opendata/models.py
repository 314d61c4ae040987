"""The open-data files as published: which stored file each public address serves.

A file is written under a new name, then this row is switched to it in one transaction:
a download reads either the previous file or the new one, whole, never a file being
written. The previous file is kept until the next publication, so that a download
started just before a switch can finish.
"""

from django.db import models


class Publication(models.Model):
    class Dataset(models.TextChoices):
        AUTHORITIES = "autorites", "Gestionnaires d’ADS"
        ADS = "ads", "Autorisations de stationnement"

    dataset = models.CharField("fichier", max_length=20, choices=Dataset.choices, unique=True)
    name = models.CharField("nom du fichier stocké", max_length=255)
    previous_name = models.CharField("fichier précédent", max_length=255, blank=True)
    rows = models.PositiveIntegerField("lignes")
    size = models.PositiveBigIntegerField("taille (octets)")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    generated_at = models.DateTimeField("généré le")

    class Meta:
        verbose_name = "fichier de données ouvertes"
        verbose_name_plural = "fichiers de données ouvertes"
        ordering = ["dataset"]

    def __str__(self) -> str:
        return f"{self.get_dataset_display()} ({self.generated_at:%d/%m/%Y %H:%M})"
