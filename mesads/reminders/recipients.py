"""Who is reached for an authority: its managers, or failing them its prefecture."""

from django.db.models import QuerySet

from mesads.users.models import AuthorityAccess, PrefectureMembership


def manager_accesses() -> QuerySet[AuthorityAccess]:
    """Accepted accesses of active people who manage the authority themselves: an agent
    acting as manager is reached as an agent, by the prefecture's own mails."""
    return AuthorityAccess.objects.filter(
        status=AuthorityAccess.Status.ACCEPTED, via_prefecture=False, user__is_active=True
    )


def prefecture_agents() -> QuerySet[PrefectureMembership]:
    return PrefectureMembership.objects.filter(
        status=PrefectureMembership.Status.ACCEPTED, user__is_active=True
    )
