from django.http import HttpRequest

from .access_requests import UserAccess


def access(request: HttpRequest) -> dict:
    """``my_access``: the user's authorities and roles, for the navigation and the home
    page. (Not ``access``: pages about one access request use that name for it, and the
    navigation lost its prefecture items there.)

    Lazy: a page that shows none of it costs no query.
    """
    return {"my_access": UserAccess(request.user)}
