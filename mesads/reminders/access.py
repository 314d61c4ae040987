"""Who may run and see campaigns: national staff, everywhere; a prefecture agent, for its
own départements only. Anyone else, and another département's campaign, is a 404."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from mesads.geo.models import Departement
from mesads.users.scope import scope_for

from .models import Campaign


def can_run_campaigns(user) -> bool:
    scope = scope_for(user)
    return scope.is_staff or scope.is_prefecture_agent


def ensure_can_run_campaigns(user) -> None:
    if not can_run_campaigns(user):
        raise Http404


def campaigns_for(user) -> QuerySet[Campaign]:
    scope = scope_for(user)
    if scope.is_staff:
        return Campaign.objects.all()
    return Campaign.objects.filter(departement_id__in=sorted(scope.agent_departement_ids))


def campaign_departements(user) -> QuerySet[Departement]:
    """The départements the user may target (national staff: all)."""
    scope = scope_for(user)
    departements = Departement.objects.order_by("code")
    if scope.is_staff:
        return departements
    return departements.filter(pk__in=sorted(scope.agent_departement_ids))


def get_campaign_for_user(user, campaign_id: int) -> Campaign:
    ensure_can_run_campaigns(user)
    return get_object_or_404(
        campaigns_for(user).select_related("departement", "created_by", "sent_by"),
        pk=campaign_id,
    )
