"""Who reaches the follow-up: national staff only (``User.is_staff``, as every staff page
of the project). Anyone else, prefecture agents included, gets a 404: the pages do not
reveal that they exist."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from mesads.geo.models import Departement


def staff_page(view):
    """A GET page for national staff: anonymous visitors go to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(require_safe(wrapper))


def get_departement(code: str) -> Departement:
    return get_object_or_404(Departement, code=code.upper())
