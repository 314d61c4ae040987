"""The one place that decides which owner, vehicle or département a user reaches in the
register of relay taxis.

- an owner's members (``Membership``) read and change its company and its vehicles;
  anyone else gets a 404 (another owner's vehicles are not revealed), national staff
  included: they oversee through the prefecture pages;
- a prefecture agent oversees the relay vehicles of its département(s) (the register's
  scope, ``agent_departement_ids``), national staff every département; another
  département is a 404;
- a controller (prefecture agent, inspector, national staff) checks any plate;
- a relay owner's account has no role in the ADS register: its scope there is empty.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from mesads.geo.models import Departement
from mesads.users.scope import scope_for

from .models import Invitation, Owner, Vehicle


def get_owner_for_member(user, owner_id: int) -> Owner:
    return get_object_or_404(Owner.objects.of_member(user), pk=owner_id)


def get_vehicle_for_member(user, vehicle_id: int, *, write: bool = False) -> Vehicle:
    vehicle = get_object_or_404(
        Vehicle.objects.of_member(user).select_related("owner", "departement", "commune"),
        pk=vehicle_id,
    )
    if write and not vehicle.is_live:
        raise PermissionDenied(
            "Ce véhicule n’est plus inscrit au registre : il ne se modifie plus."
        )
    if write and vehicle.status == Vehicle.Status.SUSPENDED:
        raise PermissionDenied(
            "Ce véhicule est suspendu par la préfecture : contactez-la pour lever la suspension."
        )
    return vehicle


def get_invitation_for_user(user, invitation_id: int) -> Invitation:
    """An invitation addressed to the logged-in user's own address, not yet accepted."""
    return get_object_or_404(
        Invitation.objects.select_related("owner"),
        pk=invitation_id,
        email__iexact=user.email,
        accepted_at__isnull=True,
    )


def supervised_departements(user) -> QuerySet:
    scope = scope_for(user)
    if scope.is_staff:
        return Departement.objects.all()
    return Departement.objects.filter(pk__in=sorted(scope.agent_departement_ids))


def get_departement_for_prefecture(user, code: str) -> Departement:
    return get_object_or_404(supervised_departements(user), code=code)


def get_vehicle_for_prefecture(user, vehicle_id: int) -> Vehicle:
    return get_object_or_404(
        Vehicle.objects.filter(departement__in=supervised_departements(user)).select_related(
            "owner", "departement", "commune"
        ),
        pk=vehicle_id,
    )


def is_controller(user) -> bool:
    scope = scope_for(user)
    return scope.is_staff or bool(scope.readable_departement_ids)


def ensure_controller(user) -> None:
    if not is_controller(user):
        raise PermissionDenied(
            "Le contrôle des taxis relais est réservé aux agents de préfecture, aux "
            "contrôleurs et à l’équipe nationale."
        )
