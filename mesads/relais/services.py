"""Every write of the relay taxis' register: one transaction each, with its revision
(django-reversion, as the ADS), so that a vehicle's history tells who did what."""

import reversion
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesads.geo.models import Departement

from . import changes
from .models import (
    Invitation,
    Membership,
    NumberCounter,
    Owner,
    Requirements,
    Use,
    Vehicle,
    VehicleChange,
)


def departement_prefix(departement: Departement) -> str:
    """``30``, ``2A``, ``971``: the département's code as it starts the number."""
    return departement.code


def allocate_number(departement: Departement) -> tuple[int, str]:
    """The département's next number, inside the caller's transaction.

    The counter row is created if missing (ignoring a concurrent creation), then locked
    with SELECT … FOR UPDATE: a second registration in the same département waits for
    the first to commit and reads its number. Never max()+1, which two transactions
    would compute alike. The counter only grows: a number is never given twice."""
    NumberCounter.objects.bulk_create(
        [NumberCounter(departement=departement, last=0)], ignore_conflicts=True
    )
    counter = NumberCounter.objects.select_for_update().get(departement=departement)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last, f"{departement_prefix(departement)}-{counter.last:02d}"


def _revision(user, comment: str) -> None:
    if user is not None and user.is_authenticated:
        reversion.set_user(user)
    reversion.set_comment(comment)


def create_owner(owner: Owner, user) -> Owner:
    with transaction.atomic(), reversion.create_revision():
        _revision(user, "Déclaration du propriétaire")
        owner.save()
        Membership.objects.create(owner=owner, user=user)
    return owner


def update_owner(owner: Owner, user) -> Owner:
    with transaction.atomic(), reversion.create_revision():
        _revision(user, "Modification du propriétaire")
        owner.save()
        # The owner's name and contact are part of each of its vehicles in the API.
        changes.record(list(owner.vehicles.live()), VehicleChange.Kind.MODIFICATION)
    return owner


def register_vehicle(vehicle: Vehicle, user) -> Vehicle:
    """Inscribe a vehicle: it gets the département's next number."""
    with transaction.atomic(), reversion.create_revision():
        _revision(user, "Inscription au registre")
        vehicle.sequence, vehicle.number = allocate_number(vehicle.departement)
        vehicle.status = Vehicle.Status.ACTIVE
        vehicle.save()
        changes.record([vehicle], VehicleChange.Kind.CREATION)
    return vehicle


def update_vehicle(vehicle: Vehicle, user) -> Vehicle:
    with transaction.atomic(), reversion.create_revision():
        _revision(user, "Modification")
        vehicle.save()
        changes.record([vehicle], VehicleChange.Kind.MODIFICATION)
    return vehicle


def set_status(vehicle: Vehicle, user, status: str, reason: str, comment: str) -> Vehicle:
    with transaction.atomic(), reversion.create_revision():
        _revision(user, f"{comment} : {reason}" if reason else comment)
        vehicle.status = status
        vehicle.status_reason = reason
        vehicle.status_changed_at = timezone.now()
        vehicle.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
        changes.record(
            [vehicle],
            VehicleChange.Kind.MODIFICATION if vehicle.is_live else VehicleChange.Kind.WITHDRAWAL,
        )
    return vehicle


def withdraw_vehicle(vehicle: Vehicle, user, reason: str = "") -> Vehicle:
    """The owner takes the vehicle out of the register: it keeps its number."""
    return set_status(
        vehicle, user, Vehicle.Status.WITHDRAWN, reason, "Retrait par le propriétaire"
    )


def reinstate_vehicle(vehicle: Vehicle, user) -> Vehicle:
    """A prefecture lifts a suspension."""
    return set_status(vehicle, user, Vehicle.Status.ACTIVE, "", "Suspension levée")


def invite(owner: Owner, email: str, user) -> Invitation:
    return Invitation.objects.create(owner=owner, email=email, invited_by=user)


def accept_invitation(invitation: Invitation, user) -> Membership:
    with transaction.atomic():
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        membership, _ = Membership.objects.get_or_create(owner=invitation.owner, user=user)
    return membership


class OverlappingUse(Exception):
    """The period overlaps another use of the vehicle (the database's exclusion
    constraint, when two owners' members record at once)."""


def record_use(use: Use, user) -> Use:
    try:
        with transaction.atomic(), reversion.create_revision():
            _revision(user, "Utilisation enregistrée")
            use.created_by = user
            use.save()
    except IntegrityError as error:
        if "relais_use_no_overlap" in str(error):
            raise OverlappingUse from error
        raise
    return use


def save_requirements(requirements: Requirements, user) -> Requirements:
    requirements.updated_by = user
    requirements.save()
    return requirements
