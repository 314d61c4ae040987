"""A prefecture imports its existing register of relay taxis: upload, preview (every row
checked, errors by line and column), then confirm to write all rows at once.

The preview's rows travel to the confirmation signed (``django.core.signing``: the
prefecture cannot alter them between the two steps) and are checked again before the
write, in one transaction."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from dsfr.forms import DsfrBaseForm

from mesads.exchange.parsing import FileRefused

from .. import importing
from ..access import get_departement_for_prefecture

SALT = "mesads.relais.import"
MAX_AGE = 3600


class UploadForm(DsfrBaseForm):
    file = forms.FileField(
        label="Fichier du registre",
        help_text="Tableur XLSX ou CSV, une ligne par véhicule, avec les colonnes : "
        + ", ".join(header for header, _ in importing.COLUMNS.values())
        + ".",
    )


def _payload(departement, user, rows) -> str:
    return signing.dumps(
        {"d": departement.pk, "u": user.pk, "rows": rows}, salt=SALT, compress=True
    )


@login_required
def prefecture_import(request, code: str):
    departement = get_departement_for_prefecture(request.user, code)
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "departement": departement}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows, errors = importing.read_rows(upload, upload.name)
        except FileRefused as error:
            form.add_error("file", str(error))
            return render(request, "relais/prefecture_import.html", context, status=400)
        if not errors:
            built, errors = importing.check(rows, departement)
            context["count"] = len(built)
            context["new_owners"] = len({o.siret for o, _, _ in built if o.pk is None})
        context["errors"] = errors
        if not errors:
            context["payload"] = _payload(departement, request.user, rows)
    return render(request, "relais/prefecture_import.html", context)


@login_required
@require_POST
def prefecture_import_confirm(request, code: str):
    departement = get_departement_for_prefecture(request.user, code)
    try:
        data = signing.loads(request.POST.get("payload", ""), salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        messages.error(
            request, "L’aperçu a expiré ou n’est pas valide : envoyez de nouveau le fichier."
        )
        return redirect("relais:prefecture_import", departement.code)
    if data["d"] != departement.pk or data["u"] != request.user.pk:
        messages.error(request, "Cet aperçu ne correspond pas à ce département.")
        return redirect("relais:prefecture_import", departement.code)
    try:
        count = importing.write(data["rows"], departement, request.user)
    except ValueError as error:
        return render(
            request,
            "relais/prefecture_import.html",
            {"form": UploadForm(), "departement": departement, "errors": error.args[0]},
            status=409,
        )
    messages.success(request, f"{count} véhicule(s) importé(s) dans le registre du département.")
    return redirect("relais:prefecture_register", departement.code)
