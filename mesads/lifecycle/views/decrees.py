"""Decrees prepared from the register: the page of a decree, its .docx download, and the
authority's decree fixing the number of ADS. Preparing a decree is the manager's act:
read-only roles get a 403, another authority's ADS a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from mesads.ads.access import get_ads_for_user, get_authority_for_user
from mesads.ads.models import ADS, ADSDocument

from .. import decrees
from ..access import ensure_staff
from ..forms import CountDecreeForm
from ..models import Transfer

# The kind of the ADS's documents under which the signed decree is filed.
DOCUMENT_KINDS = {
    decrees.Kind.ATTRIBUTION: ADSDocument.Kind.ATTRIBUTION,
    decrees.Kind.RENEWAL: ADSDocument.Kind.RENEWAL,
    decrees.Kind.TRANSFER: ADSDocument.Kind.TRANSFER,
    decrees.Kind.WITHDRAWAL: ADSDocument.Kind.WITHDRAWAL,
}


def _docx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=decrees.DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # A decree names its holder: no shared cache may keep a copy.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _decree(user, ads_id: int, kind: str):
    """The ADS (writable by the user), the decree kind, why it does not apply (or None)
    and, for a transfer, the transfer it acts."""
    ads = get_ads_for_user(user, ads_id, write=True)
    decree = decrees.ADS_KINDS.get(kind)
    if decree is None:
        raise Http404("Type d’arrêté inconnu.")
    refusal = decree.refusal(ads)
    transfer = None
    if kind == decrees.Kind.TRANSFER and refusal is None:
        transfer = Transfer.objects.filter(ads=ads).order_by("-date", "-pk").first()
        if transfer is None:
            refusal = (
                "Aucune cession de cette ADS n’est inscrite au registre des transactions : "
                "enregistrez d’abord la cession, l’arrêté reprendra le cédant, le "
                "cessionnaire et la date."
            )
    return ads, decree, refusal, transfer


@login_required
@require_safe
def ads_decree(request, ads_id: int, kind: str):
    ads, decree, refusal, transfer = _decree(request.user, ads_id, kind)
    return render(
        request,
        "lifecycle/ads_decree.html",
        {
            "ads": ads,
            "authority": ads.authority,
            "decree": decree,
            "kind_label": decrees.Kind(kind).label,
            "refusal": refusal,
            "transfer": transfer,
            "context": None if refusal else decrees.ads_context(ads, transfer),
            "document_kind": DOCUMENT_KINDS[kind],
        },
    )


@login_required
@require_safe
def ads_decree_docx(request, ads_id: int, kind: str):
    ads, decree, refusal, transfer = _decree(request.user, ads_id, kind)
    if refusal:
        messages.error(request, refusal)
        return redirect("lifecycle:ads_decree", ads.pk, kind)
    data = decrees.render_ads_decree(ads, kind, transfer)
    return _docx_response(data, decrees.filename(kind, f"ads-{ads.number}"))


@login_required
@require_safe
def authority_count_decree(request, authority_id: int):
    """The decree fixing the number of ADS: a form (the number, proposed from the
    register) that downloads the filled-in decree when sent."""
    authority = get_authority_for_user(request.user, authority_id, write=True)
    live = ADS.objects.live().filter(authority=authority).count()
    form = CountDecreeForm(request.GET or None, initial={"count": live})
    if form.is_bound and form.is_valid():
        data = decrees.render_count_decree(authority, form.cleaned_data["count"])
        return _docx_response(data, decrees.filename("nombre-ads", authority.name))
    return render(
        request,
        "lifecycle/count_decree.html",
        {"authority": authority, "form": form, "live": live},
    )


@login_required
@require_safe
def shipped_template(request, kind: str):
    """National staff: the template the project ships, to start their own from."""
    ensure_staff(request.user)
    if kind not in decrees.Kind.values:
        raise Http404("Type d’arrêté inconnu.")
    return FileResponse(
        decrees.shipped_template(kind).open("rb"),
        as_attachment=True,
        filename=f"modele-{kind}.docx",
        content_type=decrees.DOCX_CONTENT_TYPE,
    )
