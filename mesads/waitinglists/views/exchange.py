"""A waiting list in and out of spreadsheets: the manager's import (all or nothing) and
the full export (personal data: readers of the register only)."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mesads.ads.access import get_authority_for_user

from .. import spreadsheets
from ..forms import ImportForm


@login_required
def list_import(request, authority_id: int):
    authority = get_authority_for_user(request.user, authority_id, write=True, related=())
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["import_file"]
        result = spreadsheets.Importer(authority, upload, upload.name).run(request.user)
        if result.ok:
            messages.success(
                request,
                f"{len(result.created)} demande(s) importée(s) sur la liste d’attente."
                + (
                    f" {result.skipped} ligne(s) de demandes attribuées ou radiées ignorée(s)."
                    if result.skipped
                    else ""
                ),
            )
            for line, card, names in result.warnings:
                messages.warning(
                    request,
                    f"Ligne {line} : la carte professionnelle n° {card} figure aussi sur la "
                    f"liste d’attente de : {', '.join(names)}.",
                )
            return redirect("waitinglists:list", authority.pk)
    return render(
        request,
        "waitinglists/list_import.html",
        {
            "authority": authority,
            "form": form,
            "result": result,
            "headers": [column.header for column in spreadsheets.COLUMNS],
            "required": [column.header for column in spreadsheets.COLUMNS if column.required],
        },
    )


@login_required
@require_GET
@never_cache
def list_export(request, authority_id: int, export_format: str):
    authority = get_authority_for_user(
        request.user, authority_id, related=("commune", "epci", "prefecture", "airport")
    )
    if export_format == "csv":
        response = HttpResponse(
            spreadsheets.export_csv(authority), content_type=spreadsheets.CSV_CONTENT_TYPE
        )
        response["Content-Disposition"] = content_disposition_header(
            True, spreadsheets.filename(authority, "csv")
        )
        return response
    if export_format != "xlsx":
        raise Http404
    output = tempfile.TemporaryFile()
    try:
        spreadsheets.export_xlsx(authority, output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    return FileResponse(
        output,
        as_attachment=True,
        filename=spreadsheets.filename(authority, "xlsx"),
        content_type=spreadsheets.XLSX_CONTENT_TYPE,
    )
