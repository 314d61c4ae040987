"""Our XLSX reader (``parsing.read_table``) beside python-calamine, on the national file
and on the hostile workbooks (issue 8).

    .venv/bin/python bench/xlsx_readers.py [--rows 60000] [--runs 3] [--cap-gb 4] [--rebuild]

The national file (60,000 rows, the import's headers ``importing.expected_headers()``,
values drawn from a fixed seed) is written three ways, in var/bench-xlsx-readers/: by our
streaming writer (``xlsx.py``, what the export produces: inline strings, dates as styled
numbers); by openpyxl (its own layout and date cells; openpyxl 3.1 writes inline strings
too); and our writer's file with every text moved to xl/sharedStrings.xml, as Excel and
LibreOffice save a town hall's file. Each reader reads every row of each file in a fresh
process, only counting them, best of ``--runs`` by wall time ("cpu s" is that run's CPU
time, which a busy machine disturbs less); one more run, untimed, compares the cells it
got with ours (dates as Excel serial numbers, empty rows left out).

Readers: ours, iterating ``Table.rows``; calamine ``to_python()`` (every row as a Python
list), ``iter_rows()``, and "bounded": ``sheet.height``/``width`` checked against
``MAX_ROWS``/``MAX_COLUMNS`` before ``to_python(nrows=…)``, the best a calamine-based
reader could do (the sheet is already loaded by then).

Then each hostile XLSX of ``tests/support/hostile_files.py`` (CSV files aside: calamine reads no
CSV), and two more written here: a header row plus one cell at column AAAAAAA, and a
header row plus one cell in Excel's last row (1,048,576): the sheet's used range is what
calamine allocates. Each child process runs under an address-space cap (``--cap-gb``,
``RLIMIT_AS``) so that a reader that allocates without bound fails there instead of
swapping the machine. Peak memory is the child's own VmHWM (reported at exit, or polled
from /proc while it runs when it is killed); "base" is its memory before reading.

python-calamine is optional: without it, only our reader is measured.
"""

import argparse
import datetime
import hashlib
import importlib.metadata
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
WORK_DIR = BASE_DIR / "var" / "bench-xlsx-readers"
EXCEL_EPOCH = datetime.date(1899, 12, 30)
EXCEL_LAST_ROW = 1_048_576
TIMEOUT = 300  # seconds, per child

try:
    import python_calamine
except ImportError:
    python_calamine = None

READERS = {
    "ours": "read_table, rows iterated",
    "calamine": "to_python()",
    "calamine-iter": "iter_rows()",
    "calamine-bounded": "height/width checked, to_python(nrows)",
}


# --- the national file ------------------------------------------------------------------


def national_rows(count: int, seed: int = 1) -> tuple[list[str], list[int], list[list]]:
    """The import's headers, the indexes of its date columns, and ``count`` rows of
    plausible values: authorities of every kind (a third of the ADS in Paris), holders
    (people and companies), one to three drivers, dates as Excel serial numbers."""
    from faker import Faker

    from mesads.ads.generation import COMPANY_FORMS, COMPANY_PREFIXES, NOTES
    from mesads.exchange.importing import expected_headers

    headers = expected_headers()
    dates = [i for i, header in enumerate(headers) if "date" in header.lower()]
    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    authorities = [("Préfecture", "Préfecture de police de Paris", "75", "75")]
    for _ in range(3000):
        departement = f"{rng.randint(1, 95):02d}"
        kind = rng.choices(["Commune", "EPCI", "Préfecture", "Aéroport"], [90, 6, 3, 1])[0]
        city = fake.city()
        code = (
            f"{departement}{rng.randint(1, 999):03d}"
            if kind == "Commune"
            else str(rng.randint(200_000_000, 299_999_999))
        )
        name = {"Commune": city, "EPCI": f"Communauté de communes de {city}"}.get(
            kind, f"{kind} de {city}"
        )
        authorities.append((kind, name, code, departement))
    statuses = ["Titulaire exploitant", "Salarié", "Locataire-gérant", "Locataire coopérateur"]
    serial = lambda day: day.toordinal() - EXCEL_EPOCH.toordinal()  # noqa: E731
    rows = []
    numbers: dict[str, int] = {}
    for _ in range(count):
        authority = authorities[0] if rng.random() < 1 / 3 else rng.choice(authorities[1:])
        kind, name, code, departement = authority
        numbers[code] = numbers.get(code, 0) + 1
        commune = code if kind == "Commune" else f"{departement}{rng.randint(1, 999):03d}"
        created = datetime.date(1975, 1, 1) + datetime.timedelta(days=rng.randint(0, 18000))
        attributed = created + datetime.timedelta(days=rng.randint(0, 3000))
        renewed = attributed + datetime.timedelta(days=rng.randint(0, 1800))
        if rng.random() < 0.3:
            holder = (
                f"{rng.choice(COMPANY_PREFIXES)} {fake.last_name()} {rng.choice(COMPANY_FORMS)}"
            )
        else:
            holder = fake.name()
        siret = "".join(rng.choices("0123456789", k=14))
        letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
        plate = (
            f"{rng.choice(letters)}{rng.choice(letters)}-{rng.randint(100, 999)}-"
            f"{rng.choice(letters)}{rng.choice(letters)}"
        )
        yes_no = lambda share: "Oui" if rng.random() < share else "Non"  # noqa: E731
        row = [
            kind,
            name,
            code,
            departement,
            f"{numbers[code]}",
            commune,
            serial(created),
            serial(attributed),
            serial(renewed) if rng.random() < 0.6 else None,
            yes_no(0.95),
            holder,
            siret,
            fake.phone_number(),
            f"contact{rng.randint(1, 10**6)}@example.{rng.choice(['com', 'net', 'org'])}",
            plate,
            rng.choice(["Oui", "Non", None]),
            rng.choice(["Oui", "Non", None]),
            yes_no(0.4),
            rng.choice(NOTES) if rng.random() < 0.1 else None,
        ]
        drivers = rng.choices([1, 2, 3], [60, 30, 10])[0]
        for index in range(3):
            if index >= drivers:
                row += [None] * 5
                continue
            status = rng.choice(statuses)
            lease = attributed + datetime.timedelta(days=rng.randint(0, 2000))
            row += [
                status,
                fake.name(),
                "".join(rng.choices("0123456789", k=14)) if status != "Salarié" else None,
                f"{departement}-{rng.randint(10_000, 99_999)}",
                serial(lease) if status.startswith("Locataire") else None,
            ]
        assert len(row) == len(headers)
        rows.append(row)
    return headers, dates, rows


def write_ours(path: Path, headers: list[str], dates: list[int], rows: list[list]) -> None:
    from mesads.exchange import xlsx

    with xlsx.Workbook(str(path), ["ADS"]) as workbook:
        workbook.write_sheet(headers, rows, dict.fromkeys(dates, xlsx.DATE))


def write_openpyxl(path: Path, headers: list[str], dates: list[int], rows: list[list]) -> None:
    """As a spreadsheet program saves it: shared strings, dates as styled numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("ADS")
    sheet.append(headers)
    date_columns = set(dates)
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            if index in date_columns and value is not None:
                cell = WriteOnlyCell(sheet, EXCEL_EPOCH + datetime.timedelta(days=value))
                cell.number_format = "dd/mm/yyyy"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(path)


_INLINE_CELL = re.compile(
    r'<c r="([A-Z]+[0-9]+)" t="inlineStr"((?: s="[0-9]+")?)><is><t(?: xml:space="preserve")?>'
    r"(.*?)</t></is></c>",
    re.DOTALL,
)


def to_shared_strings(source: Path, target: Path) -> None:
    """``source`` (our writer's inline strings) as Excel and LibreOffice save it: every
    text in xl/sharedStrings.xml, once, and cells that point to it (``t="s"``)."""
    index: dict[str, int] = {}
    count = 0

    def shared(match: re.Match) -> str:
        nonlocal count
        count += 1
        number = index.setdefault(match.group(3), len(index))
        return f'<c r="{match.group(1)}" t="s"{match.group(2)}><v>{number}</v></c>'

    with zipfile.ZipFile(source) as book, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in book.infolist():
            data = book.read(info).decode()
            if info.filename == "xl/worksheets/sheet1.xml":
                data = _INLINE_CELL.sub(shared, data)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    "</Relationships>",
                    '<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/'
                    'officeDocument/2006/relationships/sharedStrings" '
                    'Target="sharedStrings.xml"/></Relationships>',
                )
            elif info.filename == "[Content_Types].xml":
                data = data.replace(
                    "</Types>",
                    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                    "</Types>",
                )
            out.writestr(info.filename, data)
        items = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in index)
        out.writestr(
            "xl/sharedStrings.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{count}" uniqueCount="{len(index)}">{items}</sst>',
        )


def national_files(count: int, rebuild: bool) -> dict[str, Path]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    paths = {
        "national (xlsx.py)": WORK_DIR / f"ads-france-{count}-xlsxpy.xlsx",
        "national (openpyxl)": WORK_DIR / f"ads-france-{count}-openpyxl.xlsx",
        "national (shared)": WORK_DIR / f"ads-france-{count}-shared-strings.xlsx",
    }
    if rebuild or not all(path.exists() for path in paths.values()):
        start = time.perf_counter()
        headers, dates, rows = national_rows(count)
        write_ours(paths["national (xlsx.py)"], headers, dates, rows)
        # openpyxl (3.1) writes inline strings too, as its own writer lays them out.
        write_openpyxl(paths["national (openpyxl)"], headers, dates, rows)
        to_shared_strings(paths["national (xlsx.py)"], paths["national (shared)"])
        print(f"National files written ({time.perf_counter() - start:.0f} s).", flush=True)
    for path in paths.values():
        with zipfile.ZipFile(path) as book:
            shared = "xl/sharedStrings.xml" in book.namelist()
        print(
            f"  {path.relative_to(BASE_DIR)}: {path.stat().st_size / 1e6:.1f} MB, "
            f"{'shared strings' if shared else 'inline strings'}"
        )
    return paths


# --- the hostile files ------------------------------------------------------------------


def hostile_files(rebuild: bool) -> dict[str, Path]:
    from tests.support import hostile_files as corpus

    folder = WORK_DIR / "hostile"
    if rebuild and folder.exists():
        for path in folder.iterdir():
            path.unlink()
    paths = {name: path for name, path in corpus.write_corpus(folder).items() if "xlsx" in name}
    header = corpus._header_row()
    extra = {
        # One cell far right of a real header row: the used range spans both.
        "far-cell+header.xlsx": '<row r="2"><c r="AAAAAAA2"><v>1</v></c></row>',
        # One cell in Excel's last row, below a real header row.
        "last-row+header.xlsx": (
            f'<row r="{EXCEL_LAST_ROW}"><c r="A{EXCEL_LAST_ROW}"><v>1</v></c></row>'
        ),
    }
    for name, row in extra.items():
        path = folder / name
        if not path.exists():
            sheet = corpus.SHEET_START + header + row + corpus.SHEET_END
            path.write_bytes(corpus._workbook(sheet.encode()))
        paths[name] = path
    return paths


# --- one reader on one file, in the child process --------------------------------------


def _canonical(value: object) -> object:
    """A cell as both readers can be compared: dates as Excel serial numbers, integral
    floats as ints, empty text as no cell."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        delta = value - datetime.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400
    if isinstance(value, datetime.date):
        return (value - EXCEL_EPOCH).days
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rows_of(reader: str, path: Path) -> Iterator[list]:
    """Every row of the sheet, the header first, as the reader gives it."""
    if reader == "ours":
        from mesads.exchange.parsing import read_table

        table = read_table(path, path.name)
        yield table.headers
        for _, cells in table.rows:
            yield cells
        return
    from mesads.exchange.parsing import MAX_COLUMNS, MAX_ROWS

    with open(path, "rb") as file:
        workbook = python_calamine.CalamineWorkbook.from_filelike(file)
    sheet = workbook.get_sheet_by_index(0)
    if reader == "calamine-iter":
        yield from sheet.iter_rows()
        return
    if reader == "calamine-bounded":
        if sheet.height > MAX_ROWS + 1 or sheet.width > MAX_COLUMNS:
            raise ValueError(f"refused: sheet {sheet.height:,} × {sheet.width:,} cells")
        yield from sheet.to_python(nrows=MAX_ROWS + 1)
        return
    yield from sheet.to_python()


def _memory(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(reader: str, path: Path, cap_gb: float, check: bool) -> None:
    """Read every row; timed, only counting them, or (``check``) with a digest of the
    cells as both readers can be compared, and empty rows left out as ours does."""
    cap = int(cap_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # The reader needs the settings (the upload limit), not the apps: no django.setup().
    from django.conf import settings

    from mesads.exchange.parsing import FileRefused

    assert settings.INSTALLED_APPS

    base = _memory("VmRSS")
    digest = hashlib.blake2b(digest_size=8)
    rows = cells = 0
    start, cpu = time.perf_counter(), time.process_time()
    try:
        for row in _rows_of(reader, path):
            rows += 1
            if not check:
                continue
            values = [_canonical(value) for value in row]
            while values and values[-1] is None:
                values.pop()
            if not values:
                rows -= 1  # ours leaves empty rows out; calamine keeps them
                continue
            cells += sum(value is not None for value in values)
            digest.update(repr(values).encode())
        outcome, message = "read", ""
    except FileRefused as error:
        outcome, message = "refused", str(error)
    except MemoryError:
        outcome, message = "MemoryError", f"over the {cap_gb:g} GB cap"
    except Exception as error:  # noqa: BLE001 - what calamine raises is what we measure
        outcome, message = "raised", f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - start
    figures = {
        "outcome": outcome,
        "message": message,
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        "rows": max(rows - 1, 0),  # the header aside
        "cells": cells,
        "digest": digest.hexdigest(),
        "base_mb": base,
        "peak_mb": _memory("VmHWM"),
    }
    print(json.dumps(figures), flush=True)


# --- the parent: children, figures, tables ---------------------------------------------


def _poll_peak(pid: int, peak: list[float], done: threading.Event) -> None:
    """The child's VmHWM read from /proc while it runs: the figure left when it dies."""
    while not done.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM"):
                        peak[0] = max(peak[0], int(line.split()[1]) / 1024)
        except OSError:
            return
        time.sleep(0.02)


def child(reader: str, path: Path, cap_gb: float, check: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", reader, "--file", str(path)]
    command += ["--cap-gb", str(cap_gb)] + (["--check"] if check else [])
    start = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        peak, done = [0.0], threading.Event()
        poller = threading.Thread(target=_poll_peak, args=(process.pid, peak, done))
        poller.start()
        try:
            stdout, _ = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, _ = process.communicate()
        done.set()
        poller.join()
        wall = time.monotonic() - start
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace").strip().splitlines()
    lines = stdout.strip().splitlines()
    if process.returncode == 0 and lines:
        figures = json.loads(lines[-1])
        figures["peak_mb"] = max(figures["peak_mb"], peak[0])
    else:
        code = process.returncode
        how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
        if wall >= TIMEOUT:
            how = f"timeout after {TIMEOUT} s"
        # Rust's own words (an allocation that failed, a panic), not the backtrace note.
        words = ("memory allocation", "panicked", "capacity overflow", "Error")
        said = next((line for line in errors if any(w in line for w in words)), None)
        said = said or (errors[-1] if errors else "")
        figures = {
            "outcome": "crashed",
            "message": f"{how}: {said}",
            "seconds": wall,
            "cpu": float("nan"),
            "rows": None,
            "cells": None,
            "digest": None,
            "base_mb": float("nan"),
            "peak_mb": peak[0],
        }
    figures["wall"] = wall
    return figures


def best_of(reader: str, path: Path, runs: int, cap_gb: float) -> dict:
    """The fastest of ``runs`` fresh processes; peak memory is the highest of them."""
    results = [child(reader, path, cap_gb) for _ in range(runs)]
    best = min(results, key=lambda figures: figures["seconds"])
    return {**best, "peak_mb": max(figures["peak_mb"] for figures in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cap-gb", type=float, default=4.0)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", choices=READERS)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--check", action="store_true")
    options = parser.parse_args()
    if options.child:
        run_child(options.child, options.file, options.cap_gb, options.check)
        return

    import django

    django.setup()
    readers = ["ours"]
    if python_calamine is None:
        print(
            f"python-calamine is not installed in {sys.executable}: only our reader is "
            "measured (pip install python-calamine to compare)."
        )
    else:
        version = importlib.metadata.version("python-calamine")
        print(f"python-calamine {version}, Python {sys.version.split()[0]}")
        readers += ["calamine", "calamine-iter", "calamine-bounded"]
    for reader in readers:
        print(f"  {reader:<17} {READERS[reader]}")
    print(f"Address-space cap per child: {options.cap_gb:g} GB.\n")

    files = national_files(options.rows, options.rebuild)
    print(
        f"\n{'file':<20} {'reader':<17} {'rows':>9} {'cells':>10} {'read s':>7} "
        f"{'cpu s':>6} {'rows/s':>8} {'base MB':>8} {'peak MB':>8}  same cells as ours"
    )
    for label, path in files.items():
        reference = None
        for reader in readers:
            figures = best_of(reader, path, options.runs, options.cap_gb)
            if figures["outcome"] != "read":
                print(f"{label:<20} {reader:<17} {figures['outcome']}: {figures['message'][:90]}")
                continue
            checked = child(reader, path, options.cap_gb, check=True)
            reference = reference or checked["digest"]
            same = "yes" if checked["digest"] == reference else "NO"
            print(
                f"{label:<20} {reader:<17} {figures['rows']:>9,} {checked['cells']:>10,} "
                f"{figures['seconds']:>7.2f} {figures['cpu']:>6.2f} "
                f"{figures['rows'] / figures['seconds']:>8,.0f} "
                f"{figures['base_mb']:>8.0f} {figures['peak_mb']:>8.0f}  {same}",
                flush=True,
            )

    print(
        f"\n{'hostile file':<22} {'size':>9} {'reader':<17} {'time s':>7} {'peak MB':>8}  outcome"
    )
    for name, path in hostile_files(options.rebuild).items():
        size = f"{path.stat().st_size / 1024:,.1f} KB"
        for reader in readers:
            figures = child(reader, path, options.cap_gb)
            outcome = figures["outcome"]
            if outcome == "read":
                outcome += f" {figures['rows']:,} rows after the first (empty ones included)"
            elif figures["message"]:
                outcome += f": {figures['message'][:100]}"
            print(
                f"{name:<22} {size:>9} {reader:<17} {figures['seconds']:>7.2f} "
                f"{figures['peak_mb']:>8.0f}  {outcome}",
                flush=True,
            )
            size = ""


if __name__ == "__main__":
    main()
