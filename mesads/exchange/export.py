"""Exports of the register as spreadsheets (CSV, XLSX): one row per ADS, in ``columns.py``'s
format, shared with the import.

Exports stream, whatever their size: ADS and drivers are read by two server-side cursors
sorted the same way and merged here, so memory stays flat and the number of queries does
not grow with the rows; CSV pieces are yielded as they are made, the XLSX is compressed
into its archive row by row (``xlsx.py``). Rows are read as tuples (``values_list``), not
model instances: building seven objects per ADS would cost more than the whole export.
Everything is read in one transaction, so that the two cursors, the driver count that
sizes the header and the authorities sheet see the same register.
"""

import contextlib
import csv
import datetime
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Count, Max, Model, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from mesads.ads.models import ADS, Driver, attestation_due_q, certified_q
from mesads.authorities.models import Authority
from mesads.geo.models import Departement

from . import xlsx
from .columns import (
    ADS_COLUMNS,
    AUTHORITY_COLUMNS,
    DRIVER_COLUMNS,
    STATUS_COLUMNS,
    Column,
    Kind,
    escape_formula,
    headers,
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# French Excel reads a CSV as Windows-1252 unless it starts with a byte order mark.
BOM = "\ufeff"
YES, NO = "Oui", "Non"
CHUNK_SIZE = 2000
PROGRESS_EVERY = 10_000

# The order of the rows: by authority (name, then id: two communes may share a name), then
# by ADS number as people sort it. The drivers' cursor follows the same order so that the
# two can be merged in one pass; the ADS's pk ends the key, which makes it total.
ADS_ORDER = ("authority__name", "authority_id", "number_sort_key", "pk")
DRIVER_ORDER = (*(f"ads__{key}" for key in ADS_ORDER), "pk")

# Columns whose value is computed from several database fields, and those fields.
AUTHORITY_CODE_FIELDS = ("commune__insee_code", "epci__siren", "prefecture__code", "airport__code")
DERIVED_INPUTS = {
    "authority.code": tuple(f"authority__{field}" for field in AUTHORITY_CODE_FIELDS),
    "attestation_status": ("attested_at",),
    "certification_status": ("certified_at", "substantive_change_at"),
}


@dataclass(frozen=True)
class Scope:
    """What one export covers: its live ADS and, for a workbook, the authorities sheet."""

    title: str
    filename: str  # without extension nor date
    ads: QuerySet
    authorities: QuerySet | None = None

    def dated_filename(self, extension: str, today: datetime.date | None = None) -> str:
        return f"{self.filename}-{(today or timezone.localdate()):%Y-%m-%d}.{extension}"


def authority_scope(authority: Authority) -> Scope:
    return Scope(
        title=authority.name,
        filename=slugify(f"ads {authority.name} {authority.code}"),
        ads=ADS.objects.live().filter(authority=authority),
    )


def departement_scope(departement: Departement, readable: QuerySet) -> Scope:
    """``readable``: the authorities the user may read (``Authority.objects.readable_by``)."""
    authorities = readable.filter(departement=departement)
    return Scope(
        title=f"{departement.name} ({departement.code})",
        filename=slugify(f"ads departement {departement.code}"),
        ads=ADS.objects.live().filter(authority__in=authorities.values("pk")),
        authorities=authorities,
    )


def national_scope() -> Scope:
    return Scope(
        title="France entière",
        filename="ads-france",
        ads=ADS.objects.live(),
        authorities=Authority.objects.all(),
    )


@contextlib.contextmanager
def snapshot() -> Iterator[None]:
    """One consistent, read-only view of the register for the whole export.

    On PostgreSQL, REPEATABLE READ gives both cursors the same snapshot: an ADS saved with
    its drivers between the two queries must not leave a driver without its ADS, which the
    one-pass merge could not place. Inside a caller's transaction, that one is used.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# --- cells ------------------------------------------------------------------------------


def authority_code(
    commune: str | None, epci: str | None, prefecture: str | None, airport: str | None
) -> str:
    """``Authority.code`` from the values of a row, in the same order of precedence."""
    return commune or epci or prefecture or airport or ""


def french_date(day: datetime.date | None) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}" if day else ""


_EXCEL_EPOCH = datetime.date(1899, 12, 30).toordinal()


def excel_date(day: datetime.date | None) -> int | None:
    """The day as Excel stores it (days since 30 December 1899), shown as dd/mm/yyyy."""
    return day.toordinal() - _EXCEL_EPOCH if day else None


def _model_field(model: type[Model], path: str):
    *relations, name = path.split(".")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


Cell = Callable[[tuple], Any]


def _compile(
    columns: list[Column],
    model: type[Model],
    lookups: list[str],
    derived: dict[str, Callable[..., str]],
    text: Callable[[str], str],
    date: Callable[[datetime.date | None], Any],
) -> list[Cell]:
    """One function per column, from a database row to the cell's value.

    ``lookups`` collects the ``values_list`` fields the cells read, by position.
    """

    def position(lookup: str) -> int:
        if lookup not in lookups:
            lookups.append(lookup)
        return lookups.index(lookup)

    def text_cell(get: Callable[[tuple], Any]) -> Cell:
        return lambda row: text(str(value)) if (value := get(row)) else ""

    cells: list[Cell] = []
    for column in columns:
        if column.field in derived:
            compute = derived[column.field]
            getter = itemgetter(*(position(f) for f in DERIVED_INPUTS[column.field]))
            if len(DERIVED_INPUTS[column.field]) == 1:
                cells.append(text_cell(lambda row, c=compute, g=getter: c(g(row))))
            else:
                cells.append(text_cell(lambda row, c=compute, g=getter: c(*g(row))))
            continue
        get = itemgetter(position(column.field.replace(".", "__")))
        if column.kind is Kind.TEXT:
            cells.append(text_cell(get))
        elif column.kind is Kind.CHOICE:
            labels = {k: str(v) for k, v in _model_field(model, column.field).flatchoices}
            cells.append(lambda row, g=get, labels=labels: labels.get(g(row), g(row) or ""))
        elif column.kind is Kind.DATE:
            cells.append(lambda row, g=get: date(g(row)))
        elif column.kind is Kind.BOOL:
            cells.append(lambda row, g=get: YES if g(row) else NO)
        elif column.kind is Kind.NULL_BOOL:
            cells.append(lambda row, g=get: "" if g(row) is None else YES if g(row) else NO)
        else:  # pragma: no cover - a new Kind must be taught to the export
            raise ValueError(f"Type de colonne inconnu : {column.kind}")
    return cells


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[list]
    date_columns: list[int]  # positions of the date cells
    count: int = 0  # rows read so far


def driver_blocks(ads: QuerySet) -> int:
    """The number of driver column blocks: the most drivers of one ADS, at least one."""
    most = ads.order_by().annotate(driver_count=Count("drivers")).aggregate(m=Max("driver_count"))
    return max(most["m"] or 0, 1)


def ads_table(
    scope: Scope,
    *,
    text: Callable[[str], str],
    date: Callable[[datetime.date | None], Any],
    progress: Callable[[int], None] | None = None,
) -> Table:
    """The ADS sheet: its headers, and its rows as a lazy iterator (three queries in all).

    ``text`` and ``date`` shape the cells for the format: CSV escapes formulas and writes
    dd/mm/yyyy; XLSX keeps the text and writes real dates.
    """
    # The model's properties decide the statuses: a throw-away instance, reused for every
    # row, lends them without building an object per row.
    probe = ADS()

    def attestation(attested_at: datetime.datetime | None) -> str:
        probe.attested_at = attested_at
        return probe.attestation_status

    def certification(certified_at, substantive_change_at) -> str:
        probe.certified_at, probe.substantive_change_at = certified_at, substantive_change_at
        return probe.certification_status

    derived = {
        "authority.code": authority_code,
        "attestation_status": attestation,
        "certification_status": certification,
    }
    ads_lookups = ["pk", "authority_id"]
    authority_cells = _compile(AUTHORITY_COLUMNS, ADS, ads_lookups, derived, text, date)
    ads_cells = _compile(ADS_COLUMNS + STATUS_COLUMNS, ADS, ads_lookups, derived, text, date)
    driver_lookups = ["ads_id"]
    driver_cells = _compile(DRIVER_COLUMNS, Driver, driver_lookups, {}, text, date)

    blocks = driver_blocks(scope.ads)
    ads_rows = (
        scope.ads.order_by(*ADS_ORDER).values_list(*ads_lookups).iterator(chunk_size=CHUNK_SIZE)
    )
    driver_rows = (
        Driver.objects.filter(ads__in=scope.ads.values("pk"))
        .order_by(*DRIVER_ORDER)
        .values_list(*driver_lookups)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    empty_block = [""] * len(DRIVER_COLUMNS)

    def rows() -> Iterator[list]:
        table.count = 0
        drivers = iter(driver_rows)
        driver = next(drivers, None)
        authority_id, authority_part = None, []
        for count, ads in enumerate(ads_rows, 1):
            if ads[1] != authority_id:  # rows come grouped by authority
                authority_id = ads[1]
                authority_part = [cell(ads) for cell in authority_cells]
            row = authority_part + [cell(ads) for cell in ads_cells]
            written = 0
            while driver is not None and driver[0] == ads[0]:
                row += [cell(driver) for cell in driver_cells]
                written += 1
                driver = next(drivers, None)
            row += empty_block * (blocks - written)
            table.count = count
            yield row
            if progress and count % PROGRESS_EVERY == 0:
                progress(count)

    kinds = [c.kind for c in AUTHORITY_COLUMNS + ADS_COLUMNS + STATUS_COLUMNS]
    kinds += [c.kind for c in DRIVER_COLUMNS] * blocks
    dates = [index for index, kind in enumerate(kinds) if kind is Kind.DATE]
    table = Table(headers(blocks), rows(), dates)
    return table


# --- the authorities sheet --------------------------------------------------------------

AUTHORITY_SHEET_HEADERS = [
    *(c.header for c in AUTHORITY_COLUMNS),
    "Déclaration",
    "Nombre d’ADS attendu",
    "Nombre d’ADS",
    "ADS complètes",
    "ADS complètes (%)",
    "ADS attestées",
    "ADS attestées (%)",
    "ADS certifiées",
    "ADS certifiées (%)",
]


def declaration(declares_no_ads: bool, delegated_to: str | None, ads_count: int) -> str:
    if declares_no_ads:
        return "Aucune ADS sur le territoire"
    if delegated_to:
        return f"Gestion déléguée à {delegated_to}"
    return "ADS déclarées" if ads_count else "Non renseignée"


def authority_rows(authorities: QuerySet, now: datetime.datetime | None = None) -> Iterator[list]:
    """Per authority: its counts and rates of complete, attested and certified ADS.

    Cells are text, integers, or rates between 0 and 1 (``None`` without ADS).
    """
    now = now or timezone.now()
    live = Q(ads__deleted_at__isnull=True)
    rows = (
        authorities.annotate(
            ads_count=Count("ads", filter=live),
            complete=Count("ads", filter=live & Q(ads__is_complete=True)),
            attested=Count("ads", filter=live & ~attestation_due_q(now, "ads__")),
            certified=Count("ads", filter=live & certified_q("ads__")),
        )
        .order_by("name", "pk")
        .values_list(
            "type",
            "name",
            *AUTHORITY_CODE_FIELDS,
            "departement__code",
            "declares_no_ads",
            "delegated_to__name",
            "expected_ads_count",
            "ads_count",
            "complete",
            "attested",
            "certified",
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )
    types = dict(Authority.Type.choices)
    for (
        kind,
        name,
        commune,
        epci,
        prefecture,
        airport,
        departement,
        declares_no_ads,
        delegated_to,
        expected,
        ads_count,
        complete,
        attested,
        certified,
    ) in rows:
        row: list[Any] = [
            str(types.get(kind, kind)),
            name,
            authority_code(commune, epci, prefecture, airport),
            departement or "",
            declaration(declares_no_ads, delegated_to, ads_count),
            expected,
            ads_count,
        ]
        for part in (complete, attested, certified):
            row += [part, part / ads_count if ads_count else None]
        yield row


# --- writers ----------------------------------------------------------------------------


def _csv_pieces(table: Table, separator: str) -> Iterator[bytes]:
    """The CSV in pieces of a thousand rows: few, large writes to the socket or the file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(table.headers)
    for count, line in enumerate(table.rows, 1):
        writer.writerow(line)
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def stream_csv(
    scope: Scope, separator: str = ";", progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The ADS of the scope as CSV, in UTF-8 with a byte order mark, piece by piece.

    Nothing is read before the first piece is asked for: a view returns at once.
    """
    with snapshot():
        yield from _csv_pieces(_csv_table(scope, progress), separator)


def write_csv(
    scope: Scope,
    output: IO[bytes],
    separator: str = ";",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the CSV to ``output``; returns the number of ADS."""
    with snapshot():
        table = _csv_table(scope, progress)
        for piece in _csv_pieces(table, separator):
            output.write(piece)
    return table.count


def _csv_table(scope: Scope, progress: Callable[[int], None] | None) -> Table:
    return ads_table(scope, text=escape_formula, date=french_date, progress=progress)


def write_xlsx(
    scope: Scope, output: IO[bytes] | str, progress: Callable[[int], None] | None = None
) -> int:
    """A workbook: the "ADS" sheet, and the "Gestionnaires" sheet when the scope has one.

    Returns the number of ADS. Dates are real dates shown as dd/mm/yyyy; rates are
    percentages; text is always text (see ``xlsx.py``).
    """
    sheets = ["ADS"] if scope.authorities is None else ["ADS", "Gestionnaires"]
    with snapshot(), xlsx.Workbook(output, sheets) as workbook:
        table = ads_table(scope, text=str, date=excel_date, progress=progress)
        workbook.write_sheet(
            table.headers, table.rows, dict.fromkeys(table.date_columns, xlsx.DATE)
        )
        if scope.authorities is not None:
            first_rate = AUTHORITY_SHEET_HEADERS.index("ADS complètes (%)")
            rates = range(first_rate, len(AUTHORITY_SHEET_HEADERS), 2)
            workbook.write_sheet(
                AUTHORITY_SHEET_HEADERS,
                authority_rows(scope.authorities),
                dict.fromkeys(rates, xlsx.PERCENT),
            )
    return table.count
