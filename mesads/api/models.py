"""The re-use API's own tables: the keys of re-user organisations, their daily call
counts, and the change log that lets a re-user keep an exact mirror of the register."""

from django.db import models
from django.db.models import Q
from rest_framework_api_key.models import AbstractAPIKey

from mesads.geo.models import Departement


class Profile(models.TextChoices):
    """What personal data a key receives (``mesads.api.representation`` applies it)."""

    COMPLET = "complet", "Complet (autorités publiques : tout sauf les notes internes)"
    LE_TAXI = "le_taxi", "le.taxi (sans téléphone ni adresse électronique du titulaire)"
    CPAM = "cpam", "Assurance maladie (conventionnement et véhicule, sans conducteurs)"
    ANONYME = "anonyme", "Sans données personnelles (ni titulaire ni conducteurs)"


class APIKey(AbstractAPIKey):
    """A key given to one re-user organisation. Only its hash is stored: the key itself is
    shown once, when national staff create it in the admin."""

    class Scope(models.TextChoices):
        NATIONAL = "national", "Tout le territoire"
        DEPARTEMENTS = "departements", "Certains départements"

    # The library's fields, as it defines them, with labels in French: it ships no French
    # translation, and national staff read them in the admin.
    prefix = models.CharField("préfixe", max_length=8, unique=True, editable=False)
    created = models.DateTimeField("créée le", auto_now_add=True, db_index=True)
    name = models.CharField(
        "nom de la clé",
        max_length=50,
        blank=False,
        default=None,
        help_text="Pour la distinguer des autres clés de l’organisation : « Production », "
        "« Recette ». 50 caractères au plus.",
    )
    revoked = models.BooleanField(
        "révoquée",
        blank=True,
        default=False,
        help_text="Une clé révoquée ne permet plus aucun appel (définitivement).",
    )
    expiry_date = models.DateTimeField(
        "expire le",
        blank=True,
        null=True,
        help_text="Après cette date, la clé ne permet plus aucun appel. Vide : sans limite.",
    )
    organisation = models.CharField("organisation", max_length=200)
    scope = models.CharField(
        "périmètre",
        max_length=20,
        choices=Scope.choices,
        default=Scope.DEPARTEMENTS,
        help_text="« Certains départements » sans département choisi ne donne accès à rien.",
    )
    departements = models.ManyToManyField(
        Departement, blank=True, related_name="+", verbose_name="départements"
    )
    profile = models.CharField(
        "profil", max_length=20, choices=Profile.choices, default=Profile.ANONYME
    )
    rate_limit = models.PositiveIntegerField(
        "appels par minute au plus", default=600, help_text="Au-delà : réponse 429."
    )
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "clé d’API"
        verbose_name_plural = "clés d’API"

    def __str__(self) -> str:
        return f"{self.organisation} – {self.name}"


class APIKeyUsage(models.Model):
    """Calls made with one key on one day (flushed from the cache: mesads.api.keys)."""

    key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField("jour")
    calls = models.PositiveIntegerField("appels", default=0)

    class Meta:
        verbose_name = "appels du jour"
        verbose_name_plural = "appels par jour"
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["key", "day"], name="api_usage_one_row_per_key_day")
        ]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} : {self.calls} appel(s)"


class Change(models.Model):
    """One write to an ADS or its drivers, recorded by database triggers (migration
    api 0002) in the writing transaction, whatever wrote it: a form, an import's
    bulk_create/bulk_update, a queryset update, a deletion or a restoration.

    ``position`` is given after commit, in commit order, by ``mesads.api.changes.stamp``:
    the feed serves positions only, so a transaction that commits late is never skipped
    by a re-user's cursor (see that module).
    """

    class Kind(models.TextChoices):
        CREATION = "creation", "Création"
        MODIFICATION = "modification", "Modification"
        SUPPRESSION = "suppression", "Suppression"
        RESTAURATION = "restauration", "Restauration"

    # Plain ids, no foreign keys: a change outlives the row it names (hard deletes).
    ads_id = models.BigIntegerField()
    # The département of the ADS's authority at the time, for keys limited to some.
    departement_id = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    position = models.BigIntegerField(null=True, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "changement du registre (API)"
        verbose_name_plural = "changements du registre (API)"
        indexes = [
            # Rows still to stamp: a handful at any time, whatever the history's size.
            models.Index(
                fields=["id"], condition=Q(position__isnull=True), name="api_change_pending_idx"
            ),
            models.Index(
                fields=["departement_id", "position"], name="api_change_dept_position_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} de l’ADS {self.ads_id} (position {self.position})"


class RateLimit(models.Model):
    """A rate limit's state in the database, when Redis does not hold it (no REDIS_URL, or
    Redis unreachable): ``mesads.api.limits``. One row per limit (a key's calls, a client's
    failed authentications), written by one atomic statement per call."""

    name = models.CharField(max_length=100, primary_key=True)
    # GCRA's « theoretical arrival time », in Unix seconds: when the limit is fully free.
    tat = models.FloatField()
    # Whether the last call was let through (read back by the same statement).
    allowed = models.BooleanField(default=True)

    class Meta:
        verbose_name = "limite d’appels"
        verbose_name_plural = "limites d’appels"

    def __str__(self) -> str:
        return self.name
