"""How an ADS is handed on and ended: the decrees the authority signs, the register of
transfers of old-regime ADS.

Rules from the transport code, as amended by the law n° 2014-1104 of 1 October 2014:

- only an ADS issued before 1 October 2014 may be transferred: its holder presents a
  successor for a price (article L. 3121-2), after fifteen years of effective operation
  since it was issued to them, or five years once a first transfer has taken place;
- by exception (L. 3121-3), the holder may present a successor without waiting for
  that period in case of their definitive medical unfitness, or of a court-ordered
  recovery or liquidation; on the holder's death, the heirs may present one within a
  year;
- the authority keeps a register of these transactions with their amount (L. 3121-4).
"""

import datetime
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connection, models
from django.db.models import Count, Q
from django.utils import timezone

from mesads.ads import validators
from mesads.ads.models import ADS, add_years
from mesads.authorities.models import Authority
from mesads.core.validators import formulas_refused

# The holding period before a holder may present a successor for a price: fifteen years
# since the ADS was issued to them; five once it has changed hands by a transfer.
HOLDING_YEARS = 15
HOLDING_YEARS_AFTER_TRANSFER = 5


def decree_template_path(instance: "DecreeTemplate", filename: str) -> str:
    return f"modeles-arretes/{instance.kind}.docx"


class DecreeTemplate(models.Model):
    """A decree template uploaded by national staff, replacing the one the project ships
    (``mesads/lifecycle/docx/<kind>.docx``) for its kind."""

    class Kind(models.TextChoices):
        ATTRIBUTION = "attribution", "Arrêté d’attribution d’une ADS"
        RENEWAL = "renouvellement", "Arrêté de renouvellement d’une ADS"
        TRANSFER = "cession", "Arrêté de transfert (cession) d’une ADS"
        WITHDRAWAL = "retrait", "Arrêté de retrait d’une ADS"
        COUNT = "nombre", "Arrêté fixant le nombre d’ADS"

    kind = models.CharField("type d’arrêté", max_length=20, choices=Kind.choices, unique=True)
    file = models.FileField(
        "modèle (.docx)",
        upload_to=decree_template_path,
        max_length=300,
        help_text="Un document Word (.docx) dont les champs s’écrivent entre doubles "
        "accolades, comme dans le modèle fourni : {{ titulaire_nom }}.",
    )
    uploaded_at = models.DateTimeField("déposé le", auto_now=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="déposé par",
    )

    class Meta:
        verbose_name = "modèle d’arrêté"
        verbose_name_plural = "modèles d’arrêtés"
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


# --- transfers ----------------------------------------------------------------------------


def holding_end(ads: ADS, last_transfer: datetime.date | None) -> datetime.date | None:
    """The first day the holder may present a successor for a price, or None when the
    register does not know when the ADS was issued.

    ``last_transfer``: the date the current holder acquired the ADS by a transfer, if
    they did; otherwise the period runs from the ADS's issue to its current holder (its
    attribution date, or its creation date when it never changed hands)."""
    if last_transfer is not None:
        return add_years(last_transfer, HOLDING_YEARS_AFTER_TRANSFER)
    issued = ads.attribution_date or ads.creation_date
    return add_years(issued, HOLDING_YEARS) if issued else None


def _median(values: list[Decimal]) -> Decimal:
    return Decimal(statistics.median(values)).quantize(Decimal("1"))


class Median(models.Aggregate):
    """PostgreSQL's continuous median (the mean of the two middle values, as
    ``statistics.median``)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = models.FloatField()


class TransferQuerySet(models.QuerySet):
    def of_authority(self, authority: Authority) -> "TransferQuerySet":
        return self.filter(authority=authority)

    def of_departement(self, departement_id: int) -> "TransferQuerySet":
        return self.filter(authority__departement_id=departement_id)

    def register_order(self) -> "TransferQuerySet":
        """Newest first, as a register is read; the id makes the order total."""
        return self.order_by("-date", "-pk")

    def median_prices_by_departement(self) -> list[dict[str, Any]]:
        """Per département: number of transfers and median declared price (figures only).

        One query: PostgreSQL computes the median; SQLite, which has no median, sends the
        prices of each département sorted, and the median is taken here.
        """
        grouped = self.filter(authority__departement__isnull=False).order_by()
        if connection.vendor == "postgresql":
            rows = grouped.values(
                "authority__departement__code", "authority__departement__name"
            ).annotate(count=Count("pk"), median=Median("price"))
            result = [
                {
                    "code": row["authority__departement__code"],
                    "name": row["authority__departement__name"],
                    "count": row["count"],
                    "median": Decimal(str(row["median"])).quantize(Decimal("1")),
                }
                for row in rows
            ]
        else:
            prices: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
            for code, name, price in grouped.values_list(
                "authority__departement__code", "authority__departement__name", "price"
            ):
                prices[(code, name)].append(price)
            result = [
                {"code": code, "name": name, "count": len(values), "median": _median(values)}
                for (code, name), values in prices.items()
            ]
        return sorted(result, key=lambda row: row["code"])


class Transfer(models.Model):
    """One transfer of an old-regime ADS to a successor presented by its holder, with its
    declared price: a line of the authority's register of transactions (L. 3121-4)."""

    class HoldingException(models.TextChoices):
        """The cases in which article L. 3121-3 lets a successor be presented before the
        holding period of L. 3121-2 has run."""

        UNFITNESS = "inaptitude", "Inaptitude définitive du titulaire"
        INSOLVENCY = "redressement_liquidation", "Redressement ou liquidation judiciaire"
        DEATH = "deces", "Décès du titulaire (successeur présenté par les ayants droit)"

    ads = models.ForeignKey(ADS, on_delete=models.PROTECT, related_name="transfers")
    # The ADS's authority, kept on the row: the register is read per authority.
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="transfers", verbose_name="gestionnaire"
    )
    date = models.DateField("date de la cession")
    seller_name = models.CharField("cédant (titulaire sortant)", max_length=255)
    seller_siret = models.CharField("SIRET du cédant", max_length=14, blank=True)
    buyer_name = models.CharField(
        "cessionnaire (nouveau titulaire)",
        max_length=255,
        help_text="Nom et prénom, ou raison sociale du successeur présenté.",
    )
    buyer_siret = models.CharField("SIRET du cessionnaire", max_length=14, help_text="14 chiffres.")
    price = models.DecimalField(
        "prix déclaré (en euros)",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Le montant de la transaction, tel qu’il est déclaré.",
    )
    exception = models.CharField(
        "exception au délai de détention (article L. 3121-3)",
        max_length=30,
        choices=HoldingException.choices,
        blank=True,
        help_text="Le code des transports (article L. 3121-3) permet de présenter un "
        "successeur sans attendre la fin du délai de détention (15 ans, 5 après une "
        "cession) en cas d’inaptitude définitive du titulaire, de redressement ou de "
        "liquidation judiciaire, ou de décès du titulaire : ses ayants droit présentent "
        "alors le successeur, dans un délai d’un an à compter du décès. Laissez vide dans "
        "les autres cas.",
    )
    created_at = models.DateTimeField("enregistrée le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="enregistrée par",
    )

    objects = TransferQuerySet.as_manager()

    class Meta:
        verbose_name = "cession d’ADS"
        verbose_name_plural = "cessions d’ADS"
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(name="transfer_price_not_negative", condition=Q(price__gte=0)),
            models.CheckConstraint(
                name="transfer_buyer_siret_format",
                condition=Q(buyer_siret__regex=validators.SIRET_RE),
            ),
            models.CheckConstraint(
                name="transfer_exception_known",
                condition=Q(exception__in=["", "inaptitude", "redressement_liquidation", "deces"]),
            ),
        ]
        indexes = [
            models.Index(fields=["authority", "-date", "-id"], name="transfer_authority_date_idx"),
            models.Index(fields=["ads", "-date"], name="transfer_ads_date_idx"),
        ]

    def __str__(self) -> str:
        return f"Cession de l’ADS n° {self.ads.number} le {self.date:%d/%m/%Y}"

    def clean_fields(self, exclude: Any = None) -> None:
        self.buyer_name = (self.buyer_name or "").strip()
        self.buyer_siret = validators.normalize_siret(self.buyer_siret)
        # Published in the register's exports: no formula (core.validators).
        with formulas_refused(self, ("seller_name", "buyer_name"), exclude):
            super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        """The transport code's conditions, in French on the field they concern.

        ``self.acquired_by_transfer`` (set by the form): the holder says they acquired
        the ADS by a transfer made before the register kept them, at its attribution date.
        """
        super().clean()
        ads = self.ads
        if ads.is_new_regime is None:
            raise ValidationError(
                "La date de création de l’ADS n’est pas renseignée : le registre ne peut pas "
                "dire si elle est cessible. Complétez d’abord l’ADS."
            )
        if ads.is_new_regime:
            raise ValidationError(
                "Une ADS créée à partir du 1er octobre 2014 est incessible : elle ne peut "
                "pas être transférée à un successeur. Elle prend fin ou est renouvelée."
            )
        if not ads.holder_name:
            raise ValidationError(
                "L’ADS n’a pas de titulaire enregistré : seul son titulaire peut présenter "
                "un successeur. Complétez d’abord l’ADS."
            )
        errors: dict[str, list[str]] = {}
        if self.buyer_siret:
            try:
                validators.validate_siret(self.buyer_siret)
            except ValidationError as error:
                errors.setdefault("buyer_siret", []).extend(error.messages)
        if self.buyer_siret and self.buyer_siret == ads.holder_siret:
            errors.setdefault("buyer_siret", []).append(
                "Ce SIRET est celui du titulaire actuel : le successeur est une autre personne."
            )
        if self.date:
            if self.date > timezone.localdate():
                errors.setdefault("date", []).append("Cette date ne peut pas être dans le futur.")
        # L. 3121-3: unfitness, insolvency proceedings or death lift the holding period;
        # the other conditions (old regime, a holder, a successor) still apply.
        if self.date and not self.exception:
            last = self.last_transfer_date()
            end = holding_end(ads, last)
            if end is not None and self.date < end:
                since = last or ads.attribution_date or ads.creation_date
                years = HOLDING_YEARS_AFTER_TRANSFER if last else HOLDING_YEARS
                errors.setdefault("date", []).append(
                    f"La cession n’est possible qu’à partir du {end:%d/%m/%Y} : le titulaire "
                    f"doit avoir exploité l’ADS {years} ans depuis le {since:%d/%m/%Y}"
                    + (
                        ", date de la précédente cession."
                        if last
                        else (
                            ", date de sa délivrance. S’il l’a lui-même acquise par une "
                            "cession, cochez la case prévue : le délai est alors de "
                            f"{HOLDING_YEARS_AFTER_TRANSFER} ans."
                        )
                    )
                    + " Si le titulaire est définitivement inapte, en redressement ou en "
                    "liquidation judiciaire, ou décédé, choisissez l’exception prévue à "
                    "l’article L. 3121-3 : ce délai ne s’applique pas."
                )
        elif self.date:
            # Without a holding period, the date still follows the current holder's own.
            since = self.last_transfer_date() or ads.attribution_date or ads.creation_date
            if since and self.date < since:
                errors.setdefault("date", []).append(
                    f"La cession ne peut pas précéder le {since:%d/%m/%Y}, date à laquelle le "
                    "titulaire actuel a reçu l’ADS."
                )
        if errors:
            raise ValidationError(errors)

    @property
    def exception_phrase(self) -> str:
        """The L. 3121-3 case inside a sentence (« inaptitude définitive du titulaire »),
        or nothing."""
        label = self.get_exception_display() if self.exception else ""
        return label[:1].lower() + label[1:]

    def last_transfer_date(self) -> datetime.date | None:
        """When the current holder acquired the ADS by a transfer, if they did."""
        recorded = (
            Transfer.objects.filter(ads=self.ads_id)
            .exclude(pk=self.pk)
            .order_by("-date")
            .values_list("date", flat=True)
            .first()
        )
        if recorded is not None:
            return recorded
        if getattr(self, "acquired_by_transfer", False):
            return self.ads.attribution_date
        return None


__all__ = [
    "HOLDING_YEARS",
    "HOLDING_YEARS_AFTER_TRANSFER",
    "DecreeTemplate",
    "Transfer",
    "holding_end",
]
