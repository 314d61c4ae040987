"""The issuing authorities ("gestionnaires d'ADS"): who keeps a register, a commune, an
EPCI, a prefecture or an airport, and to whom it delegates.

Below the accounts and the register in the house (``pyproject.toml``'s import contract):
the questions about authorities that those layers answer (the user's scope, the counts of
the register's ADS) are handed over by them as their apps load (``answer_from_above``).
"""

import datetime
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from mesads.core.text import search_key
from mesads.geo.models import EPCI, Airport, Commune, Departement

# What the layers above answer about authorities, by name:
# - "scope_for": user → the user's scope (``mesads.users.scope``, the accounts app);
# - "declared", "by_ads_count", "with_ads_counts": the register's counts of each
#   authority's ADS (``mesads.ads.models.counts``).
_ABOVE: dict[str, Callable[..., Any]] = {}


def answer_from_above(**answers: Callable[..., Any]) -> None:
    """Called by the accounts app and the register as they load (see ``_ABOVE``)."""
    _ABOVE.update(answers)


# An INSEE code (2A004), a SIREN (200054781) or a département code (2B, 971).
_CODE_LIKE = re.compile(r"^[0-9][0-9ABab][0-9]{0,7}$")


def _restrict(queryset: models.QuerySet, condition: Q | None) -> models.QuerySet:
    """``condition`` from the user's scope: None matches nothing, an empty Q everything."""
    if condition is None:
        return queryset.none()
    return queryset.filter(condition) if condition else queryset


class AuthorityQuerySet(models.QuerySet):
    # Bulk writes skip Authority.save(), which derives the search name: they derive it
    # here, or the ~36,000 authorities load_geography creates are found by no name.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for authority in objs:
            authority.search_name = search_key(authority.name)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "name" in fields:
            for authority in objs:
                authority.search_name = search_key(authority.name)
            fields = [*{*fields, "search_name"}]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def search(self, text: str) -> "AuthorityQuerySet":
        """Name (ignoring accents and case), INSEE code, SIREN or département code."""
        text = text.strip()
        if not text:
            return self
        # LIKE '%…%' on the normalised name: a pg_trgm index serves it on PostgreSQL
        # (migration 0006). The codes join other tables: asked only for what looks like
        # a code, so that a name search reads the index alone.
        condition = Q(search_name__contains=search_key(text))
        if _CODE_LIKE.match(text):
            condition |= (
                Q(commune__insee_code=text.upper())
                | Q(epci__siren=text)
                | Q(departement__code=text.upper())
            )
        return self.filter(condition)

    def readable_by(self, user) -> "AuthorityQuerySet":
        """The authorities whose register the user may read.

        Managers: the authorities they were granted, and those that delegated to them.
        Prefecture agents and inspectors: every authority of their départements.
        The rules live in ``mesads.users.scope``.
        """
        return _restrict(self, _ABOVE["scope_for"](user).readable_q())

    def writable_by(self, user) -> "AuthorityQuerySet":
        """The authorities whose register the user may change (locks aside)."""
        return _restrict(self, _ABOVE["scope_for"](user).writable_q())

    def supervised_by(self, user) -> "AuthorityQuerySet":
        """The authorities of the départements whose prefecture staff the user belongs to."""
        return _restrict(self, _ABOVE["scope_for"](user).supervised_q())

    # The historical name: what a user may see.
    for_user = readable_by

    def declared(self, state: str) -> "AuthorityQuerySet":
        """The authorities in one ``Authority.Declaration`` state (an index look-up each,
        not a count): the register's answer."""
        return _ABOVE["declared"](self, state)

    def by_ads_count(self) -> "AuthorityQuerySet":
        """Most ADS first (then by name): the register's answer."""
        return _ABOVE["by_ads_count"](self)

    # The annotations of with_ads_counts().
    COUNTS = ("ads_total", "ads_in_use", "ads_vacant", "ads_incomplete", "ads_renewal_overdue")

    def with_ads_counts(self, today: datetime.date | None = None) -> "AuthorityQuerySet":
        """Each authority with the counts of its live ADS (``COUNTS``): the register's
        answer."""
        return _ABOVE["with_ads_counts"](self, today)


class Authority(models.Model):
    """An issuing authority ("gestionnaire d'ADS"): a commune, an EPCI, a prefecture or
    an airport. One is pre-created for every territory (see ``ensure_authorities``)."""

    class Type(models.TextChoices):
        COMMUNE = "commune", "Commune"
        EPCI = "epci", "EPCI"
        PREFECTURE = "prefecture", "Préfecture"
        AIRPORT = "airport", "Aéroport"

    class Declaration(models.TextChoices):
        """Where an authority stands in its declaration to the register (filters)."""

        HAS_ADS = "ads", "Ont déclaré des ADS"
        NO_ADS = "aucune", "Ont déclaré n’avoir aucune ADS"
        DELEGATES = "delegue", "Délèguent à un EPCI"
        NOTHING = "jamais", "N’ont encore rien déclaré"

    type = models.CharField("type", max_length=20, choices=Type.choices)
    name = models.CharField("nom", max_length=200)
    # The name without accents or case (mesads.core.text.search_key), for searches.
    search_name = models.CharField(max_length=200, blank=True, editable=False)
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        related_name="authorities",
        verbose_name="département",
        null=True,
        blank=True,
    )
    commune = models.OneToOneField(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    epci = models.OneToOneField(
        EPCI, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    prefecture = models.OneToOneField(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prefecture_authority",
        verbose_name="préfecture du département",
    )
    airport = models.OneToOneField(
        Airport, on_delete=models.PROTECT, null=True, blank=True, related_name="authority"
    )
    declares_no_ads = models.BooleanField(
        "déclare n’avoir aucune ADS sur son territoire", default=False
    )
    delegated_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delegating_authorities",
        verbose_name="gestion déléguée à l’EPCI",
        limit_choices_to={"type": "epci"},
    )
    is_locked = models.BooleanField(
        "verrouillé",
        default=False,
        help_text="Le registre de ce gestionnaire est alimenté par un fichier national : "
        "il ne se modifie pas dans l’interface.",
    )
    lock_reason = models.CharField("motif du verrouillage", max_length=300, blank=True)
    expected_ads_count = models.PositiveIntegerField(
        "nombre d’ADS attendu",
        null=True,
        blank=True,
        help_text="Renseigné par la préfecture, d’après l’arrêté fixant le nombre d’ADS.",
    )

    objects = AuthorityQuerySet.as_manager()

    class Meta:
        # The table of the app that first held it (mesads.ads): moved without a copy.
        db_table = "ads_authority"
        verbose_name = "gestionnaire d’ADS"
        verbose_name_plural = "gestionnaires d’ADS"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="authority_reference_matches_type",
                condition=(
                    Q(
                        type="commune",
                        commune__isnull=False,
                        epci__isnull=True,
                        prefecture__isnull=True,
                        airport__isnull=True,
                    )
                    | Q(
                        type="epci",
                        commune__isnull=True,
                        epci__isnull=False,
                        prefecture__isnull=True,
                        airport__isnull=True,
                    )
                    | Q(
                        type="prefecture",
                        commune__isnull=True,
                        epci__isnull=True,
                        prefecture__isnull=False,
                        airport__isnull=True,
                    )
                    | Q(
                        type="airport",
                        commune__isnull=True,
                        epci__isnull=True,
                        prefecture__isnull=True,
                        airport__isnull=False,
                    )
                ),
            ),
            models.CheckConstraint(
                name="authority_no_ads_or_delegated",
                condition=Q(declares_no_ads=False) | Q(delegated_to__isnull=True),
            ),
        ]
        indexes = [models.Index(fields=["departement", "type"], name="authority_dept_type_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = search_key(self.name)
        super().save(*args, **kwargs)

    @property
    def code(self) -> str:
        """The official code shown beside the name: INSEE code, SIREN or OACI code."""
        if self.commune_id:
            return self.commune.insee_code
        if self.epci_id:
            return self.epci.siren
        if self.prefecture_id:
            return self.prefecture.code
        if self.airport_id:
            return self.airport.code
        return ""

    def clean(self) -> None:
        super().clean()
        if self.declares_no_ads and self.delegated_to_id:
            # On a field, not the whole form: a field in error is not checked again by
            # the constraint, whose raw name would otherwise show beside this message.
            raise ValidationError(
                {
                    "declares_no_ads": "Choisissez : soit aucune ADS sur le territoire, "
                    "soit une gestion déléguée."
                }
            )
        if self.delegated_to_id and self.delegated_to.type != Authority.Type.EPCI:
            raise ValidationError(
                {"delegated_to": "La gestion ne peut être déléguée qu’à un EPCI."}
            )
        if self.declares_no_ads and self.pk and self.ads.filter(deleted_at__isnull=True).exists():
            raise ValidationError(
                {
                    "declares_no_ads": "Impossible de déclarer n’avoir aucune ADS : "
                    "des ADS sont enregistrées pour ce gestionnaire."
                }
            )
