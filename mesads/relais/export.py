"""The relay taxis' register as CSV (public: no personal data beyond the owner's public
contact) and, for prefectures, as CSV or XLSX with the status. Rows are read as tuples
through a server-side cursor (``iterator``) and written piece by piece: memory stays flat
and the query count does not grow with the rows. Text is escaped against formulas
(``mesads.exchange.columns.escape_formula``) in the CSV; the XLSX writes text as text."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from django.db.models import QuerySet

from mesads.exchange import xlsx
from mesads.exchange.columns import escape_formula
from mesads.exchange.export import BOM

from .models import Vehicle

ENGINES = dict(Vehicle.Engine.choices)
STATUSES = dict(Vehicle.Status.choices)

# (header, field): what the public register shows, and nothing else.
PUBLIC_COLUMNS = [
    ("Numéro", "number"),
    ("Département", "departement__code"),
    ("Immatriculation", "plate"),
    ("Marque", "make"),
    ("Modèle", "model"),
    ("Motorisation", "engine"),
    ("Places passagers", "seats"),
    ("Accessible en fauteuil roulant", "wheelchair_accessible"),
    ("Commune (code INSEE)", "commune__insee_code"),
    ("Commune", "commune__name"),
    ("Propriétaire", "owner__name"),
    ("Téléphone du propriétaire", "owner__phone"),
    ("Courriel du propriétaire", "owner__email"),
]
PREFECTURE_COLUMNS = [
    *PUBLIC_COLUMNS,
    ("SIRET du propriétaire", "owner__siret"),
    ("Adresse du propriétaire", "owner__address"),
    ("Date de première immatriculation", "first_registration_date"),
    ("Statut", "status"),
    ("Motif", "status_reason"),
    ("Inscrit le", "created_at"),
]


def _rows(vehicles: QuerySet, columns: list, text) -> Iterator[list]:
    fields = [field for _, field in columns]
    for values in (
        vehicles.order_by("departement__code", "sequence")
        .values_list(*fields)
        .iterator(chunk_size=2000)
    ):
        row = []
        for field, value in zip(fields, values, strict=True):
            if field == "engine":
                value = ENGINES.get(value, value)
            elif field == "status":
                value = STATUSES.get(value, value)
            elif field == "wheelchair_accessible":
                value = "Oui" if value else "Non"
            elif field == "first_registration_date":
                value = value.strftime("%d/%m/%Y") if value else ""
            elif field == "created_at":
                value = value.strftime("%d/%m/%Y") if value else ""
            row.append(text(value) if isinstance(value, str) else value)
        yield row


def stream_csv(vehicles: QuerySet, columns: list = PUBLIC_COLUMNS) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([header for header, _ in columns])
    for count, row in enumerate(_rows(vehicles, columns, escape_formula), 1):
        writer.writerow(row)
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def write_xlsx(
    vehicles: QuerySet, output: IO[bytes], columns: Iterable = PREFECTURE_COLUMNS
) -> int:
    columns = list(columns)
    with xlsx.Workbook(output, ["Taxis relais"]) as workbook:
        return workbook.write_sheet([h for h, _ in columns], _rows(vehicles, columns, str))


# --- open data --------------------------------------------------------------------------

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "taxis-relais.json"
OPEN_DATA_FIELDS = [
    "number",
    "departement__code",
    "plate",
    "make",
    "model",
    "engine",
    "seats",
    "wheelchair_accessible",
    "commune__insee_code",
    "owner__name",
    "owner__phone",
    "owner__email",
]


def open_data_csv(vehicles: QuerySet) -> Iterator[bytes]:
    """The national open-data file (``schemas/taxis-relais.json``): values as stored, for
    programs (engine codes, true/false), comma-separated UTF-8 without byte order mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(field["name"] for field in json.loads(SCHEMA_PATH.read_text())["fields"])
    rows = (
        vehicles.order_by("departement__code", "sequence")
        .values_list(*OPEN_DATA_FIELDS)
        .iterator(chunk_size=2000)
    )
    for count, row in enumerate(rows, 1):
        row = list(row)
        row[7] = "true" if row[7] else "false"
        writer.writerow(row)
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
