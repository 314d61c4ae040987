"""The register's history, indexed by département and date."""

from django.db import models
from django.utils import timezone

from mesads.authorities.models import Authority
from mesads.geo.models import Departement

from .ads import ADS


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
