"""The activity page: active users, changes of ADS and imports, per month and per
département, and its XLSX export."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from mesads.core.http import query_string_without

from .. import activity, exports
from ..access import staff_page
from ..forms import ActivityFilterForm
from ..sorting import Column, Sorting

DEPARTEMENT_COLUMNS = [
    Column("code", "Département", figure=False),
    Column("managers", "Gestionnaires actifs"),
    Column("agents", "Agents de préfecture actifs"),
    Column("changes", "Modifications d’ADS"),
    Column("import_changes", "dont par import"),
    Column("imports", "Imports"),
]


def _figures(request):
    form = ActivityFilterForm(request.GET or None)
    sorting = Sorting(form.value("tri"), DEPARTEMENT_COLUMNS)
    departement = form.value("departement")
    months = activity.by_month(form.months, departement)
    departements = sorting.sort_rows(
        activity.by_departement(form.months), lambda row, key: getattr(row, key)
    )
    return form, sorting, departement, months, departements


@staff_page
def activity_page(request):
    form, sorting, departement, months, departements = _figures(request)
    return render(
        request,
        "deployment/activity.html",
        {
            "form": form,
            "departement": departement,
            "months": months,
            "departements": departements,
            "totals": activity.national_totals(form.months),
            "headers": sorting.headers(request.GET.urlencode()),
            "export_query": query_string_without(request),
        },
    )


@never_cache
@staff_page
def activity_export(request):
    form, _, departement, months, departements = _figures(request)
    scope = departement.code if departement else "france"
    return exports.activity_response(months, departements, f"{scope} {form.months} mois")
