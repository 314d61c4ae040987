"""The public waiting lists (L3121-5: the authority makes its list public).

No login; nothing personal: rank, application number, date of registration, state.
The queries read only those columns (``Application.PUBLIC_FIELDS``).
"""

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from mesads.ads.access import AUTHORITY_RELATED
from mesads.authorities.models import Authority
from mesads.core.http import query_string_without
from mesads.core.pagination import Paginator

from .. import spreadsheets
from ..forms import PublicSearchForm
from ..models import Application

PAGE_SIZE = 50


def _active_count():
    return Coalesce(
        Subquery(
            Application.objects.filter(authority=OuterRef("pk"), state=Application.State.ACTIVE)
            .order_by()
            .values("authority")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        0,
    )


@require_GET
def public_search(request):
    """Find an authority's list by the name or code of its commune. Without a search:
    the authorities that have applications in course."""
    form = PublicSearchForm(request.GET or None)
    text = form.cleaned_data["q"].strip() if form.is_valid() else ""
    authorities = Authority.objects.all()
    if text:
        authorities = authorities.search(text)
    else:
        authorities = authorities.filter(
            Q(pk__in=Application.objects.active().values("authority_id"))
        )
    page = Paginator(
        authorities.annotate(active_count=_active_count())
        .select_related("commune", "departement")
        .only("pk", "name", "type", "commune__insee_code", "departement__code", "departement__name")
        .order_by("name", "pk"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "waitinglists/public_search.html",
        {
            "form": form,
            "searched": text,
            "page_obj": page,
            "query_string": query_string_without(request),
        },
    )


@require_GET
def public_list(request, authority_id: int):
    authority = get_object_or_404(
        Authority.objects.select_related(*AUTHORITY_RELATED), pk=authority_id
    )
    applications = Application.objects.filter(authority=authority).public()
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(
        spreadsheets.public_rows(
            page.object_list, start=page.start_index(), today=timezone.localdate()
        )
    )
    return render(
        request,
        "waitinglists/public_list.html",
        {
            "authority": authority,
            "page_obj": page,
            "rows": rows,
            "headers": spreadsheets.PUBLIC_HEADERS,
            "attributed": Application.objects.filter(authority=authority).recently_attributed(),
        },
    )


@require_GET
def public_csv(request, authority_id: int):
    authority = get_object_or_404(
        Authority.objects.select_related("commune", "epci", "prefecture", "airport"),
        pk=authority_id,
    )
    response = HttpResponse(
        spreadsheets.public_csv(authority), content_type=spreadsheets.CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = content_disposition_header(
        True, spreadsheets.filename(authority, "csv", public=True)
    )
    return response
