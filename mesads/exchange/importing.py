"""Importing the register from a spreadsheet: read, validate every row, then write it all.

The file is in ``columns.py``'s format (our export, or the blank template). Each row is one
ADS of one authority, with its drivers. An import is **all or nothing**: every row is
validated first, with the rules of the web forms — the models' ``full_clean()`` of the
ADS and of each driver, ``ADS.validate_drivers`` and the uniqueness of the number within
its authority — and if any row is invalid nothing is written and every error is reported
at once (line, column, French message). Otherwise, in one transaction:

- an ADS already in the register (same authority, same number) is updated, or left
  untouched when nothing differs;
- a new one is created;
- with ``sync``, the live ADS of the authorities present in the file that the file does
  not list are deleted (soft delete, restorable by national staff);

and everything that changed goes into the history as **one** django-reversion revision
(the importing user, the file name, a comment), written in bulk as ``generation.py`` does,
with one ``RegisterChange`` per ADS for the prefectures' feeds.

Validation uses model instances, as the forms do, but not ``validate_constraints()``:
Django checks each CHECK constraint with a query, ten per row, which would take minutes
for the national file. Every constraint of ``ADS`` and ``Driver`` is also a rule of their
``clean()`` (the project's convention, see ``tests/test_import.py``), and the database
still enforces them when writing: an import that slipped past would roll back whole.
"""

import datetime
import difflib
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone, translation
from reversion.models import Revision, Version

# reversion's own record of each model's serialized fields (ADSDocument leaves out its
# file): the versions written here must be exactly those it would write.
from mesads.ads.forms import ADS_NUMBER_TAKEN
from mesads.ads.history import bulk_versions
from mesads.ads.models import ADS, ADSDocument, Authority, Driver, RegisterChange
from mesads.ads.services import NOT_SUBSTANTIVE
from mesads.geo.models import Commune

from . import parsing
from .columns import (
    ADS_COLUMNS,
    AUTHORITY_COLUMNS,
    DRIVER_COLUMNS,
    STATUS_COLUMNS,
    Column,
    Kind,
    driver_header,
)

BATCH_SIZE = 2000
PROGRESS_EVERY = 1000
# Driver columns of the template (the file may have more blocks, or fewer).
TEMPLATE_DRIVER_BLOCKS = 3

IMPORTED_AUTHORITY_COLUMNS = [c for c in AUTHORITY_COLUMNS if c.imported]
IMPORTED_ADS_COLUMNS = [c for c in ADS_COLUMNS if c.imported]
IMPORTED_DRIVER_COLUMNS = [c for c in DRIVER_COLUMNS if c.imported]
DRIVER_NAME = next(c for c in IMPORTED_DRIVER_COLUMNS if c.field == "name")


def _model_field_name(column: Column) -> str:
    """``commune.insee_code`` → ``commune``: the model field a column sets."""
    return column.field.split(".", 1)[0]


# The fields an import sets: those of the web forms (tests check they match).
ADS_FIELDS = [_model_field_name(c) for c in IMPORTED_ADS_COLUMNS]
DRIVER_FIELDS = [c.field for c in IMPORTED_DRIVER_COLUMNS]
ADS_ATTNAMES = [ADS._meta.get_field(name).attname for name in ADS_FIELDS]
# As a ModelForm does, validate only the fields the user fills in.
ADS_EXCLUDE = {f.name for f in ADS._meta.fields} - set(ADS_FIELDS)
DRIVER_EXCLUDE = {f.name for f in Driver._meta.fields} - set(DRIVER_FIELDS)
DRIVER_ATTNAMES = [Driver._meta.get_field(name).attname for name in DRIVER_FIELDS]
ADS_DB_FIELDS = [f.attname for f in ADS._meta.concrete_fields]
DRIVER_DB_FIELDS = [f.attname for f in Driver._meta.concrete_fields]
# Written when an import changes an ADS, beside the fields of the file.
ADS_DERIVED = ["number_sort_key", "plate_search", "drivers_search", "is_complete"]
ADS_BOOKKEEPING = ["version", "updated_at", "substantive_change_at"]

HISTORY_COMMENT = "Import du fichier « {file_name} »"
CREATED_MEANWHILE = (
    "Pendant cet import, un autre import (ou un gestionnaire) a créé l’ADS n° {number} de "
    "{authority} : rien n’a été enregistré. Relancez l’import : cette ligne mettra alors à "
    "jour l’ADS créée entre-temps."
)
WHOLE_ROW = ""  # the column of an error that concerns the whole row


class Action:
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass
class Issue:
    """An error: ``line`` as the spreadsheet numbers it (None: the whole file)."""

    line: int | None
    column: str
    message: str


# A file of garbage would otherwise keep millions of errors in memory (OPERATIONS.md #7):
# the first ones are enough to fix a file; the rest are counted.
MAX_ERRORS_KEPT = 1000


class IssueList(list):
    """The errors of an import: the first ``MAX_ERRORS_KEPT`` are kept, the others only
    counted (``dropped``), with every line that had one (``lines``)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.dropped = 0
        self.lines: set[int] = {issue.line for issue in self if issue.line}

    def append(self, issue: Issue) -> None:
        if issue.line:
            self.lines.add(issue.line)
        if len(self) < MAX_ERRORS_KEPT:
            super().append(issue)
        else:
            self.dropped += 1

    def extend(self, issues) -> None:
        for issue in issues:
            self.append(issue)

    @property
    def total(self) -> int:
        return len(self) + self.dropped

    def close(self, issue: Issue) -> None:
        """A last whole-file error that says where the check stopped: kept past the bound,
        and counted like the others."""
        super().append(issue)


# The old → new values of the modified ADS, for the preview: those of the first ones are
# enough to check a file before confirming it, and a national file modifying tens of
# thousands of ADS would otherwise store (and copy) personal data by the megabyte. The
# others list their changed columns only. A long value (notes) is cut short.
MAX_DIFFS_KEPT = 1000
MAX_VALUE_LENGTH = 200
EMPTY = "(vide)"

# One change as the preview shows it: label, before, after. Before is None for a driver
# added, after is None for a driver removed.
Change = tuple[str, str | None, str | None]


@dataclass
class Outcome:
    """What the import does (or did) to one ADS."""

    line: int | None  # None for an ADS deleted because absent from the file
    action: str
    authority: str
    number: str
    changes: list[str] = field(default_factory=list)  # labels of what changed
    # What changed, old → new, written for a reader (the first MAX_DIFFS_KEPT modified).
    diff: list[Change] = field(default_factory=list)


@dataclass
class ImportResult:
    file_name: str
    committed: bool = False
    sync: bool = False
    rows: int = 0
    issues: IssueList = field(default_factory=IssueList)
    outcomes: list[Outcome] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (Action.NEW, Action.UPDATED, Action.UNCHANGED, Action.DELETED), 0
        )
    )
    invalid_rows: int = 0
    # The register changed while writing (CREATED_MEANWHILE): nothing written, run it again.
    conflict: bool = False
    revision_id: int | None = None
    seconds: float = 0.0
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def error_count(self) -> int:
        """Every error found, kept or only counted."""
        return getattr(self.issues, "total", len(self.issues))

    @property
    def changed(self) -> int:
        return self.counts[Action.NEW] + self.counts[Action.UPDATED] + self.counts[Action.DELETED]


# progress(stage, done, total): rows read, rows validated, ADS written, ADS whose history
# is written (of ``total``, which may be None while reading).
Progress = Callable[[str, int, int | None], None]
READING, VALIDATING, WRITING, HISTORY = "reading", "validating", "writing", "history"


# --- headers ----------------------------------------------------------------------------

_DRIVER_HEADER = re.compile(r"^conducteur\s*(\d+)\s*-\s*(.+)$")


@dataclass
class Layout:
    """Where each column of the format is in the file, by position."""

    width: int
    columns: dict[str, int]  # field of an authority or ADS column → position
    headers: dict[str, str]  # field → the header as the file writes it
    driver_blocks: list[tuple[int, dict[str, int]]]  # (block number, driver field → position)
    known: set[int]  # positions of every recognised column (ignored ones included)
    names: list[str]  # every header of the file
    driver_names: dict[tuple[int, str], str] = field(default_factory=dict)

    def driver_header(self, block: int, field_name: str) -> str:
        """The header of a driver column, as the file writes it."""
        if (block, field_name) in self.driver_names:
            return self.driver_names[(block, field_name)]
        column = next(c for c in DRIVER_COLUMNS if c.field == field_name)
        return driver_header(block, column)

    def position(self, header: str) -> int:
        """Where a column is, to list a row's errors from left to right."""
        if not hasattr(self, "_positions"):
            self._positions = {name: index for index, name in enumerate(self.names)}
        return self._positions.get(header, -1)


def expected_headers(driver_blocks: int = TEMPLATE_DRIVER_BLOCKS) -> list[str]:
    """The headers of an importable file, as in the template."""
    return [c.header for c in IMPORTED_AUTHORITY_COLUMNS + IMPORTED_ADS_COLUMNS] + [
        driver_header(i, c) for i in range(1, driver_blocks + 1) for c in IMPORTED_DRIVER_COLUMNS
    ]


# The headers of the format as ``parsing.simplify`` writes them: those the import reads,
# those of the export it ignores, and those of a driver block after « Conducteur N – ».
_REQUIRED = {
    parsing.simplify(c.header): c for c in IMPORTED_AUTHORITY_COLUMNS + IMPORTED_ADS_COLUMNS
}
_IGNORED = {parsing.simplify(c.header) for c in STATUS_COLUMNS} | {
    parsing.simplify(c.header) for c in AUTHORITY_COLUMNS + ADS_COLUMNS if not c.imported
}
_DRIVER_COLUMNS = {parsing.simplify(c.header): c for c in IMPORTED_DRIVER_COLUMNS}


def is_known_header(text: str) -> bool:
    """A header of the format, as ``read_layout`` recognises it: how the importer finds
    the header row below a title, and the sheet that has it."""
    key = parsing.simplify(text)
    if key in _REQUIRED or key in _IGNORED:
        return True
    match = _DRIVER_HEADER.match(key)
    return bool(match) and match.group(2) in _DRIVER_COLUMNS


def read_layout(headers: list[str], line: int = 1) -> tuple[Layout | None, list[Issue]]:
    """Match the header row (on ``line`` of the file) against the format: tolerant of
    case, accents, spaces and kinds of dashes or apostrophes; any missing, unknown or
    repeated header is an error."""
    while headers and not headers[-1]:  # empty trailing columns
        headers = headers[:-1]

    issues: list[Issue] = []
    columns: dict[str, int] = {}
    header_of: dict[str, str] = {}
    blocks: dict[int, dict[str, int]] = defaultdict(dict)
    driver_names: dict[tuple[int, str], str] = {}
    known: set[int] = set()
    seen: dict[str, int] = {}
    unknown: list[str] = []
    for position, header in enumerate(headers):
        key = parsing.simplify(header)
        if not key:
            continue
        letter = _letter(position)
        if key in seen:
            issues.append(
                Issue(
                    line,
                    header,
                    f"La colonne « {header} » apparaît deux fois (colonnes "
                    f"{_letter(seen[key])} et {letter}) : gardez-en une seule.",
                )
            )
            continue
        seen[key] = position
        if key in _REQUIRED:
            column = _REQUIRED[key]
            columns[column.field] = position
            header_of[column.field] = header
            known.add(position)
        elif key in _IGNORED:
            known.add(position)
        elif (match := _DRIVER_HEADER.match(key)) and match.group(2) in _DRIVER_COLUMNS:
            block = int(match.group(1))
            blocks[block][_DRIVER_COLUMNS[match.group(2)].field] = position
            driver_names[(block, _DRIVER_COLUMNS[match.group(2)].field)] = header
            known.add(position)
        else:
            unknown.append(header)

    expected = expected_headers(max([1, *blocks]))
    for header in unknown:
        message = f"Colonne inconnue « {header} »."
        if proper := close_header(header, expected):
            message += f" Vouliez-vous écrire « {proper} » ?"
        else:
            message += " Retirez-la, ou renommez-la comme l’une des colonnes attendues."
        issues.append(Issue(line, header, message))

    missing = [c.header for c in IMPORTED_AUTHORITY_COLUMNS + IMPORTED_ADS_COLUMNS]
    missing = [h for h in missing if parsing.simplify(h) not in seen]
    for block in sorted(blocks) or [1]:
        for column in IMPORTED_DRIVER_COLUMNS:
            if column.field not in blocks.get(block, {}):
                missing.append(driver_header(block, column))
    for header in missing:
        issues.append(Issue(line, header, f"Colonne manquante : « {header} »."))
    if issues:
        issues.append(
            Issue(
                line,
                WHOLE_ROW,
                "La ligne d’en-tête ne correspond pas au modèle d’import. Colonnes attendues, "
                "dans cet ordre ou un autre : "
                + " ; ".join(f"« {h} »" for h in expected)
                + " (autant de blocs « Conducteur N – … » que nécessaire ; les colonnes "
                "« Complète », « Attestation » et « Certification » de l’export sont ignorées).",
            )
        )
        return None, issues
    return (
        Layout(
            width=len(headers),
            columns=columns,
            headers=header_of,
            driver_blocks=sorted(blocks.items()),
            known=known,
            names=headers,
            driver_names=driver_names,
        ),
        [],
    )


# Words that tell no column from another: « Date de création », « Date du dernier… ».
_LINKING_WORDS = {"a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les"}
_WORD_TYPO = 0.75  # « titulair », « vehicle », « statu »; not « nom » for « non »
_HEADER_CUTOFF = 0.5  # the words agree; the header is not a mere fragment


def _words(key: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", key)


def _word_matches(word: str, words: list[str]) -> bool:
    """The same word, misspelt (« titulair ») or cut short (« immat », « tel »)."""
    return any(
        word == other
        or difflib.SequenceMatcher(None, word, other).ratio() >= _WORD_TYPO
        or (len(word) >= 3 and other.startswith(word))
        for other in words
    )


def close_header(header: str, expected: list[str]) -> str | None:
    """The expected header an unknown one most likely misspells, or None.

    A similarity of the whole text alone is fooled by the words headers share: « Prénom du
    titulaire » is closer, letter for letter, to « SIRET du titulaire » (0.81) than
    « Numero ADS » is to « Numéro de l’ADS » (0.80), so no cut-off tells them apart. Every
    word the header says must therefore be in the candidate, possibly misspelt or cut
    short; the candidate may say more (« Date de renouvellement » → « Date du dernier
    renouvellement »). A header saying what no column says (« Nom du titulaire »,
    « Remarques du service ») gets no suggestion: a wrong one is worse than none.
    """
    key = parsing.simplify(header)
    words = [w for w in _words(key) if w not in _LINKING_WORDS]
    scored = []
    for candidate in expected:
        candidate_key = parsing.simplify(candidate)
        if all(_word_matches(word, _words(candidate_key)) for word in words):
            scored.append((difflib.SequenceMatcher(None, key, candidate_key).ratio(), candidate))
    # The first of equals: « Conducteur 1 – … » rather than « Conducteur 2 – … ».
    ratio, best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    return best if ratio >= _HEADER_CUTOFF else None


def _letter(position: int) -> str:
    name = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        name = chr(65 + remainder) + name
    return name


# --- reference data ---------------------------------------------------------------------


@dataclass
class _AuthorityRow:
    pk: int
    type: str
    name: str
    departement_code: str
    departement_id: int | None
    code: str
    active: bool

    @property
    def label(self) -> str:
        """The name with its code: several communes share a name."""
        return f"{self.name} ({self.code})" if self.code else self.name


# The type of an authority as town halls write it, besides the labels of Authority.Type
# (compared as ``parsing.name_key``: « C.A. » is « CA », « communaute d'agglo » too).
AUTHORITY_TYPE_SYNONYMS = {
    Authority.Type.COMMUNE: ["Mairie", "Ville", "Municipalité"],
    Authority.Type.EPCI: [
        "Communauté d’agglomération",
        "Communauté d’agglo",
        "Agglomération",
        "Agglo",
        "CA",
        "Communauté de communes",
        "CC",
        "Communauté urbaine",
        "CU",
        "Métropole",
        "Intercommunalité",
        "Établissement public de coopération intercommunale",
    ],
    Authority.Type.PREFECTURE: ["Préfet", "Préfecture de police"],
    Authority.Type.AIRPORT: ["Aérodrome"],
}


def _unresolved(field_name: str, reason: str) -> tuple[None, str, str]:
    """No authority for a row: the field of the column at fault, and why."""
    return None, field_name, reason


class AuthorityIndex:
    """Every authority by its code (INSEE, SIREN, département, OACI) and by its name and
    département, compared without case, accents or punctuation."""

    TYPES = {parsing.name_key(str(label)): value for value, label in Authority.Type.choices}
    TYPES |= {parsing.name_key(value): value for value in Authority.Type.values}
    TYPES |= {
        parsing.name_key(word): value
        for value, words in AUTHORITY_TYPE_SYNONYMS.items()
        for word in words
    }

    def __init__(self) -> None:
        self.by_code: dict[str, list[_AuthorityRow]] = defaultdict(list)
        self.by_name: dict[tuple[str, str], list[_AuthorityRow]] = defaultdict(list)
        self.by_pk: dict[int, _AuthorityRow] = {}
        rows = Authority.objects.values_list(
            "pk",
            "type",
            "name",
            "departement__code",
            "departement_id",
            "commune__insee_code",
            "commune__is_active",
            "epci__siren",
            "epci__is_active",
            "prefecture__code",
            "airport__code",
        )
        for pk, kind, name, dept, dept_id, insee, c_active, siren, e_active, pref, oaci in rows:
            code = insee or siren or pref or oaci or ""
            active = c_active if insee else e_active if siren else True
            row = _AuthorityRow(pk, kind, name, dept or "", dept_id, code, bool(active))
            self.by_pk[pk] = row
            self.by_code[code.upper()].append(row)
            self.by_name[(parsing.name_key(name), dept or "")].append(row)

    @staticmethod
    def normalize_code(text: str) -> list[str]:
        """The code as written, then as it was before a spreadsheet took off its leading
        zeros (``1053`` → ``01053``, ``1`` → ``01``)."""
        code = re.sub(r"\s", "", text).upper()
        candidates = [code]
        if code.isdigit():
            for width in (2, 5, 9):
                if len(code) < width:
                    candidates.append(code.zfill(width))
                    break
        return candidates

    def resolve(
        self, type_label: str, name: str, code: str, departement: str
    ) -> tuple[_AuthorityRow | None, str, str]:
        """The authority of a row; or None, the field of the column at fault and the
        French reason."""
        kind = None
        if type_label:
            kind = self.TYPES.get(parsing.name_key(type_label))
            if kind is None:
                labels = ", ".join(f"« {label} »" for label in Authority.Type.labels)
                return _unresolved(
                    "authority.type",
                    f"Type de gestionnaire inconnu « {type_label} » : attendu {labels} (ou "
                    "« Mairie », « Communauté d’agglomération », « Métropole »…).",
                )
        departement = departement.strip().upper()
        if departement.isdigit() and len(departement) == 1:
            departement = departement.zfill(2)
        if code:
            for candidate in self.normalize_code(code):
                found = self.by_code.get(candidate, [])
                if kind:
                    found = [row for row in found if row.type == kind] or found
                if len(found) > 1:
                    found = [row for row in found if row.active] or found
                if len(found) == 1:
                    return found[0], "", ""
                if found:
                    return _unresolved(
                        "authority.code",
                        f"Plusieurs gestionnaires ont le code « {code} » : précisez le type de "
                        "gestionnaire.",
                    )
            return _unresolved(
                "authority.code",
                f"Aucun gestionnaire n’a le code « {code} » (code INSEE d’une commune, SIREN "
                "d’un EPCI, code du département pour une préfecture, code OACI d’un aéroport).",
            )
        if not name:
            return _unresolved(
                "authority.name",
                "Gestionnaire non indiqué : donnez son code INSEE ou SIREN, ou son nom et son "
                "département.",
            )
        if not departement:
            return _unresolved(
                "authority.departement.code",
                f"Pour trouver le gestionnaire « {name} » par son nom, indiquez aussi son "
                "département (ou donnez son code INSEE ou SIREN).",
            )
        found = self.by_name.get((parsing.name_key(name), departement), [])
        if kind:
            found = [row for row in found if row.type == kind]
        if len(found) > 1:
            found = [row for row in found if row.active] or found
        if len(found) == 1:
            return found[0], "", ""
        if found:
            return _unresolved(
                "authority.name",
                f"Plusieurs gestionnaires s’appellent « {name} » dans le département "
                f"{departement} : indiquez le code INSEE ou SIREN.",
            )
        return _unresolved(
            "authority.name", f"Aucun gestionnaire « {name} » dans le département {departement}."
        )


class CommuneIndex:
    """Communes by INSEE code, for the commune where an EPCI's ADS is used; loaded on
    first use (most files have none)."""

    def __init__(self) -> None:
        self._codes: dict[str, int] | None = None

    def get(self, code: str) -> int | None:
        if self._codes is None:
            self._codes = {}
            # Current communes win over delegated ones and over those that disappeared.
            rows = Commune.objects.order_by("-is_active", "type", "pk").values_list(
                "insee_code", "pk", "type"
            )
            for insee_code, pk, kind in rows:
                if kind == Commune.Type.ACTUELLE:
                    self._codes.setdefault(insee_code, pk)
            for insee_code, pk, _ in rows:
                self._codes.setdefault(insee_code, pk)
        for candidate in AuthorityIndex.normalize_code(code):
            if candidate in self._codes:
                return self._codes[candidate]
        return None


# --- rows -------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    authority: _AuthorityRow | None
    values: dict[str, Any] = field(default_factory=dict)  # the file's ADS fields
    ads: ADS | None = None
    drivers: list[Driver] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)  # driver block number of each driver
    # Fields whose cell could not be read: already reported, not validated again.
    bad_fields: set[str] = field(default_factory=set)
    bad_driver_fields: list[set[str]] = field(default_factory=list)
    existing: dict[str, Any] | None = None  # the ADS in the register, as values
    action: str = ""
    changes: list[str] = field(default_factory=list)
    driver_changes: bool = False


class _Reader:
    """Turns the cells of a row into an ADS and its drivers, collecting errors."""

    def __init__(self, layout: Layout, epoch: datetime.date) -> None:
        self.layout = layout
        self.epoch = epoch
        self.today = timezone.localdate()
        self.authorities = AuthorityIndex()
        self.communes = CommuneIndex()
        self.ads_columns = [(c, layout.columns[c.field]) for c in IMPORTED_ADS_COLUMNS]
        self.status_labels = _choice_labels(Driver, "status")
        self.booleans: dict[tuple[Any, Kind], bool | None] = {}

    def cell(self, cells: list[Any], position: int) -> Any:
        return cells[position] if position < len(cells) else None

    def text(self, cells: list[Any], field_name: str) -> str:
        return parsing.cell_text(self.cell(cells, self.layout.columns[field_name]))

    def authority(self, cells: list[Any], issues: list[Issue], line: int) -> _AuthorityRow | None:
        row, column, reason = self.authorities.resolve(
            self.text(cells, "authority.type"),
            self.text(cells, "authority.name"),
            self.text(cells, "authority.code"),
            self.text(cells, "authority.departement.code"),
        )
        if row is None:
            issues.append(Issue(line, self.layout.headers[column], reason))
        return row

    def value(self, column: Column, raw: Any, model: type[Model]) -> Any:
        """A cell as the model field's value; raises ``parsing.CellError``."""
        kind = column.kind
        if kind is Kind.TEXT:
            text = parsing.cell_text(raw)
            if column.field == "holder_phone" and isinstance(raw, int) and len(text) == 9:
                return "0" + text  # a number typed in a spreadsheet cell loses its leading 0
            return text
        if kind is Kind.DATE:
            return parsing.parse_date(raw, self.epoch, self.today)
        if kind is Kind.BOOL or kind is Kind.NULL_BOOL:
            key = (raw, kind)
            if key not in self.booleans:
                self.booleans[key] = parsing.parse_bool(raw, allow_unknown=kind is Kind.NULL_BOOL)
            return self.booleans[key]
        text = parsing.cell_text(raw)
        if kind is Kind.CHOICE:
            if not text:
                return ""
            value = self.status_labels.get(text) or self.status_labels.get(parsing.name_key(text))
            if value is None:
                labels = ", ".join(f"« {label} »" for label in Driver.Status.labels)
                raise parsing.CellError(f"Statut inconnu « {text} » : attendu {labels}.")
            self.status_labels[text] = value
            return value
        raise ValueError(f"Type de colonne inconnu : {kind}")  # pragma: no cover

    def read(self, line: int, cells: list[Any], issues: list[Issue]) -> _Row:
        authority = self.authority(cells, issues, line)
        row = _Row(line, authority)
        values: dict[str, Any] = {}
        for column, position in self.ads_columns:
            raw = self.cell(cells, position)
            name = _model_field_name(column)
            if name == "commune":
                code = parsing.cell_text(raw)
                values["commune_id"] = None
                if code:
                    commune_id = self.communes.get(code)
                    if commune_id is None:
                        issues.append(
                            Issue(
                                line,
                                self.layout.headers[column.field],
                                f"Aucune commune n’a le code INSEE « {code} ».",
                            )
                        )
                        row.bad_fields.add("commune")
                    values["commune_id"] = commune_id
                continue
            try:
                values[name] = self.value(column, raw, ADS)
            except parsing.CellError as error:
                issues.append(Issue(line, self.layout.headers[column.field], str(error)))
                row.bad_fields.add(name)
                values[name] = (
                    None if column.kind is Kind.DATE else ADS._meta.get_field(name).get_default()
                )
        row.values = values
        for block, positions in self.layout.driver_blocks:
            raw_cells = {name: self.cell(cells, position) for name, position in positions.items()}
            if all(parsing.cell_text(value) == "" for value in raw_cells.values()):
                continue
            driver_values = {}
            bad: set[str] = set()
            for column in IMPORTED_DRIVER_COLUMNS:
                try:
                    driver_values[column.field] = self.value(
                        column, raw_cells[column.field], Driver
                    )
                except parsing.CellError as error:
                    issues.append(
                        Issue(line, self.layout.driver_header(block, column.field), str(error))
                    )
                    driver_values[column.field] = None if column.kind is Kind.DATE else ""
                    bad.add(column.field)
            row.drivers.append(Driver(**driver_values))
            row.blocks.append(block)
            row.bad_driver_fields.append(bad)
        # Cells under no header: data the import would silently drop.
        for position in range(len(cells)):
            if position not in self.layout.known and parsing.cell_text(cells[position]):
                header = (
                    self.layout.names[position] if position < len(self.layout.names) else ""
                ) or f"colonne {_letter(position)} (sans en-tête)"
                issues.append(
                    Issue(
                        line, header, "Cette cellule est remplie mais sa colonne n’a pas d’en-tête."
                    )
                )
        return row


def _choice_labels(model: type[Model], name: str) -> dict[str, str]:
    choices = model._meta.get_field(name).flatchoices
    labels = {parsing.name_key(str(label)): value for value, label in choices}
    labels |= {parsing.name_key(value): value for value, _ in choices}
    return labels


def _validation_messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            name: [m for e in errors for m in e.messages]
            for name, errors in error.error_dict.items()
        }
    return {NON_FIELD_ERRORS: error.messages}


# --- the import -------------------------------------------------------------------------


class Importer:
    """One import of one file. ``run()`` validates and, when asked, writes."""

    def __init__(
        self,
        source: str | Path | IO[bytes],
        *,
        file_name: str,
        user=None,
        commit: bool = False,
        sync: bool = False,
        comment: str = "",
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self.file_name = file_name
        self.user = user
        self.commit = commit
        self.sync = sync
        self.comment = comment.strip()
        self.progress = progress or (lambda stage, done, total: None)
        self.result = ImportResult(file_name=file_name, sync=sync)
        self.to_delete: list[dict] = []
        self.existing_drivers: dict[int, list[dict]] = {}

    def run(self) -> ImportResult:
        start = time.monotonic()
        with translation.override("fr"):
            try:
                table = parsing.read_table(self.source, self.file_name, is_known_header)
            except parsing.FileRefused as error:
                self.result.issues.append(Issue(None, WHOLE_ROW, str(error)))
                return self.result
            self.result.details = table.details
            layout, issues = read_layout(table.headers, table.header_line)
            if layout is None:
                self.result.issues = IssueList(_in_sheet(table, issues))
                return self.result
            rows: list[_Row] = []
            try:
                if self.commit:
                    with transaction.atomic():
                        rows = self.validate(table, layout, lock=True)
                        if self.result.ok:
                            self.write(rows)
                            self.result.committed = True
                else:
                    self.validate(table, layout, lock=False)
                _in_sheet(table, self.result.issues)
            except parsing.FileRefused as error:
                # A bound hit or damage found while reading the rows: nothing was written
                # (the transaction rolled back), the file is refused as a whole.
                self.result.committed = False
                self.result.issues = IssueList([Issue(None, WHOLE_ROW, str(error))])
                self.result.outcomes = []
            except IntegrityError:
                # Rolled back. Two imports creating the same ADS race: neither sees the
                # other's uncommitted rows while validating (there is nothing to lock yet),
                # and the uniqueness of the number stops the second one when it writes.
                issues = self.created_meanwhile(rows, layout)
                if not issues:
                    raise  # not that race: a rule the validation missed, to be fixed
                self.result.committed = False
                self.result.conflict = True
                self.result.issues = _in_sheet(table, issues)
                self.result.invalid_rows = len(issues.lines)
                self.result.outcomes = []
                self.result.counts = dict.fromkeys(self.result.counts, 0)
                self.result.revision_id = None
        self.result.seconds = time.monotonic() - start
        return self.result

    # --- validation -------------------------------------------------------------------

    def validate(self, table: parsing.Table, layout: Layout, lock: bool) -> list[_Row]:
        reader = _Reader(layout, table.excel_epoch)
        issues = self.result.issues
        rows: list[_Row] = []
        read = skipped = last_line = 0
        total = table.total
        self.progress(READING, 0, total)
        for count, (line, cells) in enumerate(table.rows, 1):
            if all(value is None or parsing.cell_text(value) == "" for value in cells):
                continue
            read += 1
            if issues.total >= MAX_ERRORS_KEPT:
                # The file is refused anyway: the remaining lines are counted, not
                # checked (a file of garbage would otherwise cost minutes and gigabytes).
                skipped += 1
                continue
            rows.append(reader.read(line, cells, issues))
            last_line = line
            if count % PROGRESS_EVERY == 0:
                self.progress(READING, count, total)
        self.result.rows = read
        if skipped:
            issues.close(
                Issue(
                    None,
                    WHOLE_ROW,
                    f"Plus de {MAX_ERRORS_KEPT:,} erreurs : la vérification s’est arrêtée "
                    f"après la ligne {last_line:,} ; les {skipped:,} lignes suivantes n’ont pas "
                    "été vérifiées. Corrigez les erreurs listées, puis importez le fichier de "
                    "nouveau.".replace(",", "\u202f"),
                )
            )
        if not rows and not issues:
            issues.append(Issue(None, WHOLE_ROW, "Le fichier ne contient aucune ADS à importer."))
            return rows

        self.progress(VALIDATING, 0, len(rows))
        authority_ids = sorted({row.authority.pk for row in rows if row.authority})
        instances: dict[int, Authority] = {}
        for chunk in _chunks(authority_ids, 500):
            # The EPCI comes along: ADS.clean() checks the commune is one of its members.
            instances.update(Authority.objects.select_related("epci").in_bulk(chunk))
        existing = self.load_existing(authority_ids, lock)
        seen: dict[tuple[int, str], int] = {}
        for count, row in enumerate(rows, 1):
            authority = instances[row.authority.pk] if row.authority is not None else None
            self.check_row(row, layout, existing, seen, issues, authority)
            if count % PROGRESS_EVERY == 0:
                self.progress(VALIDATING, count, len(rows))
        self.progress(VALIDATING, len(rows), len(rows))
        self.result.invalid_rows = len(issues.lines)
        if issues:
            # Line by line, each line's errors from left to right.
            issues.sort(key=lambda issue: (issue.line or 0, layout.position(issue.column)))
            return rows

        detailed = [row for row in rows if row.action == Action.UPDATED][:MAX_DIFFS_KEPT]
        diff = _Differ(detailed, self.existing_drivers)
        for row in rows:
            self.result.counts[row.action] += 1
            self.result.outcomes.append(
                Outcome(
                    row.line,
                    row.action,
                    row.authority.label,
                    row.ads.number,
                    row.changes,
                    diff(row) if row.action == Action.UPDATED else [],
                )
            )
        if self.sync:
            matched = {row.existing["id"] for row in rows if row.existing}
            authorities = {row.authority.pk for row in rows}
            self.to_delete = [
                values
                for key, values in existing.items()
                if key[0] in authorities and values["id"] not in matched
            ]
            self.to_delete.sort(key=lambda v: (v["authority_id"], v["number_sort_key"]))
            for values in self.to_delete:
                self.result.outcomes.append(
                    Outcome(
                        None,
                        Action.DELETED,
                        reader.authorities.by_pk[values["authority_id"]].label,
                        values["number"],
                    )
                )
            self.result.counts[Action.DELETED] = len(self.to_delete)
        self.authorities = reader.authorities
        return rows

    def created_meanwhile(self, rows: list[_Row], layout: Layout) -> IssueList:
        """The file's new ADS that the register has now: created by someone else while
        this import was running."""
        new = {(row.authority.pk, row.ads.number): row for row in rows if row.action == Action.NEW}
        taken: set[tuple[int, str]] = set()
        for chunk in _chunks(list(new), 500):
            taken.update(
                ADS.objects.live()
                .filter(
                    authority_id__in={pk for pk, _ in chunk},
                    number__in={number for _, number in chunk},
                )
                .values_list("authority_id", "number")
            )
        issues = IssueList()  # bounded: the same big file may have been imported twice
        issues.extend(
            Issue(
                row.line,
                layout.headers["number"],
                CREATED_MEANWHILE.format(number=row.ads.number, authority=row.authority.label),
            )
            for key, row in new.items()
            if key in taken
        )
        return issues

    def load_existing(self, authority_ids: list[int], lock: bool) -> dict[tuple[int, str], dict]:
        """The live ADS of the authorities in the file, by (authority, number), as values;
        with their drivers (``self.existing_drivers``, by ADS id, in their order)."""
        existing: dict[tuple[int, str], dict] = {}
        drivers: dict[int, list[dict]] = defaultdict(list)
        for chunk in _chunks(authority_ids, 500):
            queryset = ADS.objects.live().filter(authority_id__in=chunk)
            if lock and connection.features.has_select_for_update:
                # A manager saving one of these ADS meanwhile waits, then sees a conflict.
                queryset = queryset.select_for_update()
            for values in queryset.values(*ADS_DB_FIELDS):
                existing[(values["authority_id"], values["number"])] = values
            for values in (
                Driver.objects.filter(ads__authority_id__in=chunk, ads__deleted_at__isnull=True)
                .order_by("ads_id", "pk")
                .values(*DRIVER_DB_FIELDS)
            ):
                drivers[values["ads_id"]].append(values)
        self.existing_drivers = drivers
        return existing

    def check_row(
        self,
        row: _Row,
        layout: Layout,
        existing: dict[tuple[int, str], dict],
        seen: dict[tuple[int, str], int],
        issues: list[Issue],
        authority: Authority | None,
    ) -> None:
        line = row.line
        header = layout.headers
        current = None
        if row.authority is not None:
            current = existing.get((row.authority.pk, (row.values["number"] or "").strip()))
        row.existing = current
        if current is not None:
            # Validate the ADS as it will be: the register's record with the file's values.
            ads = ADS(**(current | row.values))
            ads._state.adding = False
        else:
            ads = ADS(**row.values)
        if authority is not None:
            ads.authority = authority
        row.ads = ads
        errors: dict[str, list[str]] = {}
        try:
            ads.full_clean(
                exclude=ADS_EXCLUDE | row.bad_fields,
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            errors = _validation_messages(error)
        for name, messages in errors.items():
            if name == NON_FIELD_ERRORS:
                # The one rule on the whole record: the authority declared it has no ADS.
                column = header["authority.code"] if row.authority else WHOLE_ROW
            elif name == "commune":
                column = header["commune.insee_code"]
            else:
                column = header.get(name, WHOLE_ROW)
            issues.extend(Issue(line, column, message) for message in messages)

        for driver, block, bad in zip(row.drivers, row.blocks, row.bad_driver_fields, strict=True):
            try:
                driver.full_clean(
                    exclude=DRIVER_EXCLUDE | bad, validate_unique=False, validate_constraints=False
                )
            except ValidationError as error:
                for name, messages in _validation_messages(error).items():
                    column = (
                        layout.driver_header(block, name)
                        if name in DRIVER_FIELDS
                        else layout.driver_header(block, "status")
                    )
                    issues.extend(Issue(line, column, message) for message in messages)
        unreadable_status = any("status" in bad for bad in row.bad_driver_fields)
        for message in [] if unreadable_status else ads.validate_drivers(row.drivers):
            # The first driver that breaks the rule names the column.
            culprit = next(
                (
                    index
                    for index in range(1, len(row.drivers) + 1)
                    if message in ads.validate_drivers(row.drivers[:index])
                ),
                len(row.drivers),
            )
            issues.append(
                Issue(line, layout.driver_header(row.blocks[culprit - 1], "status"), message)
            )

        if row.authority is not None and ads.number:
            key = (row.authority.pk, ads.number)
            if key in seen:
                issues.append(
                    Issue(
                        line,
                        header["number"],
                        ADS_NUMBER_TAKEN.format(number=ads.number)
                        + f" Ce numéro figure déjà à la ligne {seen[key]} du fichier.",
                    )
                )
            else:
                seen[key] = line
        self.compare(row)

    def compare(self, row: _Row) -> None:
        if row.existing is None:
            row.action = Action.NEW
            return
        changes = []
        for column, attname in zip(IMPORTED_ADS_COLUMNS, ADS_ATTNAMES, strict=True):
            if getattr(row.ads, attname) != row.existing[attname]:
                changes.append(column.header)
        before = [
            tuple(values[a] for a in DRIVER_ATTNAMES)
            for values in self.existing_drivers.get(row.existing["id"], [])
        ]
        after = [tuple(getattr(d, a) for a in DRIVER_ATTNAMES) for d in row.drivers]
        if before != after:
            changes.append("Conducteurs")
            row.driver_changes = True
        row.changes = changes
        row.action = Action.UPDATED if changes else Action.UNCHANGED

    # --- writing ----------------------------------------------------------------------

    def write(self, rows: list[_Row]) -> None:
        """Everything in the caller's transaction: any failure leaves the register as it was."""
        now = timezone.now()
        written = 0
        total = sum(1 for row in rows if row.action in (Action.NEW, Action.UPDATED)) + len(
            self.to_delete
        )
        self.progress(WRITING, 0, total)
        if not total:
            return
        counts = self.result.counts
        summary = f"{counts[Action.NEW]} créée(s), {counts[Action.UPDATED]} modifiée(s)" + (
            f", {counts[Action.DELETED]} supprimée(s)" if self.sync else ""
        )
        comment = HISTORY_COMMENT.format(file_name=self.file_name) + f" ({summary})"
        if self.comment:
            comment += f" : {self.comment}"
        revision = Revision.objects.create(
            date_created=now,
            user=self.user if self.user and self.user.pk else None,
            comment=comment[:10_000],
        )
        self.result.revision_id = revision.pk

        updated = [row for row in rows if row.action == Action.UPDATED]
        created = [row for row in rows if row.action == Action.NEW]
        changed_ads: list[tuple[ADS, list[Driver]]] = []

        # Existing drivers, matched by position; the surplus goes first.
        surplus: list[int] = []
        driver_updates_new_regime: list[Driver] = []
        driver_updates_other: list[Driver] = []
        driver_inserts: list[Driver] = []
        for row in updated:
            ads = row.ads
            ads.refresh_derived(row.drivers)
            ads.version = row.existing["version"] + 1
            ads.updated_at = now
            if set(row.changes) - {_header_of(name) for name in NOT_SUBSTANTIVE}:
                ads.substantive_change_at = now
            kept = self.existing_drivers.get(ads.pk, [])
            final: list[Driver] = []
            for index, driver in enumerate(row.drivers):
                driver.ads = ads
                if index < len(kept):
                    driver.pk = kept[index]["id"]
                    driver._state.adding = False
                    before = tuple(kept[index][a] for a in DRIVER_ATTNAMES)
                    if before != tuple(getattr(driver, a) for a in DRIVER_ATTNAMES):
                        if ads.is_new_regime:
                            driver_updates_new_regime.append(driver)
                        else:
                            driver_updates_other.append(driver)
                else:
                    driver_inserts.append(driver)
                final.append(driver)
            surplus.extend(values["id"] for values in kept[len(row.drivers) :])
            changed_ads.append((ads, final))

        # The order keeps every database rule true at every statement, as save_ads does:
        # drivers leave before the ADS changes regime; a new-regime ADS only ever has
        # titulaire drivers; a driver leaves the titulaire status before another takes it.
        for chunk in _chunks(surplus, BATCH_SIZE):
            Driver.objects.filter(pk__in=chunk).delete()
        _bulk_update(Driver, driver_updates_new_regime, DRIVER_ATTNAMES)
        ads_fields = ADS_ATTNAMES + ADS_DERIVED + ADS_BOOKKEEPING
        for chunk in _chunks([ads for ads, _ in changed_ads], BATCH_SIZE):
            _bulk_update(ADS, chunk, ads_fields)
            written += len(chunk)
            self.progress(WRITING, written, total)
        driver_updates_other.sort(key=lambda d: d.status == Driver.Status.TITULAIRE)
        leaving = [d for d in driver_updates_other if d.status != Driver.Status.TITULAIRE]
        taking = [d for d in driver_updates_other if d.status == Driver.Status.TITULAIRE]
        _bulk_update(Driver, leaving, DRIVER_ATTNAMES)
        _bulk_update(Driver, taking, DRIVER_ATTNAMES)

        for chunk in _chunks(created, BATCH_SIZE):
            for row in chunk:
                row.ads.refresh_derived(row.drivers)
                row.ads.substantive_change_at = now
            ADS.objects.bulk_create([row.ads for row in chunk])
            for row in chunk:
                for driver in row.drivers:
                    driver.ads = row.ads
                    driver_inserts.append(driver)
                changed_ads.append((row.ads, row.drivers))
            written += len(chunk)
            self.progress(WRITING, written, total)
        for chunk in _chunks(driver_inserts, BATCH_SIZE):
            Driver.objects.bulk_create(chunk)

        deleted: list[tuple[ADS, list[Driver]]] = []
        for chunk in _chunks(self.to_delete, BATCH_SIZE):
            instances = []
            for values in chunk:
                ads = ADS(**values)
                ads.deleted_at = now
                ads.version = values["version"] + 1
                ads.updated_at = now
                instances.append(ads)
                drivers = [Driver(**d) for d in self.existing_drivers.get(ads.pk, [])]
                deleted.append((ads, drivers))
            _bulk_update(ADS, instances, ["deleted_at", "version", "updated_at"])
            written += len(chunk)
            self.progress(WRITING, written, total)

        self.write_history(revision, changed_ads + deleted, now)

    def write_history(
        self, revision: Revision, records: list[tuple[ADS, list[Driver]]], now: datetime.datetime
    ) -> None:
        """The revision's versions: each ADS with its drivers and documents, as
        ``reversion.create_revision()`` with ``follow`` would have stored them."""
        documents: dict[int, list[ADSDocument]] = defaultdict(list)
        ads_ids = [ads.pk for ads, _ in records]
        for chunk in _chunks(ads_ids, BATCH_SIZE):
            for document in ADSDocument.objects.filter(ads_id__in=chunk).order_by("pk"):
                documents[document.ads_id].append(document)
        done = 0
        self.progress(HISTORY, done, len(records))
        for chunk in _chunks(records, BATCH_SIZE):
            versions = bulk_versions(revision, [ads for ads, _ in chunk])
            versions += bulk_versions(revision, [d for _, drivers in chunk for d in drivers])
            versions += bulk_versions(
                revision, [doc for ads, _ in chunk for doc in documents[ads.pk]]
            )
            _bulk_insert(Version, versions)
            _bulk_insert(
                RegisterChange,
                [
                    RegisterChange(
                        revision=revision,
                        ads=ads,
                        authority_id=ads.authority_id,
                        departement_id=self.authorities.by_pk[ads.authority_id].departement_id,
                        created_at=now,
                    )
                    for ads, _ in chunk
                ],
            )
            done += len(chunk)
            self.progress(HISTORY, done, len(records))


# --- the preview's values ---------------------------------------------------------------


class _Differ:
    """Each change of a modified ADS, old → new, as the preview shows it: the ADS's
    columns, then its drivers, matched by position as the writing matches them. Only for
    the ``rows`` given (the first modified ones); the others get nothing."""

    def __init__(self, rows: list[_Row], existing_drivers: dict[int, list[dict]]) -> None:
        self.lines = {row.line for row in rows}
        self.existing_drivers = existing_drivers
        self.status_labels = dict(Driver.Status.choices)
        # The communes named, in one query, only when some row changes its commune.
        commune_ids = {
            value
            for row in rows
            if row.existing["commune_id"] != row.ads.commune_id
            for value in (row.existing["commune_id"], row.ads.commune_id)
            if value is not None
        }
        self.communes = (
            {commune.pk: str(commune) for commune in Commune.objects.filter(pk__in=commune_ids)}
            if commune_ids
            else {}
        )

    def __call__(self, row: _Row) -> list[Change]:
        if row.line not in self.lines:
            return []
        changes: list[Change] = []
        for column, attname in zip(IMPORTED_ADS_COLUMNS, ADS_ATTNAMES, strict=True):
            before, after = row.existing[attname], getattr(row.ads, attname)
            if before != after:
                changes.append((column.header, self.show(column, before), self.show(column, after)))
        if row.driver_changes:
            changes += self.drivers(
                self.existing_drivers.get(row.existing["id"], []),
                [{a: getattr(d, a) for a in DRIVER_ATTNAMES} for d in row.drivers],
            )
        return changes

    def drivers(self, before: list[dict], after: list[dict]) -> list[Change]:
        changes: list[Change] = []
        # The drivers both lists have; then those the file adds, or leaves out.
        for index, (old, new) in enumerate(zip(before, after, strict=False), 1):
            name = self.show(DRIVER_NAME, new["name"])
            for column, attname in zip(IMPORTED_DRIVER_COLUMNS, DRIVER_ATTNAMES, strict=True):
                if old[attname] != new[attname]:
                    # Named by who they are, unless what changes is their name.
                    who = "" if column is DRIVER_NAME else f" ({name})"
                    changes.append(
                        (
                            f"Conducteur {index}{who} – {column.header}",
                            self.show(column, old[attname]),
                            self.show(column, new[attname]),
                        )
                    )
        for index, new in enumerate(after[len(before) :], len(before) + 1):
            changes.append((f"Conducteur {index} ajouté", None, self.describe(new)))
        for index, old in enumerate(before[len(after) :], len(after) + 1):
            changes.append((f"Conducteur {index} retiré", self.describe(old), None))
        return changes

    def describe(self, driver: dict) -> str:
        status = self.status_labels.get(driver["status"], driver["status"])
        return f"{self.show(DRIVER_NAME, driver['name'])} ({status or EMPTY})"

    def show(self, column: Column, value: Any) -> str:
        """A value as a reader writes it: 01/03/2005, Oui / Non, « (vide) »."""
        if value is None or value == "":
            return EMPTY
        if column.kind is Kind.DATE:
            return value.strftime("%d/%m/%Y")
        if column.kind in (Kind.BOOL, Kind.NULL_BOOL):
            return "Oui" if value else "Non"
        if column.kind is Kind.CHOICE:
            return str(self.status_labels.get(value, value))
        if column.field == "commune.insee_code":
            return self.communes.get(value, f"commune n° {value}")
        text = str(value)
        return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


_Issues = TypeVar("_Issues", bound=list)


def _in_sheet(table: parsing.Table, issues: _Issues) -> _Issues:
    """The issues of a sheet of a workbook that has several: each message says which."""
    if table.sheet:
        for issue in issues:
            issue.message = f"Feuille « {table.sheet} » : {issue.message}"
    return issues


def _header_of(field_name: str) -> str:
    return next((c.header for c in IMPORTED_ADS_COLUMNS if c.field == field_name), field_name)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _bulk_insert(model: type[Model], objects: list[Model]) -> None:
    """``bulk_create`` without returning the new keys; with ``COPY`` on PostgreSQL, four
    times faster for the hundreds of thousands of versions of a national import."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row(
                [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
            )


def _bulk_update(model: type[Model], objects: list[Model], fields: list[str]) -> None:
    """``bulk_update``, in one ``UPDATE … FROM (VALUES …)`` per batch on PostgreSQL:
    Django's CASE WHEN form costs a comparison per row and field for each row updated."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields, batch_size=500)
        return
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    pk = meta.pk
    columns = [pk] + model_fields
    table = connection.ops.quote_name(meta.db_table)
    casts = [f"::{column.db_type(connection)}" for column in columns]
    assignments = ", ".join(
        f"{connection.ops.quote_name(f.column)} = v.{connection.ops.quote_name(f.column)}"
        for f in model_fields
    )
    names = ", ".join(connection.ops.quote_name(c.column) for c in columns)
    with connection.cursor() as cursor:
        for chunk in _chunks(objects, 1000):
            placeholders = ", ".join(
                "(" + ", ".join(f"%s{cast}" for cast in casts) + ")" for _ in chunk
            )
            params = [
                column.get_db_prep_save(getattr(obj, column.attname), connection)
                for obj in chunk
                for column in columns
            ]
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES {placeholders}) "  # noqa: S608
                f"AS v({names}) WHERE t.{connection.ops.quote_name(pk.column)} = "
                f"v.{connection.ops.quote_name(pk.column)}",
                params,
            )


def import_file(
    source: str | Path | IO[bytes],
    *,
    file_name: str,
    user=None,
    commit: bool = False,
    sync: bool = False,
    comment: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Validate a spreadsheet of ADS and, with ``commit``, write it (all or nothing).

    Returns the result: errors, or what each row does (or did). A file that is not a
    readable spreadsheet is an error of the result too, never an exception.
    """
    return Importer(
        source,
        file_name=file_name,
        user=user,
        commit=commit,
        sync=sync,
        comment=comment,
        progress=progress,
    ).run()


__all__ = [
    "Action",
    "ImportResult",
    "Issue",
    "Outcome",
    "expected_headers",
    "import_file",
    "read_layout",
]
