"""What the import writes in bulk, and the changes of each ADS as the preview shows
them."""

from collections.abc import Iterator
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from mesads.ads.models import Driver
from mesads.geo.models import Commune

from .. import parsing
from ..columns import (
    Column,
    Kind,
)
from .fields import (
    ADS_ATTNAMES,
    BATCH_SIZE,
    DRIVER_ATTNAMES,
    DRIVER_NAME,
    IMPORTED_ADS_COLUMNS,
    IMPORTED_DRIVER_COLUMNS,
)
from .results import EMPTY, MAX_VALUE_LENGTH, Change
from .rows import _Row


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
