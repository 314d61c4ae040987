"""The one place that decides which authority, ADS or document a user may reach (the
rules themselves are the user's scope, ``mesads.users.scope``).

Another authority's object is a 404 (its existence is not revealed); an object the user
may see but not change (read-only role, prefecture agent not acting as manager, locked
register) is a 403 with the reason.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from mesads.authorities.models import Authority
from mesads.users.scope import scope_for

from .models import ADS, ADSDocument, AuthorityDecree

AUTHORITY_RELATED = (
    "commune",
    "epci",
    "prefecture",
    "airport",
    "departement",
    "delegated_to",
)


def ensure_writable(authority: Authority, user) -> None:
    if not scope_for(user).can_write(authority):
        raise PermissionDenied(
            "Vous pouvez consulter ce registre mais pas le modifier. "
            "Seuls ses gestionnaires (ou un agent de la préfecture qui choisit d’agir "
            "comme gestionnaire) peuvent le faire."
        )
    if authority.is_locked:
        raise PermissionDenied(
            "Le registre de ce gestionnaire est verrouillé : il est alimenté par un fichier "
            "transmis à l’équipe nationale et ne se modifie pas ici."
            + (f" Motif : {authority.lock_reason}" if authority.lock_reason else "")
        )


def can_write(user, authority: Authority) -> bool:
    """Whether the pages should offer this user to change the authority's register."""
    if authority.is_locked:
        return False
    return scope_for(user).can_write(authority)


def get_authority_for_user(
    user, authority_id: int, *, write: bool = False, related: tuple[str, ...] = AUTHORITY_RELATED
) -> Authority:
    """``related``: what the page shows of the authority's territory (its official code
    needs it). Each join costs PostgreSQL planning time on every request: pages that only
    show the name pass ``related=()``."""
    authority = get_object_or_404(
        Authority.objects.for_user(user).select_related(*related), pk=authority_id
    )
    if write:
        ensure_writable(authority, user)
    return authority


def get_ads_for_user(
    user, ads_id: int, *, write: bool = False, include_deleted: bool = False
) -> ADS:
    # Only what ADS pages show: joining the authority's territory too would triple the
    # planning time of this query, run on every ADS page.
    queryset = ADS.objects.for_user(user).select_related("authority", "commune")
    # A deleted ADS is gone for managers; national staff still reach it to restore it.
    if not (include_deleted and user.is_staff):
        queryset = queryset.live()
    ads = get_object_or_404(queryset, pk=ads_id)
    if write:
        ensure_writable(ads.authority, user)
    return ads


def get_document_for_user(user, document_id: int, *, write: bool = False) -> ADSDocument:
    document = get_object_or_404(
        ADSDocument.objects.filter(ads__in=ADS.objects.for_user(user).live()).select_related(
            "ads__authority"
        ),
        pk=document_id,
    )
    if write:
        ensure_writable(document.ads.authority, user)
    return document


def get_decree_for_user(user, decree_id: int) -> AuthorityDecree:
    return get_object_or_404(
        AuthorityDecree.objects.filter(
            authority__in=Authority.objects.for_user(user).values("pk")
        ).select_related("authority"),
        pk=decree_id,
    )
