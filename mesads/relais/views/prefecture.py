import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from reversion.models import Version

from mesads.core.http import site_url
from mesads.core.pagination import Paginator
from mesads.exchange.export import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from mesads.users.notifications import send_after_commit

from .. import services
from ..access import (
    get_departement_for_prefecture,
    get_vehicle_for_prefecture,
    supervised_departements,
)
from ..export import PREFECTURE_COLUMNS, stream_csv, write_xlsx
from ..forms import RequirementsForm, StatusForm
from ..models import Requirements, Vehicle


@login_required
def prefecture_index(request):
    departements = supervised_departements(request.user).annotate(
        live_count=Count(
            "relais_vehicles", filter=Q(relais_vehicles__status__in=Vehicle.LIVE_STATUSES)
        )
    )
    if not departements.exists():
        raise Http404("Réservé aux agents de préfecture et à l’équipe nationale.")
    return render(request, "relais/prefecture_index.html", {"departements": departements})


@login_required
def prefecture_register(request, code: str):
    departement = get_departement_for_prefecture(request.user, code)
    status = request.GET.get("statut", "")
    query = request.GET.get("q", "").strip()[:50]
    vehicles = (
        Vehicle.objects.filter(departement=departement)
        .search(query)
        .select_related("commune", "owner")
        .order_by("sequence")
    )
    if status in Vehicle.Status.values:
        vehicles = vehicles.filter(status=status)
    page = Paginator(vehicles, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "relais/prefecture_register.html",
        {
            "departement": departement,
            "page_obj": page,
            "query": query,
            "status": status,
            "pagination_query": urlencode({"q": query, "statut": status}),
            "Status": Vehicle.Status,
        },
    )


@login_required
def prefecture_export_csv(request, code: str):
    return _export(request, code, "csv")


@login_required
def prefecture_export_xlsx(request, code: str):
    return _export(request, code, "xlsx")


def _export(request, code: str, extension: str):
    departement = get_departement_for_prefecture(request.user, code)
    vehicles = Vehicle.objects.filter(departement=departement)
    filename = f"taxis-relais-{departement.code}-{timezone.localdate():%Y-%m-%d}.{extension}"
    if extension == "csv":
        response = StreamingHttpResponse(
            stream_csv(vehicles, PREFECTURE_COLUMNS), content_type=CSV_CONTENT_TYPE
        )
    else:
        output = io.BytesIO()
        write_xlsx(vehicles, output)
        response = HttpResponse(output.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def prefecture_requirements(request, code: str):
    departement = get_departement_for_prefecture(request.user, code)
    requirements = Requirements.objects.filter(departement=departement).first() or Requirements(
        departement=departement
    )
    form = RequirementsForm(request.POST or None, instance=requirements)
    if request.method == "POST" and form.is_valid():
        services.save_requirements(form.instance, request.user)
        messages.success(request, "Les exigences du département sont enregistrées.")
        return redirect("relais:prefecture_register", departement.code)
    return render(
        request, "relais/prefecture_requirements.html", {"form": form, "departement": departement}
    )


@login_required
def prefecture_vehicle(request, vehicle_id: int):
    vehicle = get_vehicle_for_prefecture(request.user, vehicle_id)
    history = (
        Version.objects.get_for_object(vehicle)
        .select_related("revision__user")
        .order_by("-revision__date_created")
    )
    return render(
        request,
        "relais/prefecture_vehicle.html",
        {
            "vehicle": vehicle,
            "history": history,
            "uses": vehicle.uses.select_related("ads__authority"),
            "form": StatusForm(),
            "Status": Vehicle.Status,
        },
    )


def _tell_owner(request, vehicle: Vehicle, action: str, reason: str) -> None:
    """E-mail every member of the owner (the decision matters: never silenced)."""
    body = render_to_string(
        "relais/emails/status_changed.txt",
        {
            "vehicle": vehicle,
            "action": action,
            "reason": reason,
            "url": site_url(request),
        },
    )
    subject = f"[Mes ADS] Taxi relais n° {vehicle.number} : {action}"
    # Once the decision is committed: a rolled-back request tells nobody.
    for email in vehicle.owner.memberships.values_list("user__email", flat=True):
        send_after_commit(email, subject, body)


def _change_status(request, vehicle_id: int, status: str, action: str):
    vehicle = get_vehicle_for_prefecture(request.user, vehicle_id)
    form = StatusForm(request.POST)
    allowed = vehicle.is_live and not (
        status == Vehicle.Status.SUSPENDED and vehicle.status == Vehicle.Status.SUSPENDED
    )
    if not allowed:
        messages.error(request, "Ce véhicule n’est plus inscrit au registre.")
        return redirect("relais:prefecture_vehicle", vehicle.pk)
    if not form.is_valid():
        return render(
            request,
            "relais/prefecture_vehicle.html",
            {"vehicle": vehicle, "history": [], "uses": [], "form": form, "Status": Vehicle.Status},
            status=400,
        )
    reason = form.cleaned_data["reason"]
    services.set_status(vehicle, request.user, status, reason, action.capitalize())
    _tell_owner(request, vehicle, action, reason)
    messages.success(
        request, f"Le véhicule n° {vehicle.number} est {action} ; son propriétaire est prévenu."
    )
    return redirect("relais:prefecture_vehicle", vehicle.pk)


@login_required
@require_POST
def prefecture_suspend(request, vehicle_id: int):
    return _change_status(request, vehicle_id, Vehicle.Status.SUSPENDED, "suspendu")


@login_required
@require_POST
def prefecture_remove(request, vehicle_id: int):
    return _change_status(request, vehicle_id, Vehicle.Status.REMOVED, "radié")


@login_required
@require_POST
def prefecture_reinstate(request, vehicle_id: int):
    vehicle = get_vehicle_for_prefecture(request.user, vehicle_id)
    if vehicle.status != Vehicle.Status.SUSPENDED:
        messages.error(request, "Ce véhicule n’est pas suspendu.")
    else:
        services.reinstate_vehicle(vehicle, request.user)
        _tell_owner(request, vehicle, "de nouveau inscrit", "suspension levée par la préfecture")
        messages.success(request, f"La suspension du véhicule n° {vehicle.number} est levée.")
    return redirect("relais:prefecture_vehicle", vehicle.pk)
