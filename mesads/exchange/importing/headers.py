"""The header row: where each column of the format stands in the file, what a header
close to an expected one probably meant, and the headers a file must have."""

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from .. import parsing
from ..columns import (
    ADS_COLUMNS,
    AUTHORITY_COLUMNS,
    DRIVER_COLUMNS,
    STATUS_COLUMNS,
    driver_header,
)
from .fields import (
    IMPORTED_ADS_COLUMNS,
    IMPORTED_AUTHORITY_COLUMNS,
    IMPORTED_DRIVER_COLUMNS,
    TEMPLATE_DRIVER_BLOCKS,
)
from .results import WHOLE_ROW, Issue

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
