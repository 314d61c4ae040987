"""Campaigns: which authorities are targeted, who receives the e-mail, and its sending.

An authority is reached through its managers (accepted ``AuthorityAccess``, not an agent
acting as manager); one with no active manager, through the agents of its prefecture.
A person is sent a campaign once, whatever the number of authorities they are reached
for (the unique (campaign, email) key); one who switched reminders off is recorded as
such and sent nothing.
"""

import datetime
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Now
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from mesads.ads.models import ADS, RegisterChange, attestation_due_q, renewal_overdue_q
from mesads.authorities.models import Authority
from mesads.core.workers import PRIORITY_CAMPAIGN, backoff, retry_when_interrupted
from mesads.users.models import User

from .models import Campaign, CampaignRecipient, CampaignTarget, fill_placeholders, reminders_on_q
from .recipients import manager_accesses, prefecture_agents

logger = logging.getLogger(__name__)

DEFAULT_SUBJECT = "Votre registre des ADS sur Mes ADS – {gestionnaire}"
DEFAULT_BODIES = {
    Campaign.Target.NEVER_DECLARED: (
        "Bonjour,\n\n"
        "Le registre national des autorisations de stationnement de taxi (ADS) n’a encore "
        "reçu aucune déclaration pour {gestionnaire} ({departement}).\n\n"
        "Déclarez vos ADS, ou indiquez que vous n’en avez aucune ou que leur gestion est "
        "confiée à un EPCI, sur Mes ADS :\n{lien}\n\n"
        "Merci de votre concours."
    ),
    Campaign.Target.INCOMPLETE: (
        "Bonjour,\n\n"
        "Des ADS de votre registre ({gestionnaire}, {departement}) sont incomplètes : "
        "des informations exigées par la loi y manquent (titulaire, véhicule, conducteurs…)."
        "\n\n"
        "Complétez-les sur Mes ADS :\n{lien}\n\n"
        "Merci de votre concours."
    ),
    Campaign.Target.ATTESTATION_DUE: (
        "Bonjour,\n\n"
        "Des ADS de votre registre ({gestionnaire}, {departement}) n’ont pas été attestées "
        "depuis plus de 12 mois. Vérifiez-les, puis attestez leur exactitude sur Mes ADS :"
        "\n{lien}\n\n"
        "Merci de votre concours."
    ),
    Campaign.Target.RENEWAL_OVERDUE: (
        "Bonjour,\n\n"
        "Le renouvellement de certaines ADS de votre registre ({gestionnaire}, {departement}) est "
        "dépassé : une ADS délivrée depuis le 1er octobre 2014 est valable 5 ans.\n\n"
        "Enregistrez leur renouvellement (ou leur retrait) sur Mes ADS :\n{lien}\n\n"
        "Merci de votre concours."
    ),
}


def targeted_authorities(
    target: str, departement_id: int | None = None, today: datetime.date | None = None
) -> QuerySet[Authority]:
    """The authorities in the state a campaign targets, now."""
    today = today or timezone.localdate()
    authorities = Authority.objects.all()
    if departement_id is not None:
        authorities = authorities.filter(departement_id=departement_id)
    if target == Campaign.Target.NEVER_DECLARED:
        return authorities.declared(Authority.Declaration.NOTHING)
    live = ADS.objects.live().filter(authority=OuterRef("pk"))
    condition = {
        Campaign.Target.INCOMPLETE: Q(is_complete=False),
        Campaign.Target.ATTESTATION_DUE: attestation_due_q(timezone.now()),
        Campaign.Target.RENEWAL_OVERDUE: renewal_overdue_q(today),
    }[target]
    return authorities.filter(Exists(live.filter(condition)))


def campaign_authorities(campaign: Campaign) -> QuerySet[Authority]:
    """Frozen once confirmed (its targets); until then, the authorities in its state."""
    if campaign.sent_at is not None:
        return Authority.objects.filter(
            pk__in=CampaignTarget.objects.filter(campaign=campaign).values("authority_id")
        )
    return targeted_authorities(campaign.target, campaign.departement_id)


def _without_manager(authorities: QuerySet[Authority]) -> QuerySet[Authority]:
    return authorities.filter(~Exists(manager_accesses().filter(authority=OuterRef("pk"))))


@dataclass
class Audience:
    authorities: int
    recipients: int  # who will be sent it
    opted_out: int
    via_prefecture: int  # authorities with no manager, reached through their prefecture


def audience(campaign: Campaign) -> Audience:
    """The counts shown before confirming: a few aggregate queries, whatever the size."""
    authorities = campaign_authorities(campaign)
    orphans = _without_manager(authorities)
    reached = User.objects.filter(is_active=True).filter(
        Exists(manager_accesses().filter(user=OuterRef("pk"), authority__in=authorities))
        | Exists(
            prefecture_agents().filter(
                user=OuterRef("pk"), departement_id__in=orphans.values("departement")
            )
        )
    )
    counts = reached.aggregate(
        recipients=Count("pk", filter=reminders_on_q()),
        opted_out=Count("pk", filter=Q(reminder_preferences__reminders=False)),
    )
    return Audience(
        authorities=authorities.count(),
        recipients=counts["recipients"],
        opted_out=counts["opted_out"],
        via_prefecture=orphans.count(),
    )


def site_values(authority: Authority, site_url: str) -> dict[str, str]:
    departement = authority.departement
    return {
        "gestionnaire": authority.name,
        "lien": site_url + reverse("ads:authority", args=[authority.pk]),
        "departement": str(departement) if departement else "",
    }


def render_mail(
    campaign: Campaign,
    authority: Authority,
    site_url: str,
    *,
    via_prefecture: bool = False,
    authorities_count: int = 1,
) -> tuple[str, str]:
    """The subject and body one recipient gets (also the preview)."""
    values = site_values(authority, site_url)
    # One line whatever the placeholders' values hold (an authority's name).
    subject = " ".join(fill_placeholders(campaign.subject, values).split())
    body = render_to_string(
        "reminders/emails/campaign.txt",
        {
            "body": fill_placeholders(campaign.body, values),
            "authority": authority,
            "via_prefecture": via_prefecture,
            "others": authorities_count - 1,
            "profile_url": site_url + reverse("profile"),
        },
    )
    return f"[Mes ADS] {subject}", body


# --- sending --------------------------------------------------------------------------


def confirm(campaign: Campaign, user, *, site_url: str) -> None:
    """Confirm the campaign and queue its sending, once the transaction commits. Confirmed
    again, it sends only to whom it has not reached yet (a manager who joined since, a
    failed mail)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.sent_at is None:
            campaign.sent_at = timezone.now()
            campaign.sent_by = user
        campaign.status = Campaign.Status.SENDING
        campaign.save(update_fields=["sent_at", "sent_by", "status"])
        CampaignRecipient.objects.filter(
            campaign=campaign, status=CampaignRecipient.Status.FAILED
        ).update(status=CampaignRecipient.Status.PENDING, attempts=0, next_attempt_at=None)
        transaction.on_commit(lambda: _enqueue(campaign.pk, site_url))


def _enqueue(campaign_id: int, site_url: str, **options) -> None:
    try:
        _next_batch(campaign_id, site_url, **options)
    except Exception:
        # With the immediate backend the campaign is sent here: a failure is logged and
        # shown on the campaign's page (mails left « à envoyer » or « échec »).
        logger.exception("Could not send or queue campaign %s", campaign_id)


def _next_batch(
    campaign_id: int, site_url: str, *, first: bool = True, pauses: int = 0, run_after=None
) -> None:
    task = send_campaign.using(run_after=run_after) if run_after else send_campaign
    task.enqueue(campaign_id, site_url, first=first, pauses=pauses)


def _in_flight_failed(campaign_id: int, site_url: str, **kwargs) -> None:
    """The worker died while it sent: the mail in flight may have left. Marked failed
    rather than sent again (confirming the campaign again tries it once more)."""
    stuck = CampaignRecipient.objects.filter(
        campaign_id=campaign_id, status=CampaignRecipient.Status.SENDING
    ).update(status=CampaignRecipient.Status.FAILED)
    if stuck:
        logger.warning("Campaign %s: %d mail(s) in flight when its worker died", campaign_id, stuck)


# A batch is safe to run again: each recipient is claimed before its mail leaves.
@retry_when_interrupted(on_interrupted=_in_flight_failed)
@task(queue_name="emails", priority=PRIORITY_CAMPAIGN)
def send_campaign(campaign_id: int, site_url: str, first: bool = True, pauses: int = 0) -> str:
    """Send one batch of the campaign (``CAMPAIGN_BATCH_SIZE`` mails), then queue the next:
    the e-mail queue is never held long, and a password reset (higher priority) passes
    between two batches. A restart resumes where it stopped, sending nobody twice.

    A failed mail is tried again later (``EMAIL_MAX_ATTEMPTS``, growing delays); after
    ``CAMPAIGN_PAUSE_AFTER_FAILURES`` failures in a row (the server is down) the campaign
    pauses, longer each time, instead of failing every remaining mail."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if first:
        prepare_recipients(campaign)
    deferred = send_campaign.get_backend().supports_defer
    pending = CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.PENDING
    )
    while True:
        now = timezone.now()
        batch = (
            pending.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .select_related("authority__departement")
            .order_by("attempts", "pk")[: settings.CAMPAIGN_BATCH_SIZE]
        )
        in_a_row = 0
        for recipient in batch:
            sent = _send_one(campaign, recipient, site_url, retry=deferred)
            if sent is None:
                continue  # another run took it
            in_a_row = 0 if sent else in_a_row + 1
            if deferred and in_a_row >= settings.CAMPAIGN_PAUSE_AFTER_FAILURES:
                delay = backoff(
                    pauses + 1, settings.EMAIL_RETRY_DELAY, settings.EMAIL_RETRY_MAX_DELAY
                )
                logger.warning(
                    "Campaign %s: %d failed mails in a row, paused for %.0f s",
                    campaign.pk,
                    in_a_row,
                    delay,
                )
                _next_batch(
                    campaign.pk,
                    site_url,
                    first=False,
                    pauses=pauses + 1,
                    run_after=timezone.now() + timedelta(seconds=delay),
                )
                return "paused"
        if deferred or not pending.exists():
            break
        # The immediate backend (no worker): the whole campaign in this call.
    left = pending.aggregate(next=Min(Coalesce("next_attempt_at", Now())), count=Count("pk"))
    if left["count"]:
        later = left["next"] if left["next"] and left["next"] > timezone.now() else None
        _next_batch(campaign.pk, site_url, first=False, run_after=later)
        return "next batch queued"
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)
    return "sent"


def prepare_recipients(campaign: Campaign) -> int:
    """Freeze the targets (first time) and add who is not yet a recipient; returns how
    many rows were added. Idempotent: an address already recorded is left as it is."""
    if not CampaignTarget.objects.filter(campaign=campaign).exists():
        ids = targeted_authorities(campaign.target, campaign.departement_id).values_list(
            "pk", flat=True
        )
        CampaignTarget.objects.bulk_create(
            (CampaignTarget(campaign=campaign, authority_id=pk) for pk in ids.iterator()),
            batch_size=1000,
            ignore_conflicts=True,
        )
    authorities = campaign_authorities(campaign)
    plans: dict[str, CampaignRecipient] = {}

    def add(authority_id: int, user_id: int, email: str, opted_out: bool, via: bool) -> None:
        plan = plans.get(email)
        if plan is not None:
            plan.authorities_count += 1
            return
        plans[email] = CampaignRecipient(
            campaign=campaign,
            authority_id=authority_id,
            user_id=user_id,
            email=email,
            via_prefecture=via,
            status=CampaignRecipient.Status.OPTED_OUT
            if opted_out
            else CampaignRecipient.Status.PENDING,
        )

    managers = (
        manager_accesses()
        .filter(authority__in=authorities)
        .annotate(opted_out=Q(user__reminder_preferences__reminders=False))
        .order_by("authority__name", "authority_id", "user_id")
        .values_list("authority_id", "user_id", "user__email", "opted_out")
    )
    for authority_id, user_id, email, opted_out in managers.iterator():
        add(authority_id, user_id, email, bool(opted_out), False)

    orphans = list(
        _without_manager(authorities).order_by("name", "pk").values_list("pk", "departement_id")
    )
    agents_by_departement: dict[int, list[tuple[int, str, bool]]] = {}
    agents = (
        prefecture_agents()
        .filter(departement_id__in={d for _, d in orphans if d is not None})
        .annotate(opted_out=Q(user__reminder_preferences__reminders=False))
        .order_by("user__email")
        .values_list("departement_id", "user_id", "user__email", "opted_out")
    )
    for departement_id, user_id, email, opted_out in agents:
        agents_by_departement.setdefault(departement_id, []).append(
            (user_id, email, bool(opted_out))
        )
    for authority_id, departement_id in orphans:
        for user_id, email, opted_out in agents_by_departement.get(departement_id, []):
            add(authority_id, user_id, email, opted_out, True)

    created = CampaignRecipient.objects.bulk_create(
        plans.values(), batch_size=1000, ignore_conflicts=True
    )
    return len(created)


def _send_one(
    campaign: Campaign, recipient: CampaignRecipient, site_url: str, *, retry: bool
) -> bool | None:
    """Send to one recipient; True when sent, False when it failed, None when another
    run had claimed it."""
    # Claimed first: two runs at once (a double confirmation) cannot both send it.
    claimed = CampaignRecipient.objects.filter(
        pk=recipient.pk, status=CampaignRecipient.Status.PENDING
    ).update(status=CampaignRecipient.Status.SENDING)
    if not claimed:
        return None
    subject, body = render_mail(
        campaign,
        recipient.authority,
        site_url,
        via_prefecture=recipient.via_prefecture,
        authorities_count=recipient.authorities_count,
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email])
    except Exception:
        attempts = recipient.attempts + 1
        logger.exception(
            "Campaign %s: e-mail to %s failed (attempt %d)", campaign.pk, recipient.email, attempts
        )
        if retry and attempts < settings.EMAIL_MAX_ATTEMPTS:
            delay = backoff(attempts, settings.EMAIL_RETRY_DELAY, settings.EMAIL_RETRY_MAX_DELAY)
            status, next_attempt_at = (
                CampaignRecipient.Status.PENDING,
                timezone.now() + timedelta(seconds=delay),
            )
        else:
            status, next_attempt_at = CampaignRecipient.Status.FAILED, None
        CampaignRecipient.objects.filter(pk=recipient.pk).update(
            status=status, attempts=attempts, next_attempt_at=next_attempt_at, subject=subject[:300]
        )
        return False
    CampaignRecipient.objects.filter(pk=recipient.pk).update(
        status=CampaignRecipient.Status.SENT,
        sent_at=timezone.now(),
        next_attempt_at=None,
        subject=subject[:300],
    )
    return True


# --- results --------------------------------------------------------------------------


@dataclass
class Results:
    authorities: int
    declared_since: int  # changed their register, or declared none or a delegation
    by_status: dict[str, int]


def results(campaign: Campaign) -> Results | None:
    if campaign.sent_at is None:
        return None
    since = campaign.sent_at
    targets = Authority.objects.filter(
        pk__in=CampaignTarget.objects.filter(campaign=campaign).values("authority_id")
    )
    acted = Exists(
        RegisterChange.objects.filter(authority=OuterRef("pk"), created_at__gte=since)
    ) | Exists(ADS.objects.filter(authority=OuterRef("pk"), created_at__gte=since))
    if campaign.target == Campaign.Target.NEVER_DECLARED:
        # These authorities had declared nothing when it was sent: « aucune ADS » or a
        # delegation is news. Any other target holds ADS, and may have delegated long
        # before (a commune that delegates but keeps ADS of its own): only what they did
        # since counts.
        acted |= Q(declares_no_ads=True) | Q(delegated_to__isnull=False)
    declared = targets.filter(acted)
    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return Results(
        authorities=targets.count(),
        declared_since=declared.count(),
        by_status={
            label: counts.get(value, 0) for value, label in CampaignRecipient.Status.choices
        },
    )
