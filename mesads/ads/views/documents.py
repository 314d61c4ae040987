"""Legal documents: decrees of an ADS, and the authority's decree fixing the number of ADS.

Files are only served here, after the access check: never from a public media URL.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from ..access import (
    get_ads_for_user,
    get_authority_for_user,
    get_decree_for_user,
    get_document_for_user,
)
from ..document_forms import ADSDocumentForm, AuthorityDecreeForm
from ..documents import (
    DocumentNotStored,
    add_ads_document,
    add_authority_decree,
    content_type_of,
    delete_ads_document,
)
from ..models import ADSDocument


def _download(instance: models.Model) -> FileResponse:
    response = FileResponse(
        instance.file.open("rb"),
        as_attachment=True,
        filename=instance.original_name,
        content_type=content_type_of(instance.file.name),
    )
    # Decrees name people: no shared cache may keep a copy.
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
def document_create(request, ads_id: int):
    ads = get_ads_for_user(request.user, ads_id, write=True)
    # « Déposer l’arrêté signé » from a prepared decree says which kind it is (?type=).
    kind = request.GET.get("type")
    initial = {"kind": kind} if kind in ADSDocument.Kind.values else {}
    form = ADSDocumentForm(request.POST or None, request.FILES or None, ads=ads, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            document = add_ads_document(form.instance, form.cleaned_data["file"], request.user)
        except DocumentNotStored as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, f"Le document « {document.original_name} » a été déposé.")
            return redirect("ads:detail", ads.pk)
    return render(
        request,
        "ads/document_form.html",
        {"ads": ads, "authority": ads.authority, "form": form},
    )


@login_required
@require_safe
def document_download(request, document_id: int):
    return _download(get_document_for_user(request.user, document_id))


@login_required
def document_delete(request, document_id: int):
    document = get_document_for_user(request.user, document_id, write=True)
    ads = document.ads
    if request.method == "POST":
        delete_ads_document(document, request.user)
        messages.success(request, f"Le document « {document.original_name} » a été supprimé.")
        return redirect("ads:detail", ads.pk)
    return render(
        request,
        "ads/document_confirm_delete.html",
        {"document": document, "ads": ads, "authority": ads.authority},
    )


@login_required
def decree_create(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, write=True)
    form = AuthorityDecreeForm(request.POST or None, request.FILES or None, authority=authority)
    if request.method == "POST" and form.is_valid():
        try:
            decree = add_authority_decree(form.instance, form.cleaned_data["file"], request.user)
        except DocumentNotStored as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, f"L’arrêté du {decree.date:%d/%m/%Y} a été déposé.")
            return redirect("ads:authority", authority.pk)
    return render(request, "ads/decree_form.html", {"authority": authority, "form": form})


@login_required
@require_safe
def decree_download(request, decree_id: int):
    return _download(get_decree_for_user(request.user, decree_id))
