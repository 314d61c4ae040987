from django.http import HttpRequest


def query_string_without(request: HttpRequest, *names: str) -> str:
    """The current GET parameters without the page and its cursor (and ``names``): what
    pagination links append their own ``page=`` to, keeping the search and filters."""
    query = request.GET.copy()
    for name in ("page", "apres", "avant", *names):
        query.pop(name, None)
    return query.urlencode()


def site_url(request: HttpRequest) -> str:
    """The scheme and host the user is on, for the links in e-mails."""
    return request.build_absolute_uri("/").rstrip("/")
