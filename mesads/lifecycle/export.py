"""The register of transfers as a spreadsheet (XLSX), through the exports' streaming
writer (``mesads.exchange.xlsx``): rows read as tuples by one cursor, dates as real dates,
prices as numbers, and text a spreadsheet would take for a formula kept as text."""

from typing import IO

from django.db.models import QuerySet

from mesads.exchange import xlsx
from mesads.exchange.export import XLSX_CONTENT_TYPE, authority_code, excel_date

from .models import Transfer

__all__ = ["HEADERS", "XLSX_CONTENT_TYPE", "write_transfers_xlsx"]

HEADERS = [
    "Date de la cession",
    "Gestionnaire",
    "Code du gestionnaire",
    "Département",
    "Numéro de l’ADS",
    "Cédant",
    "SIRET du cédant",
    "Cessionnaire",
    "SIRET du cessionnaire",
    "Prix déclaré (€)",
    "Exception au délai (article L. 3121-3)",
]
FIELDS = (
    "date",
    "authority__name",
    "authority__commune__insee_code",
    "authority__epci__siren",
    "authority__prefecture__code",
    "authority__airport__code",
    "authority__departement__code",
    "ads__number",
    "seller_name",
    "seller_siret",
    "buyer_name",
    "buyer_siret",
    "price",
    "exception",
)
WIDTHS = [14, 30, 12, 8, 12, 30, 16, 30, 16, 14, 40]
EXCEPTIONS = dict(Transfer.HoldingException.choices)


def _rows(transfers: QuerySet):
    for row in transfers.values_list(*FIELDS).iterator(chunk_size=2000):
        (day, name, commune, epci, prefecture, airport, departement, number) = row[:8]
        seller, seller_siret, buyer, buyer_siret, price, exception = row[8:]
        yield [
            excel_date(day),
            name,
            authority_code(commune, epci, prefecture, airport),
            departement or "",
            number,
            seller,
            seller_siret,
            buyer,
            buyer_siret,
            float(price),
            EXCEPTIONS.get(exception, ""),
        ]


def write_transfers_xlsx(transfers: QuerySet, output: IO[bytes]) -> int:
    """Writes the transfers, in the queryset's order; returns how many."""
    with xlsx.Workbook(output, ["Cessions"]) as workbook:
        return workbook.write_sheet(HEADERS, _rows(transfers), {0: xlsx.DATE}, WIDTHS)
