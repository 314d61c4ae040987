"""Reminders: campaigns sent to authorities that are behind, renewal reminders to
managers, the prefectures' weekly digest, and who agreed to receive them.

Each thing sent is recorded here before it leaves (through the task queue), so that a
second run, a double click or the next day's job sends nothing twice.
"""

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from mesads.core.validators import SINGLE_LINE_MESSAGE, validate_single_line

# The placeholders a campaign's subject and body may use, and what they become.
PLACEHOLDERS = {
    "gestionnaire": "le nom du gestionnaire d’ADS (commune, EPCI…)",
    "lien": "le lien vers son registre sur Mes ADS",
    "departement": "son département",
}
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def unknown_placeholders(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER_RE.findall(text) if name not in PLACEHOLDERS})


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace ``{gestionnaire}``… by their value; anything else is left as written."""
    return _PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class ReminderPreferences(models.Model):
    """What a person agreed to receive from this app. No row: everything (the defaults)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reminder_preferences",
        verbose_name="utilisateur",
    )
    # Also covers the campaigns: a person who switched reminders off gets none of them.
    reminders = models.BooleanField("rappels de renouvellement et relances", default=True)
    weekly_digest = models.BooleanField("récapitulatif hebdomadaire de la préfecture", default=True)

    class Meta:
        verbose_name = "préférence de rappels"
        verbose_name_plural = "préférences de rappels"

    def __str__(self) -> str:
        return f"Préférences de {self.user}"


def reminders_on_q(prefix: str = "") -> Q:
    """Users (through ``prefix``) who have not switched reminders off."""
    return Q(**{f"{prefix}reminder_preferences__isnull": True}) | Q(
        **{f"{prefix}reminder_preferences__reminders": True}
    )


def weekly_digest_on_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}reminder_preferences__isnull": True}) | Q(
        **{f"{prefix}reminder_preferences__weekly_digest": True}
    )


# ---------------------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------------------


class Campaign(models.Model):
    """One e-mail sent to the authorities in one state, by national staff (anywhere) or
    by a prefecture (its own département)."""

    class Target(models.TextChoices):
        NEVER_DECLARED = "jamais", "N’ont encore rien déclaré"
        INCOMPLETE = "incompletes", "Ont des ADS à compléter"
        ATTESTATION_DUE = "attestation", "Ont des ADS non attestées depuis plus de 12 mois"
        RENEWAL_OVERDUE = "renouvellement", "Ont des ADS au renouvellement dépassé"

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        SENDING = "sending", "Envoi en cours"
        SENT = "sent", "Envoyée"

    target = models.CharField("gestionnaires visés", max_length=20, choices=Target.choices)
    departement = models.ForeignKey(
        "geo.Departement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="département",
        help_text="Laissez vide pour tous les départements.",
    )
    subject = models.CharField("objet du courriel", max_length=200)
    body = models.TextField("texte du courriel")
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name="créée par",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    # When it was confirmed first: "declared since" counts from here.
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="envoyée par",
    )

    class Meta:
        verbose_name = "campagne de relance"
        verbose_name_plural = "campagnes de relance"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["departement", "-created_at"], name="campaign_dept_idx")]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        super().clean()
        errors = {}
        for field in ("subject", "body"):
            unknown = unknown_placeholders(getattr(self, field) or "")
            if unknown:
                allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
                errors[field] = (
                    f"Repère inconnu : {', '.join('{' + n + '}' for n in unknown)}. "
                    f"Repères possibles : {allowed}."
                )
        # The subject becomes the mails' Subject header: a line break would add headers
        # (« Relance\r\nBcc: … »), and every sending would fail on it.
        try:
            validate_single_line(self.subject or "")
        except ValidationError:
            errors["subject"] = SINGLE_LINE_MESSAGE
        if errors:
            raise ValidationError(errors)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class CampaignTarget(models.Model):
    """An authority a campaign was sent to, frozen when it was confirmed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    authority = models.ForeignKey(
        "authorities.Authority",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="gestionnaire",
    )

    class Meta:
        verbose_name = "gestionnaire visé"
        verbose_name_plural = "gestionnaires visés"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "authority"], name="campaign_target_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.authority_id}"


class CampaignRecipient(models.Model):
    """Who was sent what and when. One row per address and campaign: however many of the
    targeted authorities a person manages, they get the campaign once."""

    class Status(models.TextChoices):
        PENDING = "pending", "À envoyer"
        SENDING = "sending", "Envoi en cours"
        SENT = "sent", "Envoyé"
        FAILED = "failed", "Échec de l’envoi"
        OPTED_OUT = "opted_out", "Désinscrit des relances"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    # The first targeted authority (by name) the person was reached for.
    authority = models.ForeignKey(
        "authorities.Authority",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="gestionnaire",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name="utilisateur",
    )
    email = models.EmailField("adresse électronique")
    # Reached as an agent of the prefecture, because the authority has no manager.
    via_prefecture = models.BooleanField("agent de préfecture (aucun gestionnaire)", default=False)
    # How many of the campaign's authorities this person was reached for.
    authorities_count = models.PositiveIntegerField(default=1)
    status = models.CharField(
        "statut", max_length=10, choices=Status.choices, default=Status.PENDING
    )
    subject = models.CharField("objet envoyé", max_length=300, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)
    # Failed sends so far; a pending one that failed waits until next_attempt_at.
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    next_attempt_at = models.DateTimeField("prochaine tentative", null=True, blank=True)

    class Meta:
        verbose_name = "destinataire"
        verbose_name_plural = "destinataires"
        ordering = ["campaign", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "email"], name="campaign_recipient_email_unique"
            )
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="campaign_recipient_st_idx")]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


# ---------------------------------------------------------------------------------------
# Renewals and vacancies
# ---------------------------------------------------------------------------------------


class RenewalNotice(models.Model):
    """A renewal reminder sent for one ADS at one threshold of one due date: the unique
    key makes the daily job send it once; a renewal moves the due date, and with it the
    reminders start again."""

    class Threshold(models.TextChoices):
        SOON = "90j", "Renouvellement dans moins de 90 jours"
        OVERDUE = "depasse", "Renouvellement dépassé"

    ads = models.ForeignKey("ads.ADS", on_delete=models.CASCADE, related_name="+")
    threshold = models.CharField("seuil", max_length=10, choices=Threshold.choices)
    due_date = models.DateField("échéance")
    sent_on = models.DateField("envoyé le")
    recipients_count = models.PositiveIntegerField("destinataires", default=0)

    class Meta:
        verbose_name = "rappel de renouvellement"
        verbose_name_plural = "rappels de renouvellement"
        constraints = [
            models.UniqueConstraint(
                fields=["ads", "threshold", "due_date"], name="renewal_notice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ads_id} {self.get_threshold_display()} ({self.due_date:%d/%m/%Y})"


class Vacancy(models.Model):
    """Since when an ADS is vacant (``in_use`` false), kept by the daily job: the law gives
    three months to re-attribute or withdraw it. Worked out from the ADS's history when
    first seen vacant; removed when it is in use again."""

    ads = models.OneToOneField("ads.ADS", on_delete=models.CASCADE, related_name="vacancy")
    since = models.DateField("vacante depuis")

    class Meta:
        verbose_name = "vacance d’ADS"
        verbose_name_plural = "vacances d’ADS"
        indexes = [models.Index(fields=["since"], name="vacancy_since_idx")]

    def __str__(self) -> str:
        return f"{self.ads_id} vacante depuis le {self.since:%d/%m/%Y}"


class PrefectureDigest(models.Model):
    """The weekly digest sent to one agent for one département, once per ISO week."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    departement = models.ForeignKey("geo.Departement", on_delete=models.CASCADE, related_name="+")
    week = models.CharField("semaine ISO", max_length=8)  # "2026-W49"
    sent_on = models.DateField("envoyé le")

    class Meta:
        verbose_name = "récapitulatif hebdomadaire"
        verbose_name_plural = "récapitulatifs hebdomadaires"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "departement", "week"], name="prefecture_digest_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.departement_id} {self.week}"


def iso_week(day: datetime.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
