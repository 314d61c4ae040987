from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from reversion.models import Version

from .. import services
from ..access import get_owner_for_member, get_vehicle_for_member
from ..forms import UseForm, VehicleForm, WithdrawForm
from ..models import Requirements, Vehicle
from ..receipt import receipt_pdf


def _requirements() -> dict[str, str]:
    """The départements' own requirements, by département id (shown on the form)."""
    return dict(Requirements.objects.exclude(text="").values_list("departement_id", "text"))


@login_required
def vehicle_create(request, owner_id: int):
    owner = get_owner_for_member(request.user, owner_id)
    form = VehicleForm(request.POST or None, instance=Vehicle(owner=owner))
    if request.method == "POST" and form.is_valid():
        vehicle = services.register_vehicle(form.instance, request.user)
        messages.success(
            request,
            f"Le véhicule {vehicle.plate} est inscrit sous le numéro {vehicle.number}. "
            "Imprimez son récépissé et gardez-le à bord.",
        )
        return redirect("relais:vehicle", vehicle.pk)
    requirements = (
        Requirements.objects.select_related("departement")
        .exclude(text="")
        .order_by("departement__code")
    )
    return render(
        request,
        "relais/vehicle_form.html",
        {"form": form, "owner": owner, "requirements": requirements},
    )


@login_required
def vehicle_detail(request, vehicle_id: int):
    vehicle = get_vehicle_for_member(request.user, vehicle_id)
    history = (
        Version.objects.get_for_object(vehicle)
        .select_related("revision__user")
        .order_by("-revision__date_created")
    )
    return render(
        request,
        "relais/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "owner": vehicle.owner,
            "history": history,
            "uses": vehicle.uses.select_related("ads__authority"),
            "requirements": Requirements.objects.filter(departement=vehicle.departement)
            .exclude(text="")
            .first(),
        },
    )


@login_required
def vehicle_edit(request, vehicle_id: int):
    vehicle = get_vehicle_for_member(request.user, vehicle_id, write=True)
    form = VehicleForm(request.POST or None, instance=vehicle)
    if request.method == "POST" and form.is_valid():
        services.update_vehicle(form.instance, request.user)
        messages.success(request, "Les modifications du véhicule sont enregistrées.")
        return redirect("relais:vehicle", vehicle.pk)
    return render(
        request,
        "relais/vehicle_form.html",
        {"form": form, "owner": vehicle.owner, "vehicle": vehicle},
    )


@login_required
def vehicle_withdraw(request, vehicle_id: int):
    vehicle = get_vehicle_for_member(request.user, vehicle_id, write=True)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.withdraw_vehicle(vehicle, request.user, form.cleaned_data["reason"])
        messages.success(
            request,
            f"Le véhicule n° {vehicle.number} est retiré du registre. Retirez ses autocollants.",
        )
        return redirect("relais:owner", vehicle.owner_id)
    return render(request, "relais/vehicle_withdraw.html", {"form": form, "vehicle": vehicle})


@login_required
def vehicle_receipt(request, vehicle_id: int):
    vehicle = get_vehicle_for_member(request.user, vehicle_id)
    if vehicle.status != Vehicle.Status.ACTIVE:
        return render(request, "relais/receipt_unavailable.html", {"vehicle": vehicle}, status=409)
    response = HttpResponse(
        receipt_pdf(vehicle, timezone.localdate()), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="recepisse-taxi-relais-{vehicle.number}.pdf"'
    )
    return response


@login_required
def use_create(request, vehicle_id: int):
    vehicle = get_vehicle_for_member(request.user, vehicle_id, write=True)
    form = UseForm(vehicle, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_use(form.instance, request.user)
        except services.OverlappingUse:
            form.add_error(
                None,
                "Ce taxi relais remplace déjà un autre taxi pendant une partie de cette période.",
            )
        else:
            messages.success(request, "L’utilisation du véhicule est enregistrée.")
            return redirect("relais:vehicle", vehicle.pk)
    return render(request, "relais/use_form.html", {"form": form, "vehicle": vehicle})
