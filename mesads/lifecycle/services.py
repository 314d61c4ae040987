"""Writes of the ADS's life: a transfer, a renewal. Each is one transaction and one
revision of the ADS, made on its locked row (``ADS.objects.locked``), as certification
does: of two concurrent changes, the second starts from the first's result, and a form
opened before either is told of it (its version was bumped)."""

import datetime

import reversion
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mesads.ads.models import ADS
from mesads.ads.services import record_revision

from .models import Transfer

TRANSFER_COMMENT = "Cession de l’ADS à {buyer}"
EXCEPTION_COMMENT = " – sans délai de détention, article L. 3121-3 : {exception}"
RENEWAL_COMMENT = "Renouvellement de l’ADS pour cinq ans"


@transaction.atomic
def record_transfer(transfer: Transfer, user) -> Transfer:
    """Record a validated transfer: a line of the register, and the ADS's new holder and
    attribution date, in one revision of the ADS.

    The rules are checked again on the locked row (the holder, or a transfer recorded
    meanwhile, may have changed them): a ValidationError then writes nothing.
    """
    ads = ADS.objects.locked(transfer.ads_id)
    acquired_by_transfer = getattr(transfer, "acquired_by_transfer", False)
    transfer.ads, transfer.authority = ads, ads.authority
    transfer.acquired_by_transfer = acquired_by_transfer
    transfer.seller_name, transfer.seller_siret = ads.holder_name, ads.holder_siret
    transfer.created_by = user
    transfer.full_clean()
    with reversion.create_revision():
        transfer.save()
        ads.holder_name, ads.holder_siret = transfer.buyer_name, transfer.buyer_siret
        # The seller's contact details are not the buyer's.
        ads.holder_phone, ads.holder_email = "", ""
        ads.attribution_date = transfer.date
        ads.substantive_change_at = timezone.now()
        ads.refresh_derived()
        record_revision(
            ads,
            user,
            transfer_comment(transfer),
            [
                "holder_name",
                "holder_siret",
                "holder_phone",
                "holder_email",
                "attribution_date",
                "substantive_change_at",
                "is_complete",
            ],
        )
    return transfer


def transfer_comment(transfer: Transfer) -> str:
    """What the ADS's history says of the transfer, and of its exception if any."""
    comment = TRANSFER_COMMENT.format(buyer=transfer.buyer_name)
    if transfer.exception:
        comment += EXCEPTION_COMMENT.format(exception=transfer.exception_phrase)
    return comment


def renewal_errors(ads: ADS, day: datetime.date | None) -> list[str]:
    """Why ``ads`` cannot be renewed on ``day`` (French messages), or nothing."""
    if not ads.is_new_regime:
        return [
            "Seule une ADS créée à partir du 1er octobre 2014 se renouvelle : celle-ci n’est "
            "pas limitée dans le temps."
            if ads.creation_date
            else "La date de création de l’ADS n’est pas renseignée : complétez-la d’abord."
        ]
    if day is None:
        return []
    if day > timezone.localdate():
        return ["Cette date ne peut pas être dans le futur."]
    if day < ads.creation_date:
        return ["La date de renouvellement ne peut pas précéder la date de création de l’ADS."]
    if ads.last_renewal_date and day <= ads.last_renewal_date:
        return [
            f"L’ADS a déjà été renouvelée le {ads.last_renewal_date:%d/%m/%Y} : le nouveau "
            "renouvellement doit être postérieur."
        ]
    return []


@transaction.atomic
def renew_ads(ads: ADS, day: datetime.date, user) -> ADS:
    """Renew a new-regime ADS for five years from ``day``, as one revision.

    Raises ValidationError (on ``date``) when the locked row forbids it.
    """
    ads = ADS.objects.locked(ads.pk)
    errors = renewal_errors(ads, day)
    if errors:
        raise ValidationError({"date": errors})
    with reversion.create_revision():
        ads.last_renewal_date = day
        ads.substantive_change_at = timezone.now()
        record_revision(ads, user, RENEWAL_COMMENT, ["last_renewal_date", "substantive_change_at"])
    return ads
