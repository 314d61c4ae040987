"""The hostile spreadsheets of OPERATIONS.md #4–#9, #18 and the review of 2026-12-07 (O9,
L12), generated (never committed).

Run as a script to print, for each file, its size, the time and memory of
`manage.py import_ads FILE` (a dry run, in a fresh process) above that process's own
start-up, and the message it got:

    .venv/bin/python tests/support/hostile_files.py
"""

import io
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="ADS" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = "</sheetData></worksheet>"


def _headers() -> list[str]:
    # The register's real header row: each file passes the header check and reaches the
    # rows. (Needs Django set up: pytest does it, and the script below.)
    from mesads.exchange.importing import expected_headers

    return expected_headers(1)


def _header_row() -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{header}</t></is></c>' for header in _headers())
    return f'<row r="1">{cells}</row>'


def _workbook(sheet: bytes | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if sheet is not None:
            book.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def far_column() -> bytes:
    """#4: 1.5 KB, one cell at column AAAAAAA (about 8 billion columns to the right)."""
    sheet = SHEET_START + '<row r="2"><c r="AAAAAAA2"><v>1</v></c></row>' + SHEET_END
    return _workbook(sheet.encode())


def empty_rows() -> bytes:
    """#5: tens of KB of empty <row/> elements (millions once decompressed)."""
    sheet = SHEET_START + _header_row() + "<row/>" * 3_000_000 + SHEET_END
    return _workbook(sheet.encode())


def padded_cell() -> bytes:
    """#6: a workbook under the 50 MB upload limit whose one cell holds gigabytes of
    padding once decompressed."""
    padding = b" " * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = (SHEET_START + _header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>').encode()
    # Each block ends with a full flush, so it stands alone: compressed once, repeated
    # (compressing the 2 GB took most of this module's set-up).
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(padding) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(("</t></is></c></row>" + SHEET_END).encode()) + compressor.flush()
    stream = start + block * 2000 + end  # 2 GB of spaces
    return _raw_zip_with_sheet(stream, claimed_size=2000 * len(padding) + 500)


def lying_zip() -> bytes:
    """#8: headers claim 2 MB for a sheet that inflates to 1.1 GB (and its CRC is wrong).
    The 2 MB it claims hold fewer rows than the import's bound: what stops it is the
    archive's lie."""
    chunk = b"<row><c/></row>\n" * (1024 * 1024 // 16)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress((SHEET_START + _header_row()).encode())
    head += compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(SHEET_END.encode()) + compressor.flush()
    stream = head + block * 1100 + tail
    return _raw_zip_with_sheet(stream, claimed_size=2 * 1024 * 1024, crc=0x12345678)


def many_rows() -> bytes:
    """O9: 400,000 short rows, 24 MB of XML from a file of about 100 KB: within the
    decompression bound (40 times the file, at least 40 MB), twice the row bound. Each row
    is an ADS of Nîmes with the same number."""
    row = '<row><c r="C1"><v>30189</v></c><c r="E1"><v>12</v></c></row>'
    sheet = SHEET_START + _header_row() + row * 400_000 + SHEET_END
    return _workbook(sheet.encode())


def _raw_zip_with_sheet(deflated: bytes, *, claimed_size: int, crc: int | None = None) -> bytes:
    """A workbook whose sheet is written by hand: the deflated stream as given, with the
    sizes and CRC the headers claim (zipfile would compute the true ones)."""
    base = io.BytesIO(_workbook(None))
    with zipfile.ZipFile(base) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    output = io.BytesIO()
    central = []
    name = b"xl/worksheets/sheet1.xml"
    parts = [
        (info.filename.encode(), zlib.compress(data)[2:-4], zlib.crc32(data), len(data))
        for info, data in entries
    ]
    parts.append((name, deflated, crc if crc is not None else 0, claimed_size))
    for filename, data, checksum, size in parts:
        offset = output.tell()
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            8,
            0,
            0,
            checksum,
            len(data),
            size,
            len(filename),
            0,
        )
        output.write(local + filename + data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                checksum,
                len(data),
                size,
                len(filename),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + filename
        )
    start = output.tell()
    directory = b"".join(central)
    output.write(directory)
    output.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory), start, 0)
    )
    return output.getvalue()


def doctype_late() -> bytes:
    """#18: a DOCTYPE placed after the first 512 bytes of the sheet."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>' + "<!-- " + "x" * 900 + " -->"
        '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>" + _header_row() + SHEET_END
    )
    return _workbook(sheet.encode())


def _doctype_sheet(padding: int) -> str:
    # The entity is used in a cell: a reader that lets the declaration through imports it.
    return (
        '<?xml version="1.0" encoding="{encoding}"?>' + "<!-- " + "x" * padding + " -->"
        '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<sheetData>" + _header_row() + '<row r="2"><c r="C2" t="inlineStr"><is><t>&a;</t>'
        "</is></c></row>" + SHEET_END
    )


def doctype_far() -> bytes:
    """L12: a DOCTYPE after 8 KB of comment, beyond any window at the start of the part."""
    return _workbook(_doctype_sheet(8 * 1024).format(encoding="UTF-8").encode())


def doctype_utf16() -> bytes:
    """L12: a sheet in UTF-16 (with its byte order mark) whose DOCTYPE comes first: no
    search for the ASCII bytes ``<!DOCTYPE`` finds it."""
    return _workbook(_doctype_sheet(10).format(encoding="UTF-16").encode("utf-16"))


def csv_of_separators() -> bytes:
    """#7: 40 MB of ";\\n"."""
    return b";\n" * (20 * 1024 * 1024)


def csv_of_garbage() -> bytes:
    """#7: a valid header, then 199,000 garbage rows (19 MB): every row is an error."""
    header = ";".join(_headers()) + "\n"
    line = "zz;" + "x" * 80 + ";?;12\n"
    return (header + line * 199_000).encode()


def csv_long_field() -> bytes:
    """#9: one field over 128 KB."""
    header = ";".join(_headers()) + "\n"
    return (header + "Nîmes;1;" + "A" * (200 * 1024) + ";\n").encode()


CORPUS = {
    "far-column.xlsx": (far_column, "colonne"),
    "empty-rows.xlsx": (empty_rows, "lignes"),
    "padded-cell.xlsx": (padded_cell, "volumineux"),
    "lying-zip.xlsx": (lying_zip, "endommagé"),
    "doctype-late.xlsx": (doctype_late, "déclarations XML interdites"),
    "doctype-far.xlsx": (doctype_far, "déclarations XML interdites"),
    "doctype-utf16.xlsx": (doctype_utf16, "déclarations XML interdites"),
    "many-rows.xlsx": (many_rows, "plus de 200 000 lignes"),
    "separators.csv": (csv_of_separators, "lignes"),
    "garbage.csv": (csv_of_garbage, "lignes"),
    "long-field.csv": (csv_long_field, "Ligne 2"),
}


def write_corpus(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (build, _) in CORPUS.items():
        path = folder / name
        if not path.exists():
            path.write_bytes(build())
        paths[name] = path
    return paths


# Runs the command in the child and reports what the file cost that process: its peak
# memory (VmHWM: the process image started by exec, not the parent's pages at fork) and its
# CPU time, both from the moment it has started, i.e. loaded Django, the project and the
# command and opened its database connection. What start-up takes varies between machines
# (111 MB on one, 70 MB on another); what a file costs above it does not.
_CHILD = """
import atexit, os, runpy, sys, time
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
import django
django.setup()
import mesads.exchange.management.commands.import_ads
from django.db import connection
connection.ensure_connection()
def _hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return line.split()[1]
START_KB, START_CPU = _hwm(), time.process_time()
def _report():
    cpu = time.process_time() - START_CPU
    sys.stderr.write(f"START_KB {START_KB}\\nPEAK_KB {_hwm()}\\nCPU_S {cpu:.3f}\\n")
atexit.register(_report)
sys.argv = ["manage.py", "import_ads", sys.argv[1]]
runpy.run_path("manage.py", run_name="__main__")
"""


def _figure(output: str, name: str) -> float:
    values = [line.split()[1] for line in output.splitlines() if line.startswith(name + " ")]
    return float(values[-1]) if values else float("nan")


def import_in_subprocess(path: Path, env: dict[str, str] | None = None) -> dict:
    """`manage.py import_ads PATH` (a dry run) in a fresh process: exit code, output, wall
    time, and what reading the file cost that process above its own start-up: memory
    (``above_start_mb``, its peak minus its start-up's) and CPU time (``cpu_s``)."""
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.monotonic() - start
    output = result.stdout + result.stderr
    peak_mb = _figure(output, "PEAK_KB") / 1024
    start_mb = _figure(output, "START_KB") / 1024
    return {
        "returncode": result.returncode,
        "output": output,
        "seconds": seconds,
        "cpu_s": _figure(output, "CPU_S"),
        "start_mb": start_mb,
        "peak_mb": peak_mb,
        "above_start_mb": peak_mb - start_mb,
    }


if __name__ == "__main__":
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # the database the command will read
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    print(f"{'file':<20} {'size':>10} {'cpu':>7} {'start':>7} {'+peak':>7}  message")
    for name, path in write_corpus(folder).items():
        result = import_in_subprocess(path)
        message = next(
            (
                line
                for line in result["output"].splitlines()
                if "Ligne" in line or "fichier" in line.lower() or "classeur" in line.lower()
            ),
            result["output"].strip().splitlines()[-1] if result["output"].strip() else "",
        )
        size = path.stat().st_size
        print(
            f"{name:<20} {size / 1024:>8.1f}KB {result['cpu_s']:>6.2f}s "
            f"{result['start_mb']:>5.0f}MB {result['above_start_mb']:>5.0f}MB  {message[:100]}"
        )
