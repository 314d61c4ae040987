from django.conf import settings
from django.db import transaction
from django.http import HttpRequest


def read_only(view):
    """A page that only reads, served outside the request's transaction.

    ATOMIC_REQUESTS wraps every view in a transaction, which costs a page two more round
    trips to the database (BEGIN, COMMIT). A page that writes nothing does not need it:
    under PostgreSQL's READ COMMITTED each statement reads its own snapshot, inside a
    transaction or not.
    """
    return transaction.non_atomic_requests(view)


def query_string_without(request: HttpRequest, *names: str) -> str:
    """The current GET parameters without the page and its cursor (and ``names``): what
    pagination links append their own ``page=`` to, keeping the search and filters."""
    query = request.GET.copy()
    for name in ("page", "apres", "avant", *names):
        query.pop(name, None)
    return query.urlencode()


def site_url(request: HttpRequest | None = None) -> str:
    """The service's address, for every link in an e-mail: ``settings.SITE_URL``.

    Never the request's: its ``Host`` header may be any entry of ALLOWED_HOSTS (a
    technical name, another domain of the same servers), and a link in a mail must lead
    to the one address users know. ``request`` is accepted for the callers that have one,
    and not read."""
    return settings.SITE_URL.rstrip("/")
