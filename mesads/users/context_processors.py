from django.http import HttpRequest

from .access_requests import UserAccess


def access(request: HttpRequest) -> dict:
    """``access``: the user's authorities and roles, for the navigation and the home page.

    Lazy: a page that shows none of it costs no query.
    """
    return {"access": UserAccess(request.user)}
