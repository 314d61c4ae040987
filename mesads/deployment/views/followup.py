"""« Suivi du déploiement »: the national tables by département and by prefecture, the
drill-down into one département's authorities, and their XLSX exports."""

from django.db.models import F
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from mesads.core.http import query_string_without
from mesads.core.pagination import paginate

from .. import exports, followup
from ..access import get_departement, staff_page
from ..forms import AuthorityFilterForm, DepartementFilterForm
from ..sorting import Column, Sorting

PAGE_SIZE = 50

DEPARTEMENT_COLUMNS = [
    Column("code", "Département", figure=False),
    Column("authorities", "Gestionnaires"),
    Column("declared_rate", "Ont déclaré"),
    Column("nothing", "Rien déclaré"),
    Column("managers", "Personnes ayant accès"),
    Column("never_logged_in", "Jamais connectées"),
    Column("dormant", "Pas vues depuis 6 mois"),
    Column("pending", "Demandes en attente"),
    Column("complete_rate", "Complétude"),
    Column("certified_rate", "Certification"),
]

PREFECTURE_COLUMNS = [
    Column("code", "Préfecture", figure=False),
    Column("agents", "Agents"),
    Column("memberships_pending", "Demandes d’agent en attente"),
    Column("pending", "Demandes d’accès en attente"),
    Column("oldest_pending_days", "Plus ancienne demande"),
    Column("decided", "Demandes décidées (12 mois)"),
    Column("median_decision_days", "Délai médian de décision"),
]

AUTHORITY_COLUMNS = [
    Column("name", "Gestionnaire", figure=False),
    Column("ads", "ADS"),
    Column("completude", "Complétude"),
    Column("certification", "Certification"),
    Column("acces", "Personnes ayant accès"),
    Column("jamais", "Jamais connectées"),
    Column("inactives", "Pas vues depuis 6 mois"),
    Column("attente", "Demandes en attente"),
]

# The database's order for each column, ascending; rates and ages without a value last
# whichever the direction. Ages sort by the request's date, the oldest being the longest.
AUTHORITY_ORDERINGS = {
    "name": (("name", "pk"), ("-name", "-pk")),
    "ads": (("ads_total", "name", "pk"), (F("ads_total").desc(), "name", "pk")),
    "completude": (
        (F("complete_rate").asc(nulls_last=True), "name", "pk"),
        (F("complete_rate").desc(nulls_last=True), "name", "pk"),
    ),
    "certification": (
        (F("certified_rate").asc(nulls_last=True), "name", "pk"),
        (F("certified_rate").desc(nulls_last=True), "name", "pk"),
    ),
    "acces": (("managers", "name", "pk"), (F("managers").desc(), "name", "pk")),
    "jamais": (("never_logged_in", "name", "pk"), (F("never_logged_in").desc(), "name", "pk")),
    "inactives": (("dormant", "name", "pk"), (F("dormant").desc(), "name", "pk")),
    "attente": (
        (F("oldest_pending").desc(nulls_last=True), "name", "pk"),
        (F("oldest_pending").asc(nulls_last=True), "name", "pk"),
    ),
}


def _value(row: followup.DepartementFigures, key: str):
    return getattr(row, key)


def _national_rows(request, columns) -> tuple[DepartementFilterForm, Sorting, list]:
    form = DepartementFilterForm(request.GET or None)
    sorting = Sorting(form.value("tri"), columns)
    rows = followup.shared_departement_figures()
    return form, sorting, sorting.sort_rows([row for row in rows if form.keep(row)], _value)


def _national(request, columns, template: str):
    form, sorting, rows = _national_rows(request, columns)
    return render(
        request,
        template,
        {
            "form": form,
            "rows": rows,
            "headers": sorting.headers(request.GET.urlencode()),
            "export_query": query_string_without(request),
        },
    )


@staff_page
def index(request):
    """Per département: declarations, accounts, requests, completeness, certification."""
    return _national(request, DEPARTEMENT_COLUMNS, "deployment/index.html")


@staff_page
def prefectures(request):
    """Per prefecture: its agents, the requests it has to decide and how fast it does."""
    return _national(request, PREFECTURE_COLUMNS, "deployment/prefectures.html")


@never_cache
@staff_page
def national_export(request):
    """Both national tables, filtered and sorted as the page that links here (the sort
    is that of the département table's columns, or of the prefectures')."""
    columns = {column.key: column for column in DEPARTEMENT_COLUMNS + PREFECTURE_COLUMNS}
    _, _, rows = _national_rows(request, list(columns.values()))
    return exports.departements_response(rows)


def _authorities(request, departement, now):
    form = AuthorityFilterForm(request.GET or None)
    sorting = Sorting(form.value("tri"), AUTHORITY_COLUMNS)
    ascending, descending = AUTHORITY_ORDERINGS[sorting.key]
    ordering = descending if sorting.descending else ascending
    return form, sorting, ordering, form.apply(followup.authority_table(departement, now))


@staff_page
def departement(request, code: str):
    """One département's authorities, with the same figures, sorted and paginated."""
    departement = get_departement(code)
    now = timezone.now()
    form, sorting, ordering, authorities = _authorities(request, departement, now)
    # The name order seeks in the index; the figures are computed for every authority of
    # the département to be sorted, so an offset costs nothing more there.
    page = paginate(request, authorities, ordering, PAGE_SIZE, seek=sorting.key == "name")
    return render(
        request,
        "deployment/departement.html",
        {
            "departement": departement,
            "figures": followup.one_departement_figures(departement, now),
            "form": form,
            "page_obj": page,
            "query_string": query_string_without(request),
            "headers": sorting.headers(request.GET.urlencode()),
            "export_query": query_string_without(request),
        },
    )


@never_cache
@staff_page
def departement_export(request, code: str):
    departement = get_departement(code)
    now = timezone.now()
    _, _, ordering, authorities = _authorities(request, departement, now)
    return exports.authorities_response(departement, authorities.order_by(*ordering), now)
