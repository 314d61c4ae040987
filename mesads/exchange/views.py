"""Export pages: every user downloads, as CSV or XLSX, the part of the register they may see.

An authority's ADS: whoever may read that authority. A département, with its authorities
sheet: its prefecture staff, its inspectors, national staff. The whole country: national
staff. Anything else is a 404, which does not reveal that it exists.
"""

import tempfile

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mesads.ads.access import AUTHORITY_RELATED, get_authority_for_user
from mesads.authorities.models import Authority
from mesads.geo.models import Departement
from mesads.users.models import InspectorGrant, PrefectureMembership

from . import export


def _departements_of(user):
    """The départements whose whole register the user may export (staff: every one)."""
    if user.is_staff:
        return Departement.objects.all()
    memberships = PrefectureMembership.objects.filter(
        user=user, status=PrefectureMembership.Status.ACCEPTED
    )
    grants = InspectorGrant.objects.filter(user=user)
    return Departement.objects.filter(
        Q(pk__in=memberships.values("departement_id")) | Q(pk__in=grants.values("departement_id"))
    )


def get_departement_for_user(user, code: str) -> Departement:
    return get_object_or_404(_departements_of(user), code=code.upper())


def _download(request, scope: export.Scope, export_format: str):
    if export_format == "csv":
        # French Excel expects ';'; other tools (and English Excel) ',' ("?separateur=virgule").
        separator = "," if request.GET.get("separateur") == "virgule" else ";"
        response = StreamingHttpResponse(
            export.stream_csv(scope, separator), content_type=export.CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = content_disposition_header(
            True, scope.dated_filename("csv")
        )
        return response
    # A zip archive cannot be sent before it is complete: the workbook is written to a
    # temporary file (deleted when closed, after the response is sent), then streamed.
    output = tempfile.TemporaryFile()
    try:
        export.write_xlsx(scope, output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return FileResponse(
        output,
        as_attachment=True,
        filename=scope.dated_filename("xlsx"),
        content_type=export.XLSX_CONTENT_TYPE,
    )


def export_view(view):
    """Downloads: GET only, never cached (personal data), and out of the request's
    transaction: the export opens its own, read-only with one snapshot for its cursors."""
    return login_required(require_GET(never_cache(transaction.non_atomic_requests(view))))


@export_view
def authority_export(request, authority_id: int, export_format: str):
    authority = get_authority_for_user(request.user, authority_id)
    return _download(request, export.authority_scope(authority), export_format)


@export_view
def departement_export(request, code: str, export_format: str):
    departement = get_departement_for_user(request.user, code)
    scope = export.departement_scope(departement, Authority.objects.readable_by(request.user))
    return _download(request, scope, export_format)


@export_view
def national_export(request, export_format: str):
    if not request.user.is_staff:
        raise Http404
    return _download(request, export.national_scope(), export_format)


@login_required
def export_index(request):
    """What the user may export: their authorities, their départements, the country."""
    user = request.user
    authorities = (
        Authority.objects.none()
        if user.is_staff
        else Authority.objects.writable_by(user).select_related(*AUTHORITY_RELATED)
    )
    return render(
        request,
        "exchange/export_index.html",
        {
            "authorities": authorities.order_by("name", "pk"),
            "departements": _departements_of(user).order_by("code"),
        },
    )
