"""Reading the rows: each line of the sheet as model instances, validated as the web
forms validate them, with French messages by column."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model
from django.utils import timezone

from mesads.ads.models import ADS, Driver

from .. import parsing
from ..columns import (
    Column,
    Kind,
)
from .fields import (
    IMPORTED_ADS_COLUMNS,
    IMPORTED_DRIVER_COLUMNS,
    _model_field_name,
)
from .headers import (
    Layout,
    _letter,
)
from .references import (
    AuthorityIndex,
    CommuneIndex,
    _AuthorityRow,
)
from .results import (
    Issue,
)


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
