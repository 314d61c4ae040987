"""What an import reports: each row's action, the issues found (line, column, French
message), the changes of each ADS, the counts, and the stages of its progress."""

from collections.abc import Callable
from dataclasses import dataclass, field

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
