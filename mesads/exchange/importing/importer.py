"""One import of one file: validated whole, then written in one transaction, with one
revision in the history."""

import datetime
import time
from collections import defaultdict
from pathlib import Path
from typing import IO

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from reversion.models import Revision, Version

from mesads.ads.forms import ADS_NUMBER_TAKEN

# reversion's own record of each model's serialized fields (ADSDocument leaves out its
# file): the versions written here must be exactly those it would write.
from mesads.ads.history import bulk_versions
from mesads.ads.models import ADS, ADSDocument, Driver, RegisterChange
from mesads.ads.services import NOT_SUBSTANTIVE
from mesads.authorities.models import Authority

from .. import parsing
from .fields import (
    ADS_ATTNAMES,
    ADS_BOOKKEEPING,
    ADS_DB_FIELDS,
    ADS_DERIVED,
    ADS_EXCLUDE,
    BATCH_SIZE,
    DRIVER_ATTNAMES,
    DRIVER_DB_FIELDS,
    DRIVER_EXCLUDE,
    DRIVER_FIELDS,
    IMPORTED_ADS_COLUMNS,
    PROGRESS_EVERY,
)
from .headers import (
    Layout,
    is_known_header,
    read_layout,
)
from .results import (
    CREATED_MEANWHILE,
    HISTORY,
    HISTORY_COMMENT,
    MAX_DIFFS_KEPT,
    MAX_ERRORS_KEPT,
    READING,
    VALIDATING,
    WHOLE_ROW,
    WRITING,
    Action,
    ImportResult,
    Issue,
    IssueList,
    Outcome,
    Progress,
)
from .rows import _Reader, _Row, _validation_messages
from .writing import _bulk_insert, _bulk_update, _chunks, _Differ, _header_of, _in_sheet


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
