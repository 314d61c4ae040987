from django.db.models import Count, Q
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode

from mesads.core.pagination import Paginator
from mesads.exchange.export import CSV_CONTENT_TYPE
from mesads.geo.models import Departement

from ..export import SCHEMA_PATH, open_data_csv, stream_csv
from ..models import Requirements, Vehicle

PAGE_SIZE = 50


def public_index(request):
    """Every département, with its number of registered relay vehicles."""
    departements = Departement.objects.annotate(
        relais_count=Count(
            "relais_vehicles", filter=Q(relais_vehicles__status=Vehicle.Status.ACTIVE)
        )
    ).order_by("code")
    return render(request, "relais/public_index.html", {"departements": departements})


def public_register(request, code: str):
    departement = get_object_or_404(Departement, code=code)
    query = request.GET.get("q", "").strip()[:50]
    vehicles = (
        Vehicle.objects.public()
        .filter(departement=departement)
        .search(query)
        .select_related("commune", "owner")
        .only(
            "number",
            "plate",
            "make",
            "model",
            "engine",
            "seats",
            "wheelchair_accessible",
            "commune__name",
            "owner__name",
            "owner__phone",
            "owner__email",
        )
        .order_by("sequence")
    )
    page = Paginator(vehicles, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "relais/public_register.html",
        {
            "departement": departement,
            "page_obj": page,
            "query": query,
            "pagination_query": urlencode({"q": query}) if query else "",
            "requirements": Requirements.objects.filter(departement=departement)
            .exclude(text="")
            .first(),
        },
    )


def public_csv(request, code: str):
    departement = get_object_or_404(Departement, code=code)
    vehicles = Vehicle.objects.public().filter(departement=departement)
    response = StreamingHttpResponse(stream_csv(vehicles), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="taxis-relais-{departement.code}.csv"'
    return response


def open_data(request):
    """The national open-data file: every active relay vehicle (public register)."""
    response = StreamingHttpResponse(
        open_data_csv(Vehicle.objects.public()), content_type=CSV_CONTENT_TYPE
    )
    response["Content-Disposition"] = 'attachment; filename="taxis-relais.csv"'
    return response


def open_data_schema(request):
    return FileResponse(SCHEMA_PATH.open("rb"), content_type="application/json")
