"""Scoped look-ups of the ADS's life (the rules are the user's scope, ``mesads.users.scope``).

The ADS and authorities go through ``mesads.ads.access``; what is added here is the
département whose register of transfers the user may read: its prefecture agents, its
inspectors, national staff. Anyone else gets a 404.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404

from mesads.geo.models import Departement
from mesads.users.scope import scope_for


def get_departement_for_user(user, code: str) -> Departement:
    scope = scope_for(user)
    departements = Departement.objects.all()
    if not scope.is_staff:
        if not scope.readable_departement_ids:
            raise Http404
        departements = departements.filter(pk__in=sorted(scope.readable_departement_ids))
    return get_object_or_404(departements, code=code.upper())


def ensure_staff(user) -> None:
    """National indicators: national staff only; anyone else does not learn they exist."""
    if not scope_for(user).is_staff:
        raise Http404
