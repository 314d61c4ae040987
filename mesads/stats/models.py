"""The register's key figures, kept day by day.

``DailySnapshot`` holds one row per département and per day, plus one national row
(``departement`` empty), written by the daily job (``mesads.stats.snapshots``). The
« Chiffres clés » page reads today's figures live and the past from these rows: the
shares of complete, attested and certified records cannot be rebuilt afterwards, since a
record keeps only its latest attestation and certification.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from mesads.geo.models import Departement

# The counts of a snapshot, in the order the tables show them.
COUNTS = (
    "ads_total",
    "ads_in_use",
    "ads_complete",
    "ads_attested",
    "ads_certified",
    "ads_pmr",
    "ads_low_emission",
    "ads_cpam",
    "ads_expected",
    "ads_of_expected",
    "authorities_concerned",
    "authorities_declared",
    "authorities_with_expected",
)


class DailySnapshot(models.Model):
    date = models.DateField("jour")
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="département",
        help_text="Vide : la France entière.",
    )
    ads_total = models.PositiveIntegerField("ADS déclarées", default=0)
    ads_in_use = models.PositiveIntegerField("ADS exploitées", default=0)
    ads_complete = models.PositiveIntegerField("fiches complètes", default=0)
    ads_attested = models.PositiveIntegerField("fiches attestées depuis moins d’un an", default=0)
    ads_certified = models.PositiveIntegerField("fiches certifiées", default=0)
    ads_pmr = models.PositiveIntegerField("véhicules accessibles (PMR)", default=0)
    ads_low_emission = models.PositiveIntegerField("véhicules à faibles émissions", default=0)
    ads_cpam = models.PositiveIntegerField("taxis conventionnés CPAM", default=0)
    ads_expected = models.PositiveIntegerField(
        "ADS attendues", default=0, help_text="Somme des nombres fixés par arrêté connus."
    )
    ads_of_expected = models.PositiveIntegerField(
        "ADS déclarées par les gestionnaires dont le nombre attendu est connu", default=0
    )
    authorities_concerned = models.PositiveIntegerField("gestionnaires concernés", default=0)
    authorities_declared = models.PositiveIntegerField("gestionnaires ayant déclaré", default=0)
    authorities_with_expected = models.PositiveIntegerField(
        "gestionnaires dont le nombre attendu est connu", default=0
    )
    taken_at = models.DateTimeField("calculé le", auto_now=True)

    class Meta:
        verbose_name = "relevé quotidien"
        verbose_name_plural = "relevés quotidiens"
        ordering = ["-date", "departement__code"]
        constraints = [
            # One row per département and per day, whatever the number of runs.
            models.UniqueConstraint(
                fields=["date", "departement"], name="snapshot_one_per_departement_per_day"
            ),
            # NULLs are distinct in a unique index: the national row needs its own.
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(departement__isnull=True),
                name="snapshot_one_national_per_day",
            ),
            models.CheckConstraint(
                name="snapshot_declared_within_concerned",
                condition=Q(authorities_declared__lte=models.F("authorities_concerned")),
            ),
        ]

    def __str__(self) -> str:
        where = self.departement.name if self.departement_id else "France entière"
        return f"{where}, {self.date:%d/%m/%Y}"

    def clean(self) -> None:
        super().clean()
        if self.authorities_declared > self.authorities_concerned:
            raise ValidationError(
                {
                    "authorities_declared": "Il ne peut y avoir plus de gestionnaires ayant "
                    "déclaré que de gestionnaires concernés."
                }
            )
