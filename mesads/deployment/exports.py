"""The follow-up's tables as XLSX workbooks, written by the register's own streaming
writer (``mesads.exchange.xlsx``): text is always text (a name starting with « = » is
never run as a formula), rates are percentages, figures are numbers.

Each export holds what its page shows, filtered and sorted the same way, but every row
(no pagination). The rows of a département's authorities are read with a cursor.
"""

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import FileResponse
from django.utils import timezone
from django.utils.text import slugify

from mesads.authorities.models import Authority
from mesads.exchange import xlsx
from mesads.exchange.export import XLSX_CONTENT_TYPE, authority_code

from .activity import DepartementRow, MonthRow
from .followup import DECLARATION_LABELS, DepartementFigures, age_in_days


@dataclass(frozen=True)
class Cell:
    header: str
    value: Callable[[Any], Any]
    style: int | None = None  # xlsx.PERCENT for rates


def _rate(part: str, total: str) -> Callable[[Any], float | None]:
    def value(row: Any) -> float | None:
        whole = getattr(row, total)
        return getattr(row, part) / whole if whole else None

    return value


def _write_sheet(workbook: xlsx.Workbook, cells: list[Cell], rows: Iterable[Any]) -> int:
    styles = {index: cell.style for index, cell in enumerate(cells) if cell.style is not None}
    return workbook.write_sheet(
        [cell.header for cell in cells],
        ([cell.value(row) for cell in cells] for row in rows),
        styles,
    )


DEPARTEMENT_CELLS = [
    Cell("Département", lambda row: row.code),
    Cell("Nom", lambda row: row.name),
    Cell("Gestionnaires", lambda row: row.authorities),
    Cell("Ont déclaré des ADS", lambda row: row.with_ads),
    Cell("Ont déclaré n’avoir aucune ADS", lambda row: row.no_ads),
    Cell("Délèguent à un EPCI", lambda row: row.delegates),
    Cell("N’ont rien déclaré", lambda row: row.nothing),
    Cell("Part des gestionnaires ayant déclaré", lambda row: row.declared_rate, xlsx.PERCENT),
    Cell("Personnes ayant accès (gestionnaires)", lambda row: row.managers),
    Cell("Comptes jamais connectés", lambda row: row.never_logged_in),
    Cell("Comptes pas vus depuis 6 mois", lambda row: row.dormant),
    Cell("Demandes d’accès en attente", lambda row: row.pending),
    Cell("Plus ancienne demande en attente (jours)", lambda row: row.oldest_pending_days),
    Cell("ADS", lambda row: row.ads_total),
    Cell("ADS complètes", lambda row: row.ads_complete),
    Cell("Taux de complétude", lambda row: row.complete_rate, xlsx.PERCENT),
    Cell("ADS certifiées", lambda row: row.ads_certified),
    Cell("Taux de certification", lambda row: row.certified_rate, xlsx.PERCENT),
]

PREFECTURE_CELLS = [
    Cell("Département", lambda row: row.code),
    Cell("Préfecture", lambda row: row.name),
    Cell("Agents", lambda row: row.agents),
    Cell("Demandes d’agent en attente", lambda row: row.memberships_pending),
    Cell("Demandes d’accès en attente", lambda row: row.pending),
    Cell("Plus ancienne demande en attente (jours)", lambda row: row.oldest_pending_days),
    Cell("Demandes décidées (12 mois)", lambda row: row.decided),
    Cell("Acceptées", lambda row: row.accepted),
    Cell("Refusées", lambda row: row.refused),
    Cell("Délai médian de décision (jours)", lambda row: row.median_decision_days),
]


def _authority_cells(now) -> list[Cell]:
    types = dict(Authority.Type.choices)
    return [
        Cell("Gestionnaire", lambda a: a.name),
        Cell("Type", lambda a: str(types.get(a.type, a.type))),
        Cell(
            "Code INSEE ou SIREN",
            lambda a: authority_code(
                a.commune and a.commune.insee_code,
                a.epci and a.epci.siren,
                a.prefecture and a.prefecture.code,
                a.airport and a.airport.code,
            ),
        ),
        Cell("Déclaration", lambda a: str(DECLARATION_LABELS[a.declaration])),
        Cell("Délègue à", lambda a: a.delegated_to.name if a.delegated_to else ""),
        Cell("Nombre d’ADS attendu", lambda a: a.expected_ads_count),
        Cell("ADS", lambda a: a.ads_total),
        Cell("Taux de complétude", _rate("ads_complete", "ads_total"), xlsx.PERCENT),
        Cell("Taux de certification", _rate("ads_certified", "ads_total"), xlsx.PERCENT),
        Cell("Personnes ayant accès", lambda a: a.managers),
        Cell("Comptes jamais connectés", lambda a: a.never_logged_in),
        Cell("Comptes pas vus depuis 6 mois", lambda a: a.dormant),
        Cell("Demandes d’accès en attente", lambda a: a.pending),
        Cell(
            "Plus ancienne demande en attente (jours)",
            lambda a: age_in_days(a.oldest_pending, now),
        ),
    ]


MONTH_CELLS = [
    Cell("Mois", lambda row: f"{row.month:%m/%Y}"),
    Cell("Utilisateurs actifs", lambda row: row.users),
    Cell("dont gestionnaires", lambda row: row.managers),
    Cell("dont agents de préfecture", lambda row: row.agents),
    Cell("Modifications d’ADS", lambda row: row.changes),
    Cell("dont par import", lambda row: row.import_changes),
    Cell("Imports", lambda row: row.imports),
]

ACTIVITY_DEPARTEMENT_CELLS = [
    Cell("Département", lambda row: row.code),
    Cell("Nom", lambda row: row.name),
    Cell("Gestionnaires actifs", lambda row: row.managers),
    Cell("Agents de préfecture actifs", lambda row: row.agents),
    Cell("Modifications d’ADS", lambda row: row.changes),
    Cell("dont par import", lambda row: row.import_changes),
    Cell("Imports", lambda row: row.imports),
]


def xlsx_response(filename: str, write: Callable[[Any], None]) -> FileResponse:
    """A zip archive is complete only at its end: the workbook goes to a temporary file
    (deleted once sent), then is streamed."""
    output = tempfile.TemporaryFile()
    try:
        write(output)
    except BaseException:
        output.close()
        raise
    output.seek(0)
    dated = f"{filename}-{timezone.localdate():%Y-%m-%d}.xlsx"
    return FileResponse(output, as_attachment=True, filename=dated, content_type=XLSX_CONTENT_TYPE)


def departements_response(rows: list[DepartementFigures]) -> FileResponse:
    def write(output) -> None:
        with xlsx.Workbook(output, ["Départements", "Préfectures"]) as workbook:
            _write_sheet(workbook, DEPARTEMENT_CELLS, rows)
            _write_sheet(workbook, PREFECTURE_CELLS, rows)

    return xlsx_response("suivi-deploiement", write)


def authorities_response(departement, authorities, now) -> FileResponse:
    def write(output) -> None:
        with xlsx.Workbook(output, ["Gestionnaires"]) as workbook:
            _write_sheet(workbook, _authority_cells(now), authorities.iterator(chunk_size=2000))

    return xlsx_response(slugify(f"suivi deploiement {departement.code}"), write)


def activity_response(
    months: list[MonthRow], departements: list[DepartementRow], scope: str
) -> FileResponse:
    def write(output) -> None:
        with xlsx.Workbook(output, ["Par mois", "Par département"]) as workbook:
            _write_sheet(workbook, MONTH_CELLS, months)
            _write_sheet(workbook, ACTIVITY_DEPARTEMENT_CELLS, departements)

    return xlsx_response(slugify(f"activite {scope}"), write)
