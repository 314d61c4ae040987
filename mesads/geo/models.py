"""Reference geography: the official codes of communes, EPCIs, départements, airports.

Loaded from the INSEE *Code officiel géographique* as published by
``@etalab/decoupage-administratif`` (see ``load_geography``). Rows are never deleted:
a commune that disappears from a newer vintage (merged into another) is kept inactive,
so that whatever refers to it is not orphaned.
"""

from django.db import models


class Departement(models.Model):
    code = models.CharField("code", max_length=3, unique=True)
    name = models.CharField("nom", max_length=100)
    region_code = models.CharField("code de région", max_length=3, blank=True)
    chef_lieu_code = models.CharField("code INSEE du chef-lieu", max_length=5, blank=True)
    zone = models.CharField("zone", max_length=10, blank=True)

    class Meta:
        verbose_name = "département"
        verbose_name_plural = "départements"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class CommuneQuerySet(models.QuerySet):
    def current(self):
        """Communes that exist today as such (not delegated, associated, or districts)."""
        return self.filter(type=Commune.Type.ACTUELLE, is_active=True)


class Commune(models.Model):
    class Type(models.TextChoices):
        ACTUELLE = "commune-actuelle", "Commune actuelle"
        DELEGUEE = "commune-deleguee", "Commune déléguée"
        ASSOCIEE = "commune-associee", "Commune associée"
        ARRONDISSEMENT = "arrondissement-municipal", "Arrondissement municipal"

    # Text, not a number: Corsica's codes are 2A… and 2B…, and codes keep their leading 0.
    insee_code = models.CharField("code INSEE", max_length=5, db_index=True)
    type = models.CharField("type", max_length=30, choices=Type.choices)
    name = models.CharField("nom", max_length=100)
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, related_name="communes", verbose_name="département"
    )
    siren = models.CharField("SIREN", max_length=9, blank=True)
    population = models.PositiveIntegerField("population", null=True, blank=True)
    postal_codes = models.JSONField("codes postaux", default=list, blank=True)
    # For a delegated or associated commune, or a municipal district: its current commune.
    parent_code = models.CharField("code INSEE de rattachement", max_length=5, blank=True)
    former_codes = models.JSONField("anciens codes", default=list, blank=True)
    is_active = models.BooleanField(
        "existe dans le millésime chargé",
        default=True,
        help_text="Faux pour une commune disparue (fusion) : elle est conservée, jamais supprimée.",
    )

    objects = CommuneQuerySet.as_manager()

    class Meta:
        verbose_name = "commune"
        verbose_name_plural = "communes"
        ordering = ["insee_code", "type"]
        constraints = [
            # A delegated commune may share the code of its current commune, hence the pair.
            models.UniqueConstraint(fields=["insee_code", "type"], name="commune_code_type_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.insee_code})"


class EPCI(models.Model):
    class Type(models.TextChoices):
        CC = "CC", "Communauté de communes"
        CA = "CA", "Communauté d’agglomération"
        CU = "CU", "Communauté urbaine"
        METRO = "METRO", "Métropole"
        MET69 = "MET69", "Métropole de Lyon"

    siren = models.CharField("SIREN", max_length=9, unique=True)
    name = models.CharField("nom", max_length=200)
    type = models.CharField("type", max_length=10, choices=Type.choices)
    population = models.PositiveIntegerField("population", null=True, blank=True)
    # An EPCI may straddle départements: this is the one holding most of its population,
    # whose prefecture oversees it.
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        related_name="epcis",
        verbose_name="département",
        null=True,
        blank=True,
    )
    members = models.ManyToManyField(
        Commune, related_name="epcis", verbose_name="communes membres", blank=True
    )
    is_active = models.BooleanField("existe dans le millésime chargé", default=True)

    class Meta:
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.siren})"


class Airport(models.Model):
    """An airport zone whose taxi licences are issued by the State."""

    code = models.CharField("code OACI", max_length=4, unique=True)
    name = models.CharField("nom", max_length=100)
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, related_name="airports", verbose_name="département"
    )

    class Meta:
        verbose_name = "aéroport"
        verbose_name_plural = "aéroports"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
