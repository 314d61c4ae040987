"""Reading the spreadsheets people send: XLSX or CSV, as a header row and rows of cells.

Files come from Excel, LibreOffice, other registries' exports, or our own export: CSV in
UTF-8 (with or without a byte order mark) or Windows-1252, with ``;`` or ``,``; XLSX with
shared or inline strings, dates stored as numbers. This module only turns bytes into
cells, and cells into Python values (``parse_date``, ``parse_bool``, ``cell_text``); what
the cells mean is ``importing``'s business.

Anything that is not a spreadsheet is refused before it is parsed, with a message that
says what was expected (``FileRefused``). The XLSX reader is our own, on the standard
library's C XML parser: openpyxl takes 24 s for the 60,000-row national file, this one 3 s.

Why not python-calamine (0.9.1, Rust; measured by bench/xlsx_readers.py, issue 8): on the
national file it takes 1.1–1.5 s of CPU against our 4.2–5.5 s (on a loaded machine), but
peaks at 195–276 MB against 41–125 MB, and it cannot hold the bounds below: it builds the
sheet's whole used range before a row or a column can be counted. A 1.7 KB file with a
header and one cell at AAAAAAA2 asks it for 20.5 GB and aborts the process (a Rust abort,
not an exception: the worker dies), and one cell in row 1,048,576 costs 800 MB. A few
seconds per import matter less than a worker killed by a 2 KB upload.

Town halls put a title or a few notes above the header row, and a notice on the first
sheet: the header row is looked for in the first lines of each sheet (``find_header``),
with the importer's own test of what a header is, and the rows above it are skipped. Line
numbers stay those of the file.

Hostile files (OPERATIONS.md #4–#9) meet hard bounds before they cost memory: columns,
rows, bytes of XML between two rows, decompressed bytes, shared strings, CSV field size.
Each refusal says which bound was hit. The rows of a file (CSV records, XLSX row elements)
are counted before the first is handed on, so that a file past the row bound costs a
quick read, not the import of 200,000 rows first. An archive whose headers lie (bad CRC, truncated
stream) is « endommagé », never a technical error to retry.
"""

import codecs
import contextlib
import csv
import datetime
import io
import posixpath
import re
import unicodedata
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import filetype
from django.conf import settings

from .columns import unescape_formula

DEFAULT_MAX_SIZE = 50 * 1024 * 1024
ACCEPTED_EXTENSIONS = (".xlsx", ".csv")
EXPECTED = "un tableur au format XLSX (Excel, LibreOffice) ou CSV"

# Excel counts days from 30 December 1899 (it takes 1900 for a leap year), or from
# 1 January 1904 in workbooks made by old Mac versions (``date1904``).
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_EPOCH_1904 = datetime.date(1904, 1, 1)
# Serial numbers that can be a date of the register: 1 January 1901 to 31 December 2199.
_SERIAL_RANGE = (367, 109_574)

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Strict OOXML (an option of Excel's "Save as") uses other namespaces for the same parts.
_STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
# A sheet's XML is about six times the size of the compressed file; anything far beyond
# is a "zip bomb", not a register.
#
# The XML parts are read with the standard library's parser (ruff's S314 is silenced
# below): it never fetches external entities, and the expat it is built on (2.4.1 and
# later) refuses the "billion laughs" and quadratic blow-up expansions; ``_PrologGuard``
# refuses DTDs besides. defusedxml would swap in the pure-Python parser, 10 times slower.
MAX_EXPANSION = 40

# Hard bounds on what a register file can hold: the national file has about 60,000 rows
# and 30 columns (drivers included); far beyond, a file is an attack or an accident.
MAX_COLUMNS = 200
MAX_ROWS = 200_000
# Decompressed XML of all parts together, and between two row ends (one row of a real
# register is a few kilobytes).
MAX_XML_BYTES = 256 * 1024 * 1024
MAX_ROW_XML_BYTES = 8 * 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_STRINGS_CHARS = 64 * 1024 * 1024
# A CSV field longer than this is refused with its line (csv's own default limit).
MAX_FIELD_SIZE = 128 * 1024

# The header row is looked for in this many first lines of a sheet; it is the first one
# where this many cells are headers of the format (a title, a note or a line of the
# notice names one at most). The lines read meanwhile are kept, up to this many
# characters: a title and a few notes are short, a hostile file's lines are not.
HEADER_SEARCH_LINES = 10
MIN_HEADER_MATCHES = 3
HEADER_SEARCH_CHARS = 1024 * 1024

DAMAGED = (
    "Ce fichier est endommagé (archive incomplète ou altérée) : il ne peut pas être lu. "
    "Enregistrez-le de nouveau depuis votre tableur, puis envoyez-le."
)


class FileRefused(Exception):
    """The file cannot be read as a spreadsheet; the message says why, in French."""


def _too_many_rows() -> FileRefused:
    return FileRefused(
        f"Ce fichier compte plus de {MAX_ROWS:,} lignes (limite d’un import) : "
        "découpez-le en plusieurs fichiers.".replace(",", " ")
    )


@dataclass
class Table:
    """A sheet: its header row, then its rows as ``(line number, cells)``.

    Line numbers are those a spreadsheet program shows (the header is line 1, or lower
    when a title sits above it). Cells are ``str`` (CSV, XLSX text), ``int``/``float``
    (XLSX numbers), ``bool`` or ``None``.
    """

    format: str  # "xlsx" or "csv"
    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None = None  # number of data lines, when known in advance
    excel_epoch: datetime.date = EXCEL_EPOCH
    details: dict[str, str] = field(default_factory=dict)  # encoding, separator, sheet, line
    header_line: int = 1
    # The sheet read, when the workbook has several: every message names it.
    sheet: str = ""


# Is this header cell (as text) one of the format's headers?
HeaderTest = Callable[[str], bool]


def max_size() -> int:
    return getattr(settings, "IMPORT_MAX_SIZE", DEFAULT_MAX_SIZE)


def human_size(size: int) -> str:
    """``52428800`` → ``50 Mo``, as French users write sizes."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".replace(".0", "").replace(".", ",") + f" {unit}"
    return f"{size} octets"


def size_limit_message(size: int | None = None) -> str:
    limit = human_size(max_size())
    if size is None:
        return f"Le fichier dépasse la taille maximale autorisée ({limit})."
    return (
        f"Le fichier pèse {human_size(size)} : la taille maximale autorisée est de "
        f"{limit}. Découpez-le (par exemple par département) ou retirez les colonnes inutiles."
    )


def check_upload(name: str, size: int, head: bytes) -> str:
    """A quick check of an uploaded file before it is stored: name, size, first bytes.

    Returns the format ("xlsx" or "csv"); raises ``FileRefused``.
    """
    extension = Path(name).suffix.lower()
    if extension not in ACCEPTED_EXTENSIONS:
        shown = f"« {extension} »" if extension else "sans extension"
        raise FileRefused(
            f"Type de fichier non pris en charge ({shown}) : envoyez {EXPECTED} "
            "(extension .xlsx ou .csv)."
        )
    if size == 0:
        raise FileRefused("Le fichier est vide.")
    if size > max_size():
        raise FileRefused(size_limit_message(size))
    return _sniff(head, extension)


def _sniff(head: bytes, extension: str) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        raise FileRefused(
            f"Ce fichier est un programme (exécutable), pas un tableur : envoyez {EXPECTED}."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "Ce fichier est au format Excel 97-2003 (.xls), qui n’est pas pris en charge : "
            "ouvrez-le dans votre tableur et enregistrez-le au format .xlsx ou .csv."
        )
    kind = filetype.guess(head)
    if kind is not None:
        raise FileRefused(
            f"Ce fichier n’est pas un tableur (contenu de type {kind.extension.upper()}, "
            f"malgré l’extension {extension}) : envoyez {EXPECTED}."
        )
    if b"\x00" in head:
        raise FileRefused(
            f"Ce fichier contient des données binaires : ce n’est pas un CSV. Envoyez {EXPECTED}."
        )
    return "csv"


def read_table(
    source: str | Path | IO[bytes], name: str, is_header: HeaderTest | None = None
) -> Table:
    """Open a spreadsheet file (a path or a binary file) and return its ADS sheet.

    With ``is_header``, the header row is looked for in the first lines, and in a workbook
    the sheet read is the one that has it (see ``find_header``); without, the header is
    the first row of the "ADS" sheet (or of the first one).

    Raises ``FileRefused`` when the file is not a readable spreadsheet.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb") as file:
            return read_table(file, name, is_header)
    data = source.read(max_size() + 1)
    if len(data) > max_size():
        size = None
        if source.seekable():
            size = source.seek(0, io.SEEK_END)
        raise FileRefused(size_limit_message(size))
    file_format = check_upload(name, len(data), data[:8192])
    if file_format == "xlsx":
        return _read_xlsx(data, is_header)
    # The CSV stays bytes, decoded a line at a time: a str of the whole file beside the
    # bytes would double the memory of a large one.
    return _read_csv(data, *detect_encoding(data), is_header)


Row = tuple[int, list[Any]]


def find_header(rows: Iterator[Row], is_header: HeaderTest | None) -> tuple[list[Row], int | None]:
    """The first rows of a sheet, read up to its header row, and where the header is
    among them: the first row of the first ``HEADER_SEARCH_LINES`` lines with at least
    ``MIN_HEADER_MATCHES`` headers of the format. None when no row has that many; the
    rows read (up to the first past those lines, or past ``HEADER_SEARCH_CHARS``) are
    then all returned, for the caller to fall back on.
    """
    read: list[Row] = []
    size = 0
    for line, cells in rows:
        read.append((line, cells))
        if is_header is None:
            return read, 0
        if sum(1 for cell in cells if is_header(cell_text(cell))) >= MIN_HEADER_MATCHES:
            return read, len(read) - 1
        size += sum(len(cell) for cell in cells if isinstance(cell, str))
        if line >= HEADER_SEARCH_LINES or size > HEADER_SEARCH_CHARS:
            break
    return read, None


def _fallback_header(read: list[Row], is_header: HeaderTest | None) -> int:
    """Without a clear header row: the line naming the most headers (the header a town
    hall misspelt, so that its errors are told on its line), or the first one."""
    if is_header is None or not read:
        return 0
    scores = [sum(1 for cell in cells if is_header(cell_text(cell))) for _, cells in read]
    best = max(scores)
    return scores.index(best) if best else 0


# --- CSV --------------------------------------------------------------------------------

_DECODE_CHUNK = 1024 * 1024
_NOT_SPACE = re.compile(rb"\S")


def _check_decodes(data: bytes, start: int, codec: str) -> None:
    """Raise UnicodeDecodeError (with its position in ``data``) unless ``data[start:]`` is
    valid in ``codec``; chunk by chunk, keeping nothing."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    for offset in range(start, len(data), _DECODE_CHUNK):
        try:
            decoder.decode(view[offset : offset + _DECODE_CHUNK])
        except UnicodeDecodeError as error:
            error.start += offset
            raise
    decoder.decode(b"", final=True)


def detect_encoding(data: bytes) -> tuple[int, str, str]:
    """Where the text starts (after a BOM), its codec and the name of its encoding:
    UTF-8 (with or without BOM) or Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [(3, "utf-8", "UTF-8")]
    else:
        candidates = [(0, "utf-8", "UTF-8"), (0, "cp1252", "Windows-1252")]
    for start, codec, label in candidates:
        try:
            _check_decodes(data, start, codec)
        except UnicodeDecodeError as error:
            position = error.start
            continue
        return start, codec, label
    raise FileRefused(
        "Encodage du fichier non reconnu : enregistrez le CSV en « UTF-8 » "
        f"(ou en Windows-1252), ou envoyez un fichier .xlsx. (octet illisible n° {position})"
    )


def detect_separator(lines: Iterable[str]) -> str:
    """The separator of the header row: the most frequent of ``;``, ``,`` and tab on the
    busiest of the first lines, the header's, not that of a title above it (« Registre
    des ADS, mis à jour le… » has a comma and no semicolon). One line at a time."""
    counts = dict.fromkeys((";", ",", "\t"), 0)
    for line in lines:
        line_counts = {separator: line.count(separator) for separator in counts}
        if max(line_counts.values()) > max(counts.values()):
            counts = line_counts
    separator = max(counts, key=lambda s: counts[s])
    return separator if counts[separator] else ";"


def _lines(data: bytes, start: int, codec: str) -> Iterator[str]:
    # A line feed is never part of a character in UTF-8 or Windows-1252.
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end].decode(codec)
        start = end


def _read_csv(
    data: bytes, start: int, codec: str, encoding: str, is_header: HeaderTest | None = None
) -> Table:
    if not _NOT_SPACE.search(data, start):
        raise FileRefused("Le fichier est vide.")
    separator = detect_separator(islice(_lines(data, start, codec), HEADER_SEARCH_LINES))

    def records() -> Iterator[tuple[int, list[str]]]:
        # Lines cut and decoded lazily: a StringIO of the whole text would cost four bytes
        # a character.
        reader = csv.reader(_lines(data, start, codec), delimiter=separator)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error:
                raise FileRefused(
                    f"Ligne {reader.line_num} : un champ dépasse {MAX_FIELD_SIZE // 1024} Ko "
                    "(limite par cellule) ou est mal délimité (guillemet non refermé) : "
                    "corrigez cette ligne."
                ) from None
            if len(record) > MAX_COLUMNS:
                raise FileRefused(
                    f"Ligne {reader.line_num} : {len(record)} colonnes, au-delà des "
                    f"{MAX_COLUMNS} qu’un fichier d’ADS peut avoir."
                )
            if reader.line_num > MAX_ROWS + 1:
                raise _too_many_rows()
            yield reader.line_num, record

    # A spreadsheet numbers records, not physical lines (a cell may hold a line break).
    numbered = ((index, record) for index, (_, record) in enumerate(records(), 1))
    read, found = find_header(numbered, is_header)
    skipped = found if found is not None else _fallback_header(read, is_header)
    header = read[skipped][1] if read else []
    headers = [cell.strip() for cell in header]

    # A first pass checks the bounds and counts the records without keeping them; the
    # rows are then read again, one at a time.
    count = sum(1 for _ in records())

    def rows() -> Iterator[tuple[int, list[Any]]]:
        # Our CSV export escapes text that a spreadsheet would run as a formula with a
        # leading apostrophe; take it off. Everything else is imported as the text it is.
        iterator = records()
        for _ in range(skipped + 1):  # the header and the lines above it
            next(iterator, None)
        for line, (_, record) in enumerate(iterator, skipped + 2):
            yield line, [unescape_formula(cell) if cell[:1] == "'" else cell for cell in record]

    names = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
    return Table(
        "csv",
        headers,
        rows(),
        total=max(count - skipped - 1, 0),
        details={
            "encodage": encoding,
            "séparateur": names[separator],
            "ligne d’en-tête": str(skipped + 1),
        },
        header_line=skipped + 1,
    )


# --- XLSX -------------------------------------------------------------------------------


class _Zip:
    """The parts of the workbook, read with a bound on their expanded size."""

    def __init__(self, data: bytes) -> None:
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            self.names = set(self.zip.namelist())
        except (zipfile.BadZipFile, ValueError, EOFError):
            raise FileRefused(
                f"Ce fichier est une archive endommagée ou incomplète : envoyez {EXPECTED}."
            ) from None
        self.budget = max(len(data), 1024 * 1024) * MAX_EXPANSION
        self.read_bytes = 0
        # The furthest each part has been read: a part read twice (the sheet, counted
        # then read) counts once against MAX_XML_BYTES.
        self.read_to: dict[str, int] = {}

    def open(self, name: str) -> "_BoundedPart":
        info = self.zip.getinfo(name)
        if name not in self.read_to:
            if info.file_size > self.budget:
                raise FileRefused(
                    "Ce classeur est anormalement volumineux une fois décompressé (plus de "
                    f"{MAX_EXPANSION} fois la taille du fichier) : il ne peut pas être importé."
                )
            self.budget -= info.file_size
            self.read_to[name] = 0
        try:
            return _BoundedPart(self.zip.open(info), self, name)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            raise FileRefused(DAMAGED) from None


class _PrologGuard:
    """Refuses a part whose prolog (what comes before its root element) declares a
    document type: entity declarations are how XML "bombs" grow, and a spreadsheet never
    needs a DTD. Expat itself reads the prolog, as the parser that reads the part next
    would: in whatever encoding the part declares or its byte order mark says (UTF-16
    too), however long the comments before it. A declaration can only stand in the
    prolog, so the guard stops at the root element and costs nothing after it."""

    class _RootReached(Exception):
        pass

    def __init__(self) -> None:
        self.parser = expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.StartElementHandler = self._root
        self.done = False

    @staticmethod
    def _doctype(*args: Any) -> None:
        raise FileRefused("Ce classeur contient des déclarations XML interdites.")

    def _root(self, *args: Any) -> None:
        raise self._RootReached

    def feed(self, data: bytes) -> None:
        if self.done or not data:
            return
        try:
            self.parser.Parse(data, False)
        except self._RootReached:
            self.done = True
        except expat.ExpatError:
            raise FileRefused("Ce classeur XLSX est endommagé : il ne peut pas être lu.") from None


class _BoundedPart:
    """A part of the archive, read through a count of the bytes really decompressed
    (the headers' sizes are only claims) and of the bytes since the last row end, and
    through the guard against document type declarations."""

    def __init__(self, handle: IO[bytes], book: "_Zip", name: str) -> None:
        self.handle = handle
        self.book = book
        self.name = name
        self.position = 0
        self.buffer = b""
        self.since_row = 0
        self.guard = _PrologGuard()

    def head(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self._pull(size - len(self.buffer))
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if self.buffer:
            data, self.buffer = self.buffer, b""
        else:
            data = self._pull(64 * 1024 if size is None or size < 0 else size)
        # Checked before the parser reading the part sees the bytes.
        self.guard.feed(data)
        return data

    def _pull(self, size: int) -> bytes:
        try:
            data = self.handle.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError):
            raise FileRefused(DAMAGED) from None
        self.position += len(data)
        beyond = self.position - self.book.read_to[self.name]
        if beyond > 0:
            self.book.read_to[self.name] = self.position
            self.book.read_bytes += beyond
        self.since_row += len(data)
        if self.book.read_bytes > MAX_XML_BYTES:
            raise FileRefused(
                f"Ce classeur dépasse {MAX_XML_BYTES // (1024 * 1024)} Mo une fois décompressé "
                "(limite de lecture) : il ne peut pas être importé."
            )
        if self.since_row > MAX_ROW_XML_BYTES:
            raise FileRefused(
                f"Une ligne de ce classeur occupe plus de {MAX_ROW_XML_BYTES // (1024 * 1024)} "
                "Mo (limite par ligne) : il ne peut pas être importé."
            )
        return data

    def close(self) -> None:
        self.handle.close()


# Encodings in which a row's start tag is the ASCII bytes ``<row`` or ``:row`` (after a
# namespace prefix), as Excel, LibreOffice and our export write every sheet (UTF-8).
_ASCII_ENCODINGS = {b"utf-8", b"utf8", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1"}
_ENCODING_DECLARATION = re.compile(rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)")


def _ascii_compatible(head: bytes) -> bool:
    head = head.removeprefix(codecs.BOM_UTF8)
    if not head.startswith(b"<") or head[1:2] == b"\x00":  # UTF-16 or 32, EBCDIC…
        return False
    declared = _ENCODING_DECLARATION.match(head)
    return declared is None or declared.group(1).lower() in _ASCII_ENCODINGS


def _check_row_count(book: _Zip, part: str) -> None:
    """Refuse a sheet of more than ``MAX_ROWS`` rows before any row is handed on.

    The rows are read one at a time and checked as they come, so that without this a
    sheet of 400,000 rows within the decompression bound was read and checked up to the
    bound first (20–70 s, 700 MB): the import of 200,000 rows, for nothing. The sheet is
    read once more, quickly, and its row elements counted, stopping as soon as there are
    too many; the whole part is inflated, so its checksum is verified too. In UTF-8
    (every sheet Excel or LibreOffice writes) the count is of the bytes ``<row`` and
    ``:row`` (about 0.2 s for the 60,000-row national file): never fewer than the row
    elements, at most a few more (a comment or text holding those bytes). In any other
    encoding, expat counts them.
    """
    handle = book.open(part)
    try:
        if _ascii_compatible(handle.head(1024)):
            count, tail = 0, b""
            while chunk := handle.read(256 * 1024):
                window = tail + chunk
                found = window.count(b"<row") + window.count(b":row")
                if found:
                    count += found
                    handle.since_row = 0
                    if count > MAX_ROWS:
                        raise _too_many_rows()
                tail = window[-3:]  # a start tag cut in two is counted once, whole
        else:
            _count_rows_with_expat(handle)
    finally:
        handle.close()


def _count_rows_with_expat(handle: _BoundedPart) -> None:
    count = 0

    def start(tag: str, attributes: dict) -> None:
        nonlocal count
        if tag.rpartition("}")[2] == "row":
            count += 1
            handle.since_row = 0
            if count > MAX_ROWS:
                raise _too_many_rows()

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    try:
        while chunk := handle.read(256 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise FileRefused("Ce classeur XLSX est endommagé : il ne peut pas être lu.") from None


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _relationships(book: _Zip, part: str) -> dict[str, str]:
    """Relationship id → target part name, for ``part`` (e.g. ``xl/workbook.xml``)."""
    directory, base = posixpath.split(part)
    rels_name = posixpath.join(directory, "_rels", base + ".rels")
    if rels_name not in book.names:
        return {}
    targets = {}
    for element in ET.parse(book.open(rels_name)).getroot():  # noqa: S314
        target = element.get("Target", "")
        if target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(directory, target))
        targets[element.get("Id", "")] = target
    return targets


def _workbook_part(book: _Zip) -> str:
    if "_rels/.rels" in book.names:
        for element in ET.parse(book.open("_rels/.rels")).getroot():  # noqa: S314
            if element.get("Type", "").endswith("/officeDocument"):
                return element.get("Target", "").lstrip("/")
    return "xl/workbook.xml"


def _shared_strings(book: _Zip, part: str | None) -> list[str]:
    if not part or part not in book.names:
        return []
    strings: list[str] = []
    handle = book.open(part)
    characters = 0
    for _, element in ET.iterparse(handle):  # noqa: S314
        if _tag(element) == "si":
            text = _text_of(element)
            strings.append(text)
            characters += len(text)
            element.clear()
            handle.since_row = 0
            if len(strings) > MAX_SHARED_STRINGS or characters > MAX_SHARED_STRINGS_CHARS:
                raise FileRefused(
                    "Ce classeur contient trop de textes (plus de "
                    f"{MAX_SHARED_STRINGS:,} textes ou {MAX_SHARED_STRINGS_CHARS // (1024 * 1024)} "
                    "millions de caractères) : il ne peut pas être importé.".replace(",", " ")
                )
    return strings


def _text_of(element: ET.Element) -> str:
    """The text of a string item: plain (<t>) or rich text runs (<r><t>); phonetic guides
    (<rPh>) are not part of the value."""
    parts = []
    for child in element:
        tag = _tag(child)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _tag(t) == "t")
    return "".join(parts)


_DIGITS = "0123456789"


def column_index(letters: str) -> int:
    """``A`` → 0, ``Z`` → 25, ``AA`` → 26."""
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _read_xlsx(data: bytes, is_header: HeaderTest | None = None) -> Table:
    book = _Zip(data)
    workbook_part = _workbook_part(book)
    if workbook_part not in book.names:
        raise FileRefused(
            "Cette archive n’est pas un classeur XLSX (pas de classeur à l’intérieur) : "
            f"envoyez {EXPECTED}."
        )
    try:
        workbook = ET.parse(book.open(workbook_part)).getroot()  # noqa: S314
        relationships = _relationships(book, workbook_part)
    except ET.ParseError:
        raise FileRefused("Ce classeur XLSX est endommagé : il ne peut pas être lu.") from None
    epoch = EXCEL_EPOCH
    sheets: list[tuple[str, str]] = []
    for element in workbook.iter():
        tag = _tag(element)
        if tag == "workbookPr" and element.get("date1904") in ("1", "true"):
            epoch = EXCEL_EPOCH_1904
        elif tag == "sheet":
            rel_id = element.get(f"{{{_REL_NS}}}id") or element.get(f"{{{_STRICT_REL_NS}}}id")
            sheets.append((element.get("name", ""), relationships.get(rel_id or "", "")))
    if not sheets:
        raise FileRefused("Ce classeur ne contient aucune feuille.")
    strings_part = next(
        (target for target in relationships.values() if target.endswith("sharedStrings.xml")),
        None,
    )
    try:
        strings = _shared_strings(book, strings_part)
    except ET.ParseError:
        raise FileRefused("Ce classeur XLSX est endommagé : il ne peut pas être lu.") from None
    # Our exports and the template name the sheet "ADS": it is looked at first, then the
    # others in order (a notice often comes first). The sheet read is the first whose
    # first lines have the header row.
    ordered = sorted(sheets, key=lambda sheet: sheet[0].strip().upper() != "ADS")
    # The first sheet looked at, kept open (a part is opened once: each opening counts
    # against the bound on decompressed size).
    fallback: tuple[str, str, list[Row], Iterator[Row]] | None = None
    for name, part in ordered:
        if part not in book.names:
            raise FileRefused(f"La feuille « {name} » de ce classeur est introuvable.")
        rows = _sheet_rows(book.open(part), strings)
        with _sheet_errors():
            read, found = find_header(rows, is_header)
        if found is not None:
            break
        if fallback is None:
            fallback = name, part, read, rows
        else:
            rows.close()
    else:
        # No sheet has the header row. A workbook of one sheet, or with an "ADS" sheet,
        # is read as it is: the importer then tells which headers are wrong.
        assert fallback is not None
        name, part, read, rows = fallback
        if len(sheets) > 1 and name.strip().upper() != "ADS":
            rows.close()
            names = ", ".join(f"« {sheet} »" for sheet, _ in sheets)
            raise FileRefused(
                f"Aucune feuille de ce classeur n’a les en-têtes du modèle d’import dans ses "
                f"{HEADER_SEARCH_LINES} premières lignes (feuilles examinées : {names}) : "
                "placez les ADS sur une feuille dont la ligne d’en-tête reprend celle du "
                "modèle d’import."
            )
        found = _fallback_header(read, is_header)
    if fallback is not None and fallback[3] is not rows:
        fallback[3].close()
    if not read:
        raise FileRefused(f"La feuille « {name} » du classeur est vide.")
    with _sheet_errors():
        _check_row_count(book, part)
    line, cells = read[found]
    headers = [cell_text(cell) for cell in cells]
    return Table(
        "xlsx",
        headers,
        _checked(chain(read[found + 1 :], rows)),
        total=None,
        excel_epoch=epoch,
        details={"feuille": name, "ligne d’en-tête": str(line)},
        header_line=line,
        sheet=name if len(sheets) > 1 else "",
    )


@contextlib.contextmanager
def _sheet_errors() -> Iterator[None]:
    """Reading a sheet's rows: a damaged part is a refusal, not a traceback."""
    try:
        yield
    except ET.ParseError:
        raise FileRefused("Ce classeur XLSX est endommagé : il ne peut pas être lu.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise FileRefused(DAMAGED) from None


def _checked(rows: Iterator[Row]) -> Iterator[Row]:
    with _sheet_errors():
        yield from rows


def _sheet_rows(handle: "_BoundedPart", strings: list[str]) -> Iterator[tuple[int, list[Any]]]:
    """The non-empty rows of a worksheet, in order, as (row number, cells).

    The C parser builds each ``<row>`` element; Python only walks its cells. Cells may be
    omitted when empty, so each one is placed by its reference (``r="AB12"``).
    """
    main = f"{{{_MAIN_NS}}}"
    if b"purl.oclc.org" in handle.head(4096):
        main = f"{{{_STRICT_MAIN_NS}}}"
    row_tag, v_tag, is_tag, t_tag = main + "row", main + "v", main + "is", main + "t"
    columns: dict[str, int] = {}
    previous = 0
    row_count = 0
    parent = None
    for event, element in ET.iterparse(handle, events=("start", "end")):  # noqa: S314
        if event == "start":
            if parent is None and element.tag == main + "sheetData":
                parent = element
            continue
        if element.tag != row_tag:
            continue
        handle.since_row = 0
        row_count += 1
        try:
            number = int(element.get("r") or previous + 1)
        except ValueError:
            raise FileRefused(
                f"Ce classeur XLSX est endommagé : une ligne porte le numéro "
                f"« {element.get('r', '')[:20]} »."
            ) from None
        if row_count > MAX_ROWS or number > MAX_ROWS + 1:
            raise _too_many_rows()
        previous = number
        cells: list[Any] = []
        for position, cell in enumerate(element):
            reference = cell.get("r")
            if reference:
                letters = reference.rstrip(_DIGITS)
                index = columns.get(letters)
                if index is None:
                    if len(letters) > 3 or not letters.isalpha():
                        index = MAX_COLUMNS
                    else:
                        index = column_index(letters)
                    columns[letters] = index
            else:
                index = position
            if index >= MAX_COLUMNS:
                raise FileRefused(
                    f"Ligne {number} : une cellule est placée en colonne « {reference[:20]} », "
                    f"au-delà des {MAX_COLUMNS} colonnes qu’un fichier d’ADS peut avoir."
                )
            kind = cell.get("t", "n")
            if kind == "inlineStr":
                inline = cell.find(is_tag)
                if inline is None:
                    value: Any = None
                elif len(inline) == 1 and inline[0].tag == t_tag:  # the usual <is><t>…</t></is>
                    value = inline[0].text
                else:
                    value = _text_of(inline)
            else:
                v = cell.find(v_tag)
                text = v.text if v is not None else None
                if text is None:
                    value = None
                elif kind == "s":
                    value = strings[int(text)] if int(text) < len(strings) else ""
                elif kind in ("str", "e"):
                    # A formula's cached text result (str), or an error such as #REF! (e).
                    value = text
                elif kind == "b":
                    value = text == "1"
                else:
                    value = _number(text)
            if value is None or value == "":
                continue
            if index >= len(cells):
                cells.extend([None] * (index - len(cells) + 1))
            cells[index] = value
        element.clear()
        if parent is not None:
            # A cleared row stays attached to its sheet: drop it, or millions of empty
            # rows add up (OPERATIONS.md #5).
            parent.clear()
        if cells:
            yield number, cells


def _number(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


# --- cells ------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell that cannot be read as the expected type; the message is in French."""


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a useless ``.0`` (a SIRET typed as a number)."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SERIAL = re.compile(r"^\d{1,6}(?:\.0+)?$")
MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()


def parse_date(
    value: Any, epoch: datetime.date = EXCEL_EPOCH, today: datetime.date | None = None
) -> datetime.date | None:
    """``dd/mm/yyyy``, ``dd/mm/yy``, ISO ``yyyy-mm-dd``, or an Excel serial number."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        raise CellError("Une date est attendue (jj/mm/aaaa), pas une case à cocher.")
    if isinstance(value, (int, float)):
        return _from_serial(value, epoch)
    text = str(value).strip()
    if not text:
        return None
    if match := _DMY.match(text):
        day, month, year = (int(part) for part in match.groups())
        if len(match.group(3)) == 2:
            # Two-digit years: the most recent past century (05 → 2005, 98 → 1998).
            current = (today or datetime.date.today()).year
            year += 2000 if 2000 + year <= current else 1900
        return _date(year, month, day, text)
    if match := _ISO.match(text):
        year, month, day = (int(part) for part in match.groups())
        return _date(year, month, day, text)
    if _SERIAL.match(text):
        return _from_serial(float(text), epoch)
    raise CellError(
        f"« {text} » n’est pas une date reconnue : écrivez-la jj/mm/aaaa (par exemple 15/03/2012)."
    )


def _date(year: int, month: int, day: int, text: str) -> datetime.date:
    if not 1 <= month <= 12:
        raise CellError(f"« {text} » n’est pas une date valide : il n’y a pas de mois n° {month}.")
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise CellError(
            f"« {text} » n’est pas une date valide : le {day} {MONTHS[month - 1]} {year} "
            "n’existe pas."
        ) from None


def _from_serial(number: float, epoch: datetime.date) -> datetime.date:
    if not _SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]:
        raise CellError(
            f"« {cell_text(number)} » n’est pas une date : écrivez-la jj/mm/aaaa "
            "(par exemple 15/03/2012)."
        )
    return epoch + datetime.timedelta(days=int(number))


TRUE_WORDS = {"oui", "o", "x", "1", "vrai", "true", "yes", "y"}
FALSE_WORDS = {"non", "n", "0", "faux", "false", "no"}


def parse_bool(value: Any, *, allow_unknown: bool) -> bool | None:
    """``oui/non/o/n/x/1/0/vrai/faux`` in any case. Empty: unknown (``None``) when
    allowed, otherwise "no", as an unticked box on the web form."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = cell_text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    if not text:
        return None if allow_unknown else False
    accepted = "Oui ou Non (ou O/N, X, 1/0, Vrai/Faux)"
    if allow_unknown:
        accepted += ", ou laissez vide si l’information n’est pas connue"
    raise CellError(f"« {cell_text(value)} » n’est pas une réponse reconnue : écrivez {accepted}.")


def simplify(text: str) -> str:
    """A key to compare names and headers: no accents, no case, one kind of dash, apostrophe
    and space."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"[’‘`´]", "'", text)
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def name_key(text: str) -> str:
    """A key to compare names of places: letters and digits only (Saint-Étienne =
    saint etienne = ST ETIENNE is not attempted: only case, accents and punctuation)."""
    return re.sub(r"[^a-z0-9]+", "", simplify(text))
