"""The register of transfers (old-regime ADS only): recording a transfer on an ADS, the
register of an authority and of a département, their XLSX export, and the national
indicator of declared prices (figures only)."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from mesads.ads.access import can_write, get_ads_for_user, get_authority_for_user
from mesads.core.pagination import paginate

from .. import decrees, export
from ..access import ensure_staff, get_departement_for_user
from ..forms import TransferForm
from ..models import HOLDING_YEARS, HOLDING_YEARS_AFTER_TRANSFER, Transfer, holding_end
from ..services import record_transfer

PAGE_SIZE = 50
REGISTER_ORDER = ("-date", "-pk")
REGISTER_FIELDS = (
    "date",
    "seller_name",
    "buyer_name",
    "price",
    "exception",
    "ads",
    "ads__number",
    "authority",
    "authority__name",
)


@login_required
def transfer_create(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    refusal = decrees.ADS_KINDS[decrees.Kind.TRANSFER].refusal(ads)
    form = TransferForm(request.POST or None, ads=ads)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = record_transfer(form.instance, request.user)
        except ValidationError as error:  # the locked row says otherwise (a change meanwhile)
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"La cession de l’ADS n° {ads.number} à {transfer.buyer_name} est inscrite au "
                "registre ; le titulaire et la date d’attribution sont mis à jour. Préparez "
                "l’arrêté de transfert ci-dessous.",
            )
            return redirect("lifecycle:ads_decree", ads.pk, decrees.Kind.TRANSFER)
    last = ads.transfers.order_by("-date").values_list("date", flat=True).first()
    return render(
        request,
        "lifecycle/transfer_form.html",
        {
            "ads": ads,
            "authority": ads.authority,
            "form": form,
            "refusal": refusal,
            "holding_end": None if refusal else holding_end(ads, last),
            "holding_years": HOLDING_YEARS_AFTER_TRANSFER if last else HOLDING_YEARS,
            "last_transfer": last,
        },
    )


def _register(request, transfers, template: str, context: dict):
    transfers = transfers.select_related("ads", "authority").only(*REGISTER_FIELDS)
    page = paginate(request, transfers, REGISTER_ORDER, PAGE_SIZE)
    return render(request, template, {**context, "page_obj": page})


def _xlsx(transfers, name: str) -> FileResponse:
    # A zip is complete only at its end: written to a temporary file, then streamed.
    output = tempfile.TemporaryFile()
    try:
        export.write_transfers_xlsx(transfers.order_by(*REGISTER_ORDER), output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    response = FileResponse(
        output,
        as_attachment=True,
        filename=f"cessions-{slugify(name)}-{timezone.localdate():%Y-%m-%d}.xlsx",
        content_type=export.XLSX_CONTENT_TYPE,
    )
    # Names and prices: no shared cache may keep a copy.
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_safe
def authority_transfers(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, related=())
    return _register(
        request,
        Transfer.objects.of_authority(authority),
        "lifecycle/authority_transfers.html",
        {"authority": authority, "can_write": can_write(request.user, authority)},
    )


@login_required
@require_safe
def authority_transfers_export(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, related=())
    return _xlsx(Transfer.objects.of_authority(authority), authority.name)


@login_required
@require_safe
def departement_transfers(request, code: str):
    departement = get_departement_for_user(request.user, code)
    return _register(
        request,
        Transfer.objects.of_departement(departement.pk),
        "lifecycle/departement_transfers.html",
        {"departement": departement},
    )


@login_required
@require_safe
def departement_transfers_export(request, code: str):
    departement = get_departement_for_user(request.user, code)
    return _xlsx(Transfer.objects.of_departement(departement.pk), departement.code)


@login_required
@require_safe
def transfer_prices(request):
    """National staff: the median declared price of transfers by département."""
    ensure_staff(request.user)
    rows = Transfer.objects.median_prices_by_departement()
    return render(request, "lifecycle/transfer_prices.html", {"rows": rows})
