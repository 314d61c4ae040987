"""Import of a prefecture's existing register of relay taxis from a spreadsheet.

The file is read by the register's reader (``mesads.exchange.parsing``: XLSX or CSV, its
bounds against hostile files, the header row looked for under a title). Every row is
checked as the web form would (``full_clean``: plate canonical and valid, SIRET key,
commune of the département…) before anything is written; an error names its line and
column. Only a file without error is written, in one transaction: all or nothing.

Owners are matched by SIRET (an existing owner keeps its record); a number already given
in the file (``30-12``) is kept when it is free, and the département's counter moves past
it, so that no later number repeats it.
"""

import datetime
import re
from dataclasses import dataclass, field
from typing import IO, Any

import reversion
from django.core.exceptions import ValidationError
from django.db import transaction

from mesads.ads import validators
from mesads.exchange.parsing import (
    CellError,
    cell_text,
    parse_bool,
    parse_date,
    read_table,
    simplify,
)
from mesads.geo.models import Commune, Departement

from . import changes
from .models import NumberCounter, Owner, Vehicle, VehicleChange
from .services import allocate_number

# key: (header, required)
COLUMNS = {
    "number": ("Numéro", False),
    "plate": ("Immatriculation", True),
    "make": ("Marque", True),
    "model": ("Modèle", True),
    "engine": ("Motorisation", True),
    "first_registration_date": ("Date de première immatriculation", True),
    "seats": ("Places passagers", True),
    "wheelchair_accessible": ("Accessible en fauteuil roulant", False),
    "commune": ("Commune (code INSEE)", True),
    "owner_name": ("Propriétaire", True),
    "owner_siret": ("SIRET du propriétaire", True),
    "owner_address": ("Adresse du propriétaire", True),
    "owner_phone": ("Téléphone du propriétaire", True),
    "owner_email": ("Courriel du propriétaire", True),
}
HEADERS = {simplify(header): key for key, (header, _) in COLUMNS.items()}
ENGINES = {simplify(label): value for value, label in Vehicle.Engine.choices} | {
    simplify(value): value for value in Vehicle.Engine.values
}
MODEL_FIELDS = {
    "plate": "plate",
    "make": "make",
    "model": "model",
    "engine": "engine",
    "first_registration_date": "first_registration_date",
    "seats": "seats",
    "commune": "commune",
    "owner_name": "name",
    "owner_siret": "siret",
    "owner_address": "address",
    "owner_phone": "phone",
    "owner_email": "email",
}


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class Preview:
    rows: list[dict[str, str]] = field(default_factory=list)  # (line, cells as text)
    errors: list[RowError] = field(default_factory=list)
    new_owners: int = 0


def read_rows(file: IO[bytes], name: str) -> tuple[list[dict[str, Any]], list[RowError]]:
    """The file's rows as {key: cell text} with their line; missing columns as errors.
    Raises ``FileRefused`` for a file that is not a spreadsheet."""
    table = read_table(file, name, lambda header: simplify(header) in HEADERS)
    keys = [HEADERS.get(simplify(cell_text(header))) for header in table.headers]
    errors = [
        RowError(table.header_line, header, "Colonne obligatoire absente.")
        for key, (header, required) in COLUMNS.items()
        if required and key not in keys
    ]
    rows = []
    for line, cells in table.rows:
        row: dict[str, Any] = {"line": line}
        for key, cell in zip(keys, cells, strict=False):
            if key is not None:
                # JSON-able, for the preview's signed payload: dates as dd/mm/yyyy.
                row[key] = cell_text(cell) if isinstance(cell, datetime.date) else cell
        if any(cell_text(value) for name, value in row.items() if name != "line"):
            rows.append(row)
    return rows, errors


def _build(row: dict[str, Any], departement: Departement, communes: dict, owners: dict):
    """A row as (owner, vehicle) not saved, or raises a list of RowError."""
    line = row["line"]
    errors: list[RowError] = []

    def fail(key: str, message: str) -> None:
        errors.append(RowError(line, COLUMNS[key][0], message))

    text = {key: cell_text(row.get(key)) for key in COLUMNS}
    values: dict[str, Any] = {}
    try:
        values["first_registration_date"] = parse_date(row.get("first_registration_date"))
    except CellError as error:
        fail("first_registration_date", str(error))
    try:
        values["wheelchair_accessible"] = parse_bool(
            row.get("wheelchair_accessible"), allow_unknown=False
        )
    except CellError as error:
        fail("wheelchair_accessible", str(error))
    if not re.fullmatch(r"[0-9]{1,2}", text["seats"]):
        fail("seats", "Un nombre de places (1 à 8) est attendu.")
    else:
        values["seats"] = int(text["seats"])
    engine = ENGINES.get(simplify(text["engine"]))
    if engine is None:
        fail("engine", "Motorisation non reconnue : " + ", ".join(Vehicle.Engine.labels) + ".")
    commune = communes.get(text["commune"].upper())
    if commune is None:
        fail("commune", f"Aucune commune du département {departement.code} n’a ce code INSEE.")
    siret = validators.normalize_siret(text["owner_siret"])
    owner = owners.get(siret) or Owner(
        name=text["owner_name"],
        siret=siret,
        address=text["owner_address"],
        phone=text["owner_phone"],
        email=text["owner_email"],
    )
    if owner.pk is None:
        try:
            owner.full_clean()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                key = next(
                    (k for k, v in MODEL_FIELDS.items() if v == name and k.startswith("owner_")),
                    "owner_name",
                )
                for message in messages:
                    fail(key, message)
    vehicle = Vehicle(
        owner=owner,
        departement=departement,
        commune=commune,
        plate=text["plate"],
        make=text["make"],
        model=text["model"],
        engine=engine or "",
        first_registration_date=values.get("first_registration_date"),
        seats=values.get("seats"),
        wheelchair_accessible=bool(values.get("wheelchair_accessible")),
    )
    reported = {error.column for error in errors}
    try:
        vehicle.full_clean(
            exclude=["owner", "number", "sequence", "status"], validate_constraints=False
        )
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            key = next(
                (k for k, v in MODEL_FIELDS.items() if v == name and not k.startswith("owner_")),
                "plate",
            )
            if COLUMNS[key][0] in reported:
                continue
            for message in messages:
                fail(key, message)
    number = text["number"].upper().replace(" ", "-")
    if number and not re.fullmatch(rf"{re.escape(departement.code)}-[0-9]+", number):
        fail("number", f"Numéro attendu sous la forme {departement.code}-12, ou laissez vide.")
    if errors:
        raise ValueError(errors)
    return owner, vehicle, number


def check(rows: list[dict[str, Any]], departement: Departement) -> tuple[list, list[RowError]]:
    """Every row built and checked, nothing written: (built rows, errors)."""
    communes = {
        commune.insee_code: commune
        for commune in Commune.objects.current().filter(departement=departement)
    }
    owners = {owner.siret: owner for owner in Owner.objects.all()}
    live_plates = set(Vehicle.objects.live().values_list("plate", flat=True))
    used_numbers = set(
        Vehicle.objects.filter(departement=departement).values_list("number", flat=True)
    )
    built, errors, seen_plates, seen_numbers = [], [], {}, {}
    for row in rows:
        try:
            owner, vehicle, number = _build(row, departement, communes, owners)
        except ValueError as error:
            errors.extend(error.args[0])
            continue
        owners.setdefault(owner.siret, owner)
        line = row["line"]
        if vehicle.plate in live_plates:
            errors.append(
                RowError(
                    line,
                    "Immatriculation",
                    "Ce véhicule est déjà inscrit au registre des taxis relais.",
                )
            )
        elif vehicle.plate in seen_plates:
            errors.append(
                RowError(
                    line,
                    "Immatriculation",
                    f"Même immatriculation qu’à la ligne {seen_plates[vehicle.plate]}.",
                )
            )
        seen_plates.setdefault(vehicle.plate, line)
        if number and (number in used_numbers or number in seen_numbers):
            errors.append(RowError(line, "Numéro", f"Le numéro {number} est déjà attribué."))
        seen_numbers.setdefault(number, line)
        built.append((owner, vehicle, number))
    return built, errors


def write(rows: list[dict[str, Any]], departement: Departement, user) -> int:
    """Check again, then write every row in one transaction; returns the count. Raises
    ``ValueError(errors)`` when a row is refused: nothing is written."""
    with transaction.atomic(), reversion.create_revision():
        # The counter locked first: no registration in the département interleaves.
        NumberCounter.objects.bulk_create(
            [NumberCounter(departement=departement, last=0)], ignore_conflicts=True
        )
        counter = NumberCounter.objects.select_for_update().get(departement=departement)
        built, errors = check(rows, departement)
        if errors:
            raise ValueError(errors)
        if user is not None:
            reversion.set_user(user)
        reversion.set_comment("Import du registre de la préfecture")
        kept = [int(number.rsplit("-", 1)[1]) for _, _, number in built if number]
        if kept and max(kept) > counter.last:
            counter.last = max(kept)
            counter.save(update_fields=["last"])
        for owner, vehicle, number in built:
            if owner.pk is None:
                owner.save()
            vehicle.owner = owner
            if number:
                vehicle.number, vehicle.sequence = number, int(number.rsplit("-", 1)[1])
            else:
                vehicle.sequence, vehicle.number = allocate_number(departement)
            vehicle.save()
        changes.record([vehicle for _, vehicle, _ in built], VehicleChange.Kind.CREATION)
    return len(built)
