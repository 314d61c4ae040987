"""The spreadsheet format of the register, shared by exports and imports.

One row per ADS. Its authority, its fields, its statuses (exported, ignored on import),
then its drivers as repeated blocks ("Conducteur 1 – statut", …). An export re-imports
with zero changes, so both sides read this one definition.
"""

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEXT = "text"
    DATE = "date"  # dd/mm/yyyy
    BOOL = "bool"  # Oui / Non
    NULL_BOOL = "null_bool"  # Oui / Non / empty (unknown)
    CHOICE = "choice"  # the French label of a TextChoices value


@dataclass(frozen=True)
class Column:
    header: str
    field: str  # attribute of the ADS (or Driver, for driver columns)
    kind: Kind = Kind.TEXT
    imported: bool = True  # False: export-only (derived or read-only values)


AUTHORITY_COLUMNS = [
    Column("Type de gestionnaire", "authority.type", Kind.CHOICE),
    Column("Gestionnaire", "authority.name"),
    Column("Code INSEE ou SIREN du gestionnaire", "authority.code"),
    Column("Département", "authority.departement.code"),
]

ADS_COLUMNS = [
    Column("Numéro de l’ADS", "number"),
    Column("Commune de stationnement (code INSEE)", "commune.insee_code"),
    Column("Date de création", "creation_date", Kind.DATE),
    Column("Date d’attribution au titulaire actuel", "attribution_date", Kind.DATE),
    Column("Date du dernier renouvellement", "last_renewal_date", Kind.DATE),
    Column("ADS exploitée", "in_use", Kind.BOOL),
    Column("Titulaire", "holder_name"),
    Column("SIRET du titulaire", "holder_siret"),
    Column("Téléphone du titulaire", "holder_phone"),
    Column("Adresse électronique du titulaire", "holder_email"),
    Column("Immatriculation du véhicule", "vehicle_plate"),
    Column("Véhicule accessible (PMR)", "vehicle_pmr", Kind.NULL_BOOL),
    Column("Véhicule à faibles émissions", "vehicle_low_emission", Kind.NULL_BOOL),
    Column("Conventionnée CPAM", "cpam_agreement", Kind.BOOL),
    Column("Notes", "notes"),
]

STATUS_COLUMNS = [
    Column("Complète", "is_complete", Kind.BOOL, imported=False),
    Column("Attestation", "attestation_status", imported=False),
    Column("Certification", "certification_status", imported=False),
]

DRIVER_COLUMNS = [
    Column("statut", "status", Kind.CHOICE),
    Column("nom", "name"),
    Column("SIRET", "siret"),
    Column("carte professionnelle", "card_number"),
    Column("début de location-gérance", "lease_start_date", Kind.DATE),
]


def driver_header(index: int, column: Column) -> str:
    """``index`` counts from 1, as people do."""
    return f"Conducteur {index} – {column.header}"


def headers(driver_blocks: int) -> list[str]:
    return [c.header for c in AUTHORITY_COLUMNS + ADS_COLUMNS + STATUS_COLUMNS] + [
        driver_header(i, c) for i in range(1, driver_blocks + 1) for c in DRIVER_COLUMNS
    ]


# A cell starting with one of these is run as a formula by spreadsheet programs (CSV
# injection). CSV exports prefix it with an apostrophe, as a person would type it, and CSV
# imports take that apostrophe off. A text that already starts with an apostrophe followed
# by one of these (or another apostrophe) gets one more, so that the round trip gives back
# exactly what was exported; "'quoted" is left alone. XLSX exports keep the value as it is,
# in a text cell (never a formula) with Excel's "quote prefix" mark: XLSX imports must not
# unescape.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = (*FORMULA_TRIGGERS, "'")


def escape_formula(text: str) -> str:
    if text.startswith(_ESCAPED) and (text[0] != "'" or text[1:].startswith(_ESCAPED)):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_ESCAPED) else text
