"""A waiting list in and out of spreadsheets (XLSX, CSV).

Files are read by the register import's bounded readers (``mesads.exchange.parsing``:
size, rows, columns, XML and hostile archives) and written by its exports' writers
(``mesads.exchange.xlsx``, formula escaping of ``mesads.exchange.columns``).

An import is **all or nothing**, as the register's is: every row is checked first — the
model's rules, a number or a card already on the list or twice in the file — and if any
row is wrong nothing is written and every error is told with its line and column, in
French. Otherwise every application is created in one transaction and one revision.
"""

import csv
import datetime
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import reversion
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone
from django.utils.text import slugify

from mesads.authorities.models import Authority
from mesads.exchange import parsing, xlsx
from mesads.exchange.columns import escape_formula
from mesads.exchange.export import BOM, excel_date, french_date
from mesads.geo.models import Departement

from .models import Application, card_key

# A waiting list has a few hundred applications at most; far beyond, the file is not one.
MAX_ROWS = 5000


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool = False


COLUMNS = [
    Column("Numéro de la demande", "number"),
    Column("Date d’inscription", "registered_date", required=True),
    Column("Heure d’inscription", "registered_time"),
    Column("Nom et prénom du demandeur", "applicant_name", required=True),
    Column("Adresse électronique", "applicant_email"),
    Column("Téléphone", "applicant_phone"),
    Column("Adresse postale", "applicant_address"),
    Column("Numéro de carte professionnelle", "card_number", required=True),
    Column("Département de délivrance de la carte", "card_departement", required=True),
    Column("Date de délivrance de la carte", "card_date"),
    Column("Deux ans de conduite sur les cinq dernières années", "proves_driving_experience"),
    Column("Date du dernier renouvellement", "renewed_at"),
]
# Written by the export, ignored by the import.
RANK, VALID_UNTIL, STATE, ORDER_REASON, REMOVAL = (
    "Rang",
    "Valable jusqu’au",
    "État",
    "Ordre",
    "Précision",
)
EXPORT_HEADERS = [RANK, *(c.header for c in COLUMNS), VALID_UNTIL, STATE, ORDER_REASON, REMOVAL]
_KEYS = {parsing.simplify(c.header): c for c in COLUMNS}
_IGNORED = {parsing.simplify(h) for h in (RANK, VALID_UNTIL, STATE, ORDER_REASON, REMOVAL)}
# States of an exported row that are not an application in course: not imported.
_ACTIVE_STATES = {parsing.simplify(s) for s in ("", "Active", "À renouveler", "Expirée")}


def is_header(text: str) -> bool:
    key = parsing.simplify(text)
    return key in _KEYS or key in _IGNORED


# --- import -----------------------------------------------------------------------------


@dataclass
class Issue:
    line: int | None  # None: the whole file
    column: str
    message: str


@dataclass
class ImportResult:
    issues: list[Issue] = field(default_factory=list)
    created: list[Application] = field(default_factory=list)
    skipped: int = 0  # exported rows of applications no longer in course
    # (line, card number, names of the other authorities whose list has it)
    warnings: list[tuple[int, str, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


_TIME = re.compile(r"^(\d{1,2})\s*[:hH]\s*(\d{2})(?:\s*:\s*(\d{2}))?$")
_DATE_AND_TIME = re.compile(r"^(.+?)(?:\s+|T)(\d{1,2}\s*[:hH]\s*\d{2}(?:\s*:\s*\d{2})?)$")


def parse_time(value: Any) -> datetime.time | None:
    """``14:30``, ``14h30``, ``14:30:00``, or an Excel time (a fraction of a day)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.time):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 0 <= value < 1:
            seconds = round(value * 86400)
            return datetime.time(seconds // 3600, seconds % 3600 // 60)
        raise parsing.CellError(f"« {parsing.cell_text(value)} » n’est pas une heure (hh:mm).")
    text = parsing.cell_text(value)
    match = _TIME.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return datetime.time(hour, minute)
    raise parsing.CellError(
        f"« {text} » n’est pas une heure reconnue : écrivez-la hh:mm (par exemple 14:30)."
    )


def parse_registration(
    date_cell: Any, time_cell: Any, epoch: datetime.date
) -> datetime.datetime | None:
    """The date (with its time, in the same cell or the next column) of registration."""
    time = parse_time(time_cell)
    if isinstance(date_cell, float) and not date_cell.is_integer():
        # An Excel date and time: days, and the fraction of a day.
        day = parsing.parse_date(int(date_cell), epoch)
        time = time or parse_time(date_cell - int(date_cell))
    elif isinstance(date_cell, str) and (match := _DATE_AND_TIME.match(date_cell.strip())):
        day = parsing.parse_date(match.group(1), epoch)
        time = time or parse_time(match.group(2))
    else:
        day = parsing.parse_date(date_cell, epoch)
    if day is None:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, time or datetime.time(0, 0)))


class Importer:
    def __init__(self, authority: Authority, source: IO[bytes], name: str) -> None:
        self.authority = authority
        self.source = source
        self.name = name
        self.result = ImportResult()
        self.departements = {d.code: d for d in Departement.objects.all()}
        self.identities: list[tuple[int, str, str]] = []  # (line, number, card number)

    def issue(self, line: int | None, column: str, message: str) -> None:
        self.result.issues.append(Issue(line, column, message))

    def read(self) -> list[tuple[int, Application]]:
        try:
            table = parsing.read_table(self.source, self.name, is_header)
        except parsing.FileRefused as error:
            self.issue(None, "", str(error))
            return []
        positions: dict[str, int] = {}
        state_position = None
        for position, header in enumerate(table.headers):
            key = parsing.simplify(header)
            if key in _KEYS:
                positions[_KEYS[key].field] = position
            elif key == parsing.simplify(STATE):
                state_position = position
        missing = [c.header for c in COLUMNS if c.required and c.field not in positions]
        if missing:
            names = ", ".join(f"« {h} »" for h in missing)
            self.issue(
                table.header_line,
                "",
                f"Colonne(s) manquante(s) : {names}. Reprenez la ligne d’en-tête du modèle "
                "(celle de l’export de la liste).",
            )
            return []
        rows = []
        for line, cells in table.rows:
            if len(self.identities) >= MAX_ROWS:
                self.issue(
                    None,
                    "",
                    f"Le fichier compte plus de {MAX_ROWS} demandes : ce n’est pas une liste "
                    "d’attente. Découpez-le ou vérifiez son contenu.",
                )
                return []

            def cell(name: str, cells=cells) -> Any:
                position = positions.get(name)
                return cells[position] if position is not None and position < len(cells) else None

            if state_position is not None and state_position < len(cells):
                state = parsing.simplify(parsing.cell_text(cells[state_position]))
                if state not in _ACTIVE_STATES:
                    self.result.skipped += 1
                    continue
            # Every row's number and card, valid or not: a duplicate is told either way.
            self.identities.append(
                (line, parsing.cell_text(cell("number")), parsing.cell_text(cell("card_number")))
            )
            application = self.build(line, cell, table.excel_epoch)
            if application is not None:
                rows.append((line, application))
        return rows

    def build(self, line: int, cell, epoch: datetime.date) -> Application | None:
        """The row as an application, checked by the model's rules; None when it has
        errors (every one of the row told, each on its column)."""
        headers = {c.field: c.header for c in COLUMNS}
        headers["registered_at"] = headers["registered_date"]
        values: dict[str, Any] = {}
        failed: set[str] = set()  # model fields whose cell could not be read

        def read(name: str, parse, field_name: str | None = None):
            try:
                return parse(cell(name))
            except parsing.CellError as error:
                self.issue(line, headers[name], str(error))
                failed.add(field_name or name)
                return None

        text = parsing.cell_text
        for name in (
            "number",
            "applicant_name",
            "applicant_email",
            "applicant_phone",
            "applicant_address",
            "card_number",
        ):
            values[name] = text(cell(name))
        # The time first, told on its own column; then the date, with it.
        read("registered_time", parse_time, "registered_at")
        if "registered_at" not in failed:
            values["registered_at"] = read(
                "registered_date",
                lambda v: parse_registration(v, cell("registered_time"), epoch),
                "registered_at",
            )
            if values["registered_at"] is None and "registered_at" not in failed:
                self.issue(line, headers["registered_date"], "Ce champ est obligatoire.")
                failed.add("registered_at")
        values["card_date"] = read("card_date", lambda v: parsing.parse_date(v, epoch))
        values["renewed_at"] = read("renewed_at", lambda v: parsing.parse_date(v, epoch))
        values["proves_driving_experience"] = read(
            "proves_driving_experience", lambda v: parsing.parse_bool(v, allow_unknown=False)
        )
        code = text(cell("card_departement")).split(" ", 1)[0].upper()
        if code.isdigit() and len(code) == 1:
            code = "0" + code
        departement = self.departements.get(code)
        if not code:
            self.issue(line, headers["card_departement"], "Ce champ est obligatoire.")
            failed.add("card_departement")
        elif departement is None:
            self.issue(
                line,
                headers["card_departement"],
                f"« {text(cell('card_departement'))} » n’est pas un code de département "
                "(par exemple 30, 2A ou 971).",
            )
            failed.add("card_departement")
        application = Application(
            authority=self.authority,
            card_departement=departement,
            **{k: v for k, v in values.items() if v is not None and k not in failed},
        )
        try:
            # The rules of the web form, but the list's uniqueness: checked for the
            # whole file at once (check_against_list).
            application.clean_fields(
                exclude=["authority", "card_departement", "valid_until", *failed]
            )
            if not failed:
                application.clean_values()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                for message in messages:
                    self.issue(line, headers.get(name, ""), message)
            return None
        if failed:
            return None
        application.refresh_derived()
        return application

    def check_against_list(self) -> None:
        """Numbers and cards already on the list, or twice in the file: one query each."""
        existing = Application.objects.filter(authority=self.authority)
        numbers = set(existing.values_list("number", flat=True))
        cards = set(existing.active().values_list("card_number_key", flat=True))
        seen_numbers: dict[str, int] = {}
        seen_cards: dict[str, int] = {}
        number_header, card_header = COLUMNS[0].header, COLUMNS[7].header
        for line, number, card_number in self.identities:
            if number:
                if number in numbers:
                    self.issue(
                        line, number_header, f"La demande n° {number} est déjà sur la liste."
                    )
                elif number in seen_numbers:
                    self.issue(
                        line,
                        number_header,
                        f"Le numéro {number} figure déjà ligne {seen_numbers[number]} du fichier.",
                    )
                seen_numbers.setdefault(number, line)
            key = card_key(card_number)
            if not key:
                continue
            if key in cards:
                self.issue(
                    line,
                    card_header,
                    f"Le titulaire de la carte n° {card_number} a déjà une demande en cours sur "
                    "cette liste.",
                )
            elif key in seen_cards:
                self.issue(
                    line,
                    card_header,
                    f"La carte n° {card_number} figure déjà ligne {seen_cards[key]} du fichier : "
                    "une personne n’a qu’une demande.",
                )
            seen_cards.setdefault(key, line)
        self.result.issues.sort(key=lambda issue: issue.line or 0)

    def other_lists(self, rows: list[tuple[int, Application]]) -> None:
        keys = {application.card_number_key: line for line, application in rows}
        found: dict[str, list[str]] = {}
        for key, name in (
            Application.objects.active()
            .filter(card_number_key__in=list(keys))
            .exclude(authority=self.authority)
            .order_by("authority__name")
            .values_list("card_number_key", "authority__name")
        ):
            found.setdefault(key, []).append(name)
        cards = {application.card_number_key: application.card_number for _, application in rows}
        self.result.warnings = sorted(
            (keys[key], cards[key], names) for key, names in found.items()
        )

    def run(self, user, commit: bool = True) -> ImportResult:
        with transaction.atomic():
            # The list does not change while it is checked and written.
            Authority.objects.select_for_update().filter(pk=self.authority.pk).first()
            rows = self.read()
            if self.identities:
                # Told with the rows' other errors: every error of the file at once.
                self.check_against_list()
            elif not self.result.issues:
                self.issue(None, "", "Le fichier ne contient aucune demande à importer.")
            if self.result.issues:
                return self.result
            self.other_lists(rows)
            if commit:
                self.write(rows, user)
        return self.result

    def write(self, rows: list[tuple[int, Application]], user) -> None:
        applications = [application for _, application in rows]
        taken = set(
            Application.objects.filter(authority=self.authority).values_list("number", flat=True)
        ) | {a.number for a in applications}
        following = int(Application(authority=self.authority).next_number())
        for application in applications:
            if not application.number:
                while str(following) in taken:
                    following += 1
                application.number = str(following)
                taken.add(application.number)
            application.refresh_derived()
        with reversion.create_revision():
            created = Application.objects.bulk_create(applications)
            for application in created:
                reversion.add_to_revision(application)
            reversion.set_user(user)
            reversion.set_comment(f"Import du fichier « {self.name} »")
        self.result.created = created


# --- export -----------------------------------------------------------------------------

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_queryset(authority: Authority) -> QuerySet:
    """Every application of the list: those in course in the order of attribution,
    then the others by registration."""
    return (
        Application.objects.filter(authority=authority)
        .select_related("card_departement")
        .alias(
            in_course=Case(When(state=Application.State.ACTIVE, then=Value(0)), default=1),
            priority_rank=Case(When(proves_driving_experience=True, then=Value(0)), default=1),
        )
        .order_by("in_course", "priority_rank", "registered_at", "pk")
    )


def export_rows(authority: Authority, *, text, date, today=None) -> Iterator[list]:
    today = today or timezone.localdate()
    rank = 0
    for application in export_queryset(authority).iterator(chunk_size=1000):
        if application.is_active:
            rank += 1
        registered = timezone.localtime(application.registered_at)
        yield [
            rank if application.is_active else None,
            text(application.number),
            date(registered.date()),
            text(f"{registered:%H:%M}"),
            text(application.applicant_name),
            text(application.applicant_email),
            text(application.applicant_phone),
            text(application.applicant_address),
            text(application.card_number),
            text(application.card_departement.code),
            date(application.card_date),
            "Oui" if application.proves_driving_experience else "Non",
            date(application.renewed_at),
            date(application.valid_until),
            text(application.status_label(today)),
            text(application.order_reason) if application.is_active else "",
            text(application.removal_comment),
        ]


def filename(authority: Authority, extension: str, public: bool = False) -> str:
    stem = slugify(f"liste attente {authority.name} {authority.code}")
    return f"{stem}{'-publique' if public else ''}-{timezone.localdate():%Y-%m-%d}.{extension}"


def write_csv(headers: list[str], rows, output: IO[bytes] | None = None) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode()


def export_csv(authority: Authority) -> bytes:
    return write_csv(EXPORT_HEADERS, export_rows(authority, text=escape_formula, date=french_date))


def export_xlsx(authority: Authority, output: IO[bytes]) -> int:
    """Text always text (never a formula: see ``xlsx.py``), dates real dates."""
    date_columns = [
        EXPORT_HEADERS.index(header)
        for header in (
            "Date d’inscription",
            "Date de délivrance de la carte",
            "Date du dernier renouvellement",
            VALID_UNTIL,
        )
    ]
    with xlsx.Workbook(output, ["Liste d’attente"]) as workbook:
        return workbook.write_sheet(
            EXPORT_HEADERS,
            export_rows(authority, text=str, date=excel_date),
            dict.fromkeys(date_columns, xlsx.DATE),
        )


# --- the public list: no personal data --------------------------------------------------

PUBLIC_HEADERS = ["Rang", "Numéro de la demande", "Date d’inscription", "État"]


def public_rows(applications, start: int = 1, today=None) -> Iterator[list]:
    """``applications``: in the order of attribution (``Application.objects.public()``)."""
    today = today or timezone.localdate()
    for rank, application in enumerate(applications, start):
        yield [
            rank,
            application.number,
            french_date(timezone.localdate(application.registered_at)),
            application.status_label(today),
        ]


def public_csv(authority: Authority) -> bytes:
    applications = Application.objects.filter(authority=authority).public()
    rows = public_rows(applications.iterator(chunk_size=1000))
    return write_csv(
        PUBLIC_HEADERS,
        ([rank, escape_formula(number), day, state] for rank, number, day, state in rows),
    )
