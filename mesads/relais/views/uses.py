from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from mesads.ads.validators import is_full_plate, normalize_plate

from ..access import ensure_controller
from ..models import Use, Vehicle


def ads_panel(request, ads) -> str:
    """The panel on the ADS page (registered in ``apps.py``): the relay vehicles that
    replace or replaced this ADS. Whoever sees the ADS page sees it."""
    uses = list(
        Use.objects.filter(ads=ads).select_related("vehicle__owner").order_by("-start")[:10]
    )
    if not uses:
        return ""
    return render_to_string(
        "relais/_ads_panel.html",
        {"uses": uses, "today": timezone.localdate()},
        request=request,
    )


def current_use(vehicle: Vehicle, today=None) -> Use | None:
    today = today or timezone.localdate()
    return (
        vehicle.uses.filter(start__lte=today, end__gte=today)
        .select_related("ads__authority", "ads__commune")
        .first()
    )


@login_required
def control(request):
    """A controller checks a plate: registered or not, of which département, and which
    ADS it currently replaces."""
    ensure_controller(request.user)
    plate = request.GET.get("immatriculation", "").strip()[:20]
    context = {"plate": plate}
    if plate:
        canonical = normalize_plate(plate)
        context["canonical"] = canonical
        context["valid"] = is_full_plate(plate)
        vehicle = (
            Vehicle.objects.live()
            .filter(plate=canonical)
            .select_related("departement", "owner", "commune")
            .first()
        )
        context["vehicle"] = vehicle
        if vehicle is not None:
            context["use"] = current_use(vehicle)
    return render(request, "relais/control.html", context)
