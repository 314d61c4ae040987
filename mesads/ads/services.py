"""Operations on the register that span several models: the interface views, commands
and other apps use to change it, so that every change is validated, versioned and safe
against concurrent edits in one place."""

from dataclasses import dataclass

import reversion
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from mesads.core.text import de
from mesads.users.models import PrefectureMembership, User
from mesads.users.notifications import notify

from .forms import ADSForm, BaseDriverFormSet
from .history import ChangesSince, changes_since
from .models import ADS, Driver, RegisterChange

__all__ = [
    "ConflictError",
    "delete_ads",
    "notify_prefecture_of_change",
    "record_change",
    "record_revision",
    "restore_ads",
    "save_ads",
]

# Fields whose change does not alter what the prefecture certified.
NOT_SUBSTANTIVE = {"notes", "comment", "version", "attest"}


def record_change(ads: ADS) -> None:
    """Index the current revision by département and date (see RegisterChange)."""
    reversion.add_meta(
        RegisterChange,
        ads=ads,
        authority_id=ads.authority_id,
        departement_id=ads.authority.departement_id,
    )


def record_revision(ads: ADS, user, comment: str, fields: list[str] | tuple = ()) -> None:
    """A change of the ADS that is not an edit of its form (attestation, certification,
    a document added or removed), inside ``reversion.create_revision()`` and on the row
    locked by ``ADS.objects.locked``: its version bumped like an edit's (an edit opened
    before is told of it), ``fields`` saved, and the ADS as it now is in the revision."""
    ads.version += 1
    ads.save(update_fields=[*fields, "version", "updated_at"])
    reversion.add_to_revision(ads)
    record_change(ads)
    reversion.set_user(user)
    reversion.set_comment(comment)


@dataclass
class ConflictError(Exception):
    """Someone saved the ADS after the user opened it."""

    current: ADS
    # None when the opened version was never recorded, so what changed is unknown.
    changes: ChangesSince | None

    @classmethod
    def since(cls, current: ADS, base_version: int) -> "ConflictError":
        return cls(current, changes_since(current, base_version))


@transaction.atomic
def save_ads(form: ADSForm, formset: BaseDriverFormSet, user, comment: str = "") -> ADS:
    """Save a validated ADS form and its drivers formset as one revision.

    Raises ConflictError, writing nothing, when the ADS changed since ``form`` was opened.
    """
    ads: ADS = form.instance
    is_new = ads.pk is None
    with reversion.create_revision():
        if ads.pk:
            base_version = form.cleaned_data.get("version") or 0
            # Atomic compare-and-set: of two concurrent saves, only one matches.
            bumped = ADS.objects.filter(pk=ads.pk, version=base_version).update(
                version=F("version") + 1
            )
            if not bumped:
                current = ADS.objects.get(pk=ads.pk)
                raise ConflictError.since(current, base_version)
            ads.version = base_version + 1

        drivers = formset.kept_drivers()
        ads.refresh_derived(drivers)
        if (
            is_new
            or set(form.changed_data) - NOT_SUBSTANTIVE
            or formset.has_changed()
            or formset.deleted_forms
        ):
            ads.substantive_change_at = timezone.now()
        if form.cleaned_data.get("attest"):
            ads.attested_at, ads.attested_by = timezone.now(), user
        # Saving answers the prefecture's send-back: its comment is no longer shown.
        ads.sent_back_at, ads.sent_back_by, ads.sent_back_comment = None, None, ""
        # The order of the writes keeps every database rule true at every statement:
        # removed drivers first (the revision must not follow them either); the driver
        # leaving the titulaire status before the one taking it; and the existing drivers
        # before the ADS when it is (or becomes) new-regime, after it otherwise — a
        # new-regime ADS may only have titulaire drivers (trigger
        # ads_new_regime_driver_is_titulaire).
        drivers.sort(key=lambda d: d.status == Driver.Status.TITULAIRE)
        existing = [driver for driver in drivers if driver.pk]
        if ads.pk:
            for form_ in formset.deleted_forms:
                if form_.instance.pk:
                    form_.instance.delete()
        if ads.is_new_regime:
            _save_all(existing)
            ads.save()
        else:
            ads.save()
            _save_all(existing)
        for driver in drivers:
            if not driver.pk:
                driver.ads = ads
                driver.save()
        reversion.add_to_revision(ads)
        record_change(ads)
        reversion.set_user(user)
        reversion.set_comment(comment or ("Création" if is_new else "Modification"))
    return ads


def _save_all(objects) -> None:
    for obj in objects:
        obj.save()


def notify_prefecture_of_change(ads: ADS, by, comment: str, *, site_url: str) -> int:
    """The optional notice of a change to the agents of the ADS's prefecture who asked for
    it in their profile (off by default); returns how many were queued."""
    if ads.authority.departement_id is None:
        return 0  # an EPCI whose seat is unknown: no prefecture supervises it
    agents = User.objects.filter(
        is_active=True,
        notify_changes=True,
        prefecture_memberships__departement=ads.authority.departement_id,
        prefecture_memberships__status=PrefectureMembership.Status.ACCEPTED,
    ).exclude(pk=by.pk)
    if ads.deleted_at is None:
        url = reverse("ads:history", args=[ads.pk])
    else:
        # A deleted ADS, history included, is gone for all but national staff: the
        # département's feed of changes lists the deletion.
        url = reverse("prefecture:changes", args=[ads.authority.departement.code])
    return notify(
        "changes",
        agents,
        f"L’ADS n° {ads.number} {de(ads.authority.name)} a été modifiée",
        "users/emails/ads_changed.txt",
        {
            "ads": ads,
            "authority": ads.authority,
            "by": by,
            "comment": comment,
            "url": site_url + url,
        },
    )


@transaction.atomic
def delete_ads(ads: ADS, user, comment: str) -> None:
    """Soft delete: the ADS leaves lists and counts but stays restorable by national staff."""
    with reversion.create_revision():
        ads.deleted_at = timezone.now()
        ads.version += 1
        ads.save(update_fields=["deleted_at", "version", "updated_at"])
        record_change(ads)
        reversion.set_user(user)
        reversion.set_comment(f"Suppression : {comment}")


class RestoreError(Exception):
    pass


@transaction.atomic
def restore_ads(ads: ADS, user) -> None:
    if ads.deleted_at is None:
        # Without this, the live ADS finds itself below and the message blames a duplicate.
        raise RestoreError(f"L’ADS n° {ads.number} n’est pas supprimée : rien à restaurer.")
    if ADS.objects.live().filter(authority=ads.authority_id, number=ads.number).exists():
        raise RestoreError(
            f"Impossible de restaurer : une autre ADS n° {ads.number} existe désormais "
            "chez ce gestionnaire."
        )
    # The rule of Authority.clean: a register that declares no ADS holds none.
    if ads.authority.declares_no_ads:
        raise RestoreError(
            f"Impossible de restaurer : {ads.authority.name} a déclaré n’avoir aucune ADS "
            "sur son territoire. Cette déclaration doit d’abord être retirée."
        )
    with reversion.create_revision():
        ads.deleted_at = None
        ads.version += 1
        ads.save(update_fields=["deleted_at", "version", "updated_at"])
        record_change(ads)
        reversion.set_user(user)
        reversion.set_comment("Restauration de l’ADS supprimée")
