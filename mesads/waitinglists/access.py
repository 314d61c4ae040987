"""Scoped look-ups of waiting-list applications: the rules are the register's
(``mesads.users.scope``), so an application is reached exactly as its authority is.

Another authority's application is a 404; an application the user may read but not
change (prefecture agent not acting as manager, inspector, locked register) is a 403.
"""

from django.shortcuts import get_object_or_404

from mesads.ads.access import ensure_writable

from .models import Application


def get_application_for_user(user, application_id: int, *, write: bool = False) -> Application:
    application = get_object_or_404(
        Application.objects.for_user(user).select_related("authority", "card_departement"),
        pk=application_id,
    )
    if write:
        ensure_writable(application.authority, user)
    return application
