"""Changes to waiting lists, each in one transaction and one django-reversion revision
(who, when, why), so that the history of an application tells its whole story."""

import datetime
from dataclasses import dataclass, field

import reversion
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesads.ads.forms import ADSForm, DriverFormSet
from mesads.ads.models import ADS, Driver
from mesads.ads.services import save_ads
from mesads.authorities.models import Authority

from .models import Application


def _revision(user, comment: str) -> None:
    reversion.set_user(user)
    reversion.set_comment(comment)


def _locked(application: Application) -> Application:
    """The application as it is now, its row locked until the end of the transaction:
    two changes (a renewal and an attribution) apply one after the other."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("authority")
        .get(pk=application.pk)
    )


class NotActive(Exception):
    """The application has left the list meanwhile (attributed or removed)."""

    def __init__(self, application: Application) -> None:
        super().__init__(
            f"La demande n° {application.number} n’est plus sur la liste "
            f"({application.status_label().lower()}) : rien n’a été modifié."
        )


@transaction.atomic
def create_application(application: Application, user, comment: str = "") -> Application:
    """Register a validated application (``full_clean`` done, by its form or the import).

    Without a number it takes the next of the list; the authority's row is locked while
    it is chosen, so that two registrations at the same moment get two numbers.
    """
    Authority.objects.select_for_update().filter(pk=application.authority_id).first()
    if not application.number:
        application.number = application.next_number()
    with reversion.create_revision():
        application.save()
        _revision(user, comment or "Inscription sur la liste d’attente")
    return application


@transaction.atomic
def update_application(application: Application, user, comment: str = "") -> Application:
    """Save a validated change of an application (``full_clean`` done by its form).

    The authority's row is locked as ``create_application`` and the import lock it, so
    that a change of card or number waits for a registration or an import in progress.
    A card or number that was still free when the form checked it but has been taken
    since (by a write that did not wait) is told as the form would have told it: a
    ValidationError on the field, and nothing written.
    """
    Authority.objects.select_for_update().filter(pk=application.authority_id).first()
    try:
        # A savepoint: after the database refuses the row, the list can still be read.
        with transaction.atomic(), reversion.create_revision():
            application.save()
            _revision(user, comment or "Modification de la demande")
    except IntegrityError:
        application.check_list()  # the form's own message, now that the row is there
        raise
    return application


@transaction.atomic
def renew_application(
    application: Application, user, today: datetime.date | None = None
) -> Application:
    """« Renouveler »: the applicant confirmed the application for another year.

    An expired application may still be renewed as long as the manager has not removed
    it: the law lets the applicant renew, and the manager decides when to remove.
    """
    application = _locked(application)
    if not application.is_active:
        raise NotActive(application)
    today = today or timezone.localdate()
    with reversion.create_revision():
        application.renewed_at = today
        application.save()
        _revision(user, f"Renouvellement de la demande le {today:%d/%m/%Y}")
    return application


@transaction.atomic
def remove_application(application: Application, user, reason: str, comment: str) -> Application:
    application = _locked(application)
    if not application.is_active:
        raise NotActive(application)
    with reversion.create_revision():
        application.state = Application.State.REMOVED
        application.removal_reason = reason
        application.removal_comment = comment
        application.removed_at = timezone.now()
        application.save()
        label = Application.RemovalReason(reason).label
        _revision(user, f"Radiation : {label}" + (f" – {comment}" if comment else ""))
    return application


# --- attribution ------------------------------------------------------------------------


@dataclass
class AttributionRefused(Exception):
    """Why the ADS could not be created, by field of the confirmation form ("" for the
    whole form); nothing was written."""

    errors: dict[str, list[str]] = field(default_factory=dict)


def first_eligible(authority: Authority, today: datetime.date | None = None) -> Application | None:
    return (
        Application.objects.filter(authority=authority)
        .eligible(today)
        .in_priority_order()
        .only("pk", "number")
        .first()
    )


def _ads_forms(application: Application, number: str, creation_date: datetime.date, comment: str):
    """The register's own ADS form and drivers formset, filled in as the manager would
    for a new-regime ADS held and driven by the applicant: the ADS is validated by the
    model's rules and saved (history included) as any other."""
    authority = application.authority
    data = {
        "number": number,
        "creation_date": creation_date.isoformat(),
        "in_use": "on",
        "holder_name": application.applicant_name,
        "holder_phone": application.applicant_phone,
        "holder_email": application.applicant_email,
        "vehicle_pmr": "unknown",
        "vehicle_low_emission": "unknown",
        "attest": "on",
        "comment": comment,
        "drivers-TOTAL_FORMS": "1",
        "drivers-INITIAL_FORMS": "0",
        "drivers-MIN_NUM_FORMS": "0",
        "drivers-MAX_NUM_FORMS": "1000",
        # L3121-1-2: a new ADS is operated by its holder personally.
        "drivers-0-status": Driver.Status.TITULAIRE,
        "drivers-0-name": application.applicant_name,
        "drivers-0-card_number": application.card_number,
    }
    ads = ADS(authority=authority)
    return ADSForm(data, instance=ads, authority=authority), DriverFormSet(
        data, instance=ads, prefix="drivers"
    )


# ADS form fields the attribution form shows; the others' errors are told whole.
_SHOWN = {"number": "number", "creation_date": "creation_date"}


@transaction.atomic
def attribute_ads(
    application: Application,
    user,
    *,
    number: str,
    creation_date: datetime.date,
    skip_reason: str = "",
    today: datetime.date | None = None,
) -> ADS:
    """Create the new-regime ADS of the application's applicant and take the application
    off the list (« attribuée »), in one revision. Raises ``AttributionRefused``."""
    today = today or timezone.localdate()
    application = _locked(application)
    if not application.is_active:
        raise AttributionRefused({"": [str(NotActive(application))]})
    if application.is_expired(today):
        raise AttributionRefused(
            {
                "": [
                    f"La demande n° {application.number} a expiré le "
                    f"{application.valid_until:%d/%m/%Y} sans être renouvelée : elle ne peut "
                    "pas recevoir d’ADS."
                ]
            }
        )
    first = first_eligible(application.authority, today)
    if first is not None and first.pk != application.pk and not skip_reason:
        raise AttributionRefused(
            {
                "skip_reason": [
                    f"La première demande de la liste est la n° {first.number} : dites "
                    "pourquoi celle-ci est choisie."
                ]
            }
        )
    comment = f"Attribution depuis la liste d’attente (demande n° {application.number})"
    if skip_reason:
        comment += f" – {skip_reason}"
    form, formset = _ads_forms(application, number, creation_date, comment)
    form_ok = form.is_valid()
    if not (form_ok and formset.is_valid()):
        errors: dict[str, list[str]] = {}
        for name, messages in form.errors.items():
            target = _SHOWN.get(name, "")
            for message in messages:
                if target or name == "__all__":
                    errors.setdefault(target, []).append(message)
                else:
                    label = form.fields[name].label if name in form.fields else name
                    errors.setdefault("", []).append(f"{label} : {message}")
        for message in formset.non_form_errors():
            errors.setdefault("", []).append(message)
        for row in formset.forms:
            for name, messages in row.errors.items():
                errors.setdefault("", []).extend(f"Conducteur – {name} : {m}" for m in messages)
        raise AttributionRefused(errors)
    with reversion.create_revision():
        ads = save_ads(form, formset, user, comment)
        application.state = Application.State.ATTRIBUTED
        application.removal_reason = Application.RemovalReason.ATTRIBUTED
        application.removal_comment = skip_reason
        application.removed_at = timezone.now()
        application.ads = ads
        application.save()
        reversion.add_to_revision(application)
        _revision(user, comment)
    return ads
