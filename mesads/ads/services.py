"""Operations on the register that span several models: the interface views, commands
and other apps use to change it, so that every change is validated, versioned and safe
against concurrent edits in one place."""

from dataclasses import dataclass

import reversion
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .authorities import ensure_authorities
from .forms import ADSForm, BaseDriverFormSet
from .history import changed_fields_since
from .models import ADS, Driver, RegisterChange

__all__ = [
    "ConflictError",
    "delete_ads",
    "ensure_authorities",
    "record_change",
    "restore_ads",
    "save_ads",
]

# Fields whose change does not alter what the prefecture certified.
NOT_SUBSTANTIVE = {"notes", "comment", "version"}


def record_change(ads: ADS) -> None:
    """Index the current revision by département and date (see RegisterChange)."""
    reversion.add_meta(
        RegisterChange,
        ads=ads,
        authority_id=ads.authority_id,
        departement_id=ads.authority.departement_id,
    )


@dataclass
class ConflictError(Exception):
    """Someone saved the ADS after the user opened it."""

    current: ADS
    # (field label, value when opened, value now); None when the opened version was
    # never recorded, so what changed is unknown.
    changes: list[tuple[str, str, str]] | None


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
                raise ConflictError(current, changed_fields_since(current, base_version))
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
        if ads.pk:
            # Removed drivers go first, so that the revision does not follow them.
            for form_ in formset.deleted_forms:
                if form_.instance.pk:
                    form_.instance.delete()
        ads.save()
        # A driver leaving the titulaire status is saved before the one taking it, to
        # keep the "one titulaire per ADS" constraint true at every statement.
        drivers.sort(key=lambda d: d.status == Driver.Status.TITULAIRE)
        for driver in drivers:
            driver.ads = ads
            driver.save()
        reversion.add_to_revision(ads)
        record_change(ads)
        reversion.set_user(user)
        reversion.set_comment(comment or ("Création" if is_new else "Modification"))
    return ads


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
    with reversion.create_revision():
        ads.deleted_at = None
        ads.version += 1
        ads.save(update_fields=["deleted_at", "version", "updated_at"])
        record_change(ads)
        reversion.set_user(user)
        reversion.set_comment("Restauration de l’ADS supprimée")
