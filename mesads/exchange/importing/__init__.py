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
``clean()`` (the project's convention, see ``tests/exchange/test_import.py``), and the database
still enforces them when writing: an import that slipped past would roll back whole.

One module per step, every name imported from here (``mesads.exchange.importing``):
``fields`` (what is read and written), ``results`` (what is reported), ``headers``,
``references`` (authorities and communes), ``rows``, ``writing`` (bulk writes and the
preview's changes) and ``importer`` (the import itself).
"""

from .fields import (
    ADS_ATTNAMES,
    ADS_BOOKKEEPING,
    ADS_DB_FIELDS,
    ADS_DERIVED,
    ADS_EXCLUDE,
    ADS_FIELDS,
    BATCH_SIZE,
    DRIVER_ATTNAMES,
    DRIVER_DB_FIELDS,
    DRIVER_EXCLUDE,
    DRIVER_FIELDS,
    DRIVER_NAME,
    IMPORTED_ADS_COLUMNS,
    IMPORTED_AUTHORITY_COLUMNS,
    IMPORTED_DRIVER_COLUMNS,
    PROGRESS_EVERY,
    TEMPLATE_DRIVER_BLOCKS,
)
from .headers import (
    Layout,
    close_header,
    expected_headers,
    is_known_header,
    read_layout,
)
from .importer import (
    Importer,
    import_file,
)
from .references import (
    AUTHORITY_TYPE_SYNONYMS,
    AuthorityIndex,
    CommuneIndex,
)
from .results import (
    CREATED_MEANWHILE,
    EMPTY,
    HISTORY,
    HISTORY_COMMENT,
    MAX_DIFFS_KEPT,
    MAX_ERRORS_KEPT,
    MAX_VALUE_LENGTH,
    READING,
    VALIDATING,
    WHOLE_ROW,
    WRITING,
    Action,
    Change,
    ImportResult,
    Issue,
    IssueList,
    Outcome,
    Progress,
)

__all__ = [
    "ADS_ATTNAMES",
    "ADS_BOOKKEEPING",
    "ADS_DB_FIELDS",
    "ADS_DERIVED",
    "ADS_EXCLUDE",
    "ADS_FIELDS",
    "AUTHORITY_TYPE_SYNONYMS",
    "Action",
    "AuthorityIndex",
    "BATCH_SIZE",
    "CREATED_MEANWHILE",
    "Change",
    "CommuneIndex",
    "DRIVER_ATTNAMES",
    "DRIVER_DB_FIELDS",
    "DRIVER_EXCLUDE",
    "DRIVER_FIELDS",
    "DRIVER_NAME",
    "EMPTY",
    "HISTORY",
    "HISTORY_COMMENT",
    "IMPORTED_ADS_COLUMNS",
    "IMPORTED_AUTHORITY_COLUMNS",
    "IMPORTED_DRIVER_COLUMNS",
    "ImportResult",
    "Importer",
    "Issue",
    "IssueList",
    "Layout",
    "MAX_DIFFS_KEPT",
    "MAX_ERRORS_KEPT",
    "MAX_VALUE_LENGTH",
    "Outcome",
    "PROGRESS_EVERY",
    "Progress",
    "READING",
    "TEMPLATE_DRIVER_BLOCKS",
    "VALIDATING",
    "WHOLE_ROW",
    "WRITING",
    "close_header",
    "expected_headers",
    "import_file",
    "is_known_header",
    "read_layout",
]
