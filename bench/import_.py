"""Time the import of the national register (PostgreSQL), beside django-import-export's
default row-by-row path on the same file.

    .venv/bin/python bench/import_.py [--ads 60000] [--default-rows 2000] [--keep]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_import_bench, which
it drops and creates again (a database whose name lacks "bench" is refused): migrate,
load_geography, ``generate_registry(60000, seed=1)`` (~90,000 drivers), then the national
file is written in the register's format (``export.write_xlsx`` / ``write_csv``, i.e.
``columns.py``) and the register is emptied, authorities kept. Each case then runs in a
fresh process (its peak memory measured alone) on that file:

- dry run of the 60,000 new ADS (XLSX, then CSV): target < 30 s;
- committed import with its history (one revision, ~150,000 versions): target < 60 s;
- the same file again: 60,000 unchanged rows, nothing written;
- a weekly update: every tenth ADS changed, committed;
- django-import-export's default path (``ADSResource.import_data``, row by row) on the
  first ``--default-rows`` rows of the same file, dry run and committed (rolled back
  afterwards), extrapolated to the whole file.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
DEFAULT_DB = "mesads_import_bench"
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB}")
WORK_DIR = BASE_DIR / "var" / "bench-import"
TARGETS = {"dry": 30, "commit": 60}


def psql(*args: str) -> str:
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def database_name() -> str:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
    name = url.rsplit("/", 1)[-1]
    if "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: the benchmark database's name must contain 'bench'.")
    return name


def prepare(count: int) -> dict:
    """A fresh database with the register generated, the files written, then the register
    emptied (authorities kept)."""
    name = database_name()
    psql("-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "postgres")
    psql("-qc", f'CREATE DATABASE "{name}"', "postgres")
    import django

    django.setup()
    from django.core.management import call_command

    from mesads.ads.generation import generate_registry
    from mesads.ads.models import ADS, Driver
    from mesads.exchange import export

    call_command("migrate", verbosity=0)
    call_command("load_geography", verbosity=0)
    start = time.perf_counter()
    report = generate_registry(count, seed=1)
    print(
        f"Register generated: {report.ads:,} ADS, {report.drivers:,} drivers "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    files = {"xlsx": WORK_DIR / "ads-france.xlsx", "csv": WORK_DIR / "ads-france.csv"}
    with open(files["xlsx"], "wb") as output:
        export.write_xlsx(export.national_scope(), output)
    with open(files["csv"], "wb") as output:
        export.write_csv(export.national_scope(), output)
    # The weekly update: every tenth ADS gets a new holder name.
    text = files["csv"].read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    holder = rows[0].index("Titulaire")
    for index, cells in enumerate(rows[1:]):
        if index % 10 == 0:
            cells[holder] = (cells[holder] or "Titulaire") + " (mis à jour)"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    files["update"] = WORK_DIR / "ads-france-semaine.csv"
    files["update"].write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    drivers = Driver.objects.count()
    empty_register()
    assert not ADS.objects.exists()
    return {
        "files": {k: str(v) for k, v in files.items()},
        "drivers": drivers,
        "sizes": {k: v.stat().st_size for k, v in files.items()},
    }


def empty_register() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE ads_driver, ads_adsdocument, ads_registerchange, ads_ads, "
            "reversion_version, reversion_revision, exchange_importjob CASCADE"
        )


# --- the cases, each in its own process -----------------------------------------------


def run_case(case: str, path: str, default_rows: int) -> None:
    import django

    django.setup()
    from mesads.ads.models import ADS

    if case.startswith("default"):
        print(json.dumps(default_path(case, path, default_rows)))
        return
    from mesads.exchange.importing import import_file
    from mesads.users.models import User

    user, _ = User.objects.get_or_create(email="bench-import@mesads.example", is_staff=True)
    commit = case in ("commit", "update")
    start = time.perf_counter()
    result = import_file(path, file_name=Path(path).name, user=user, commit=commit)
    seconds = time.perf_counter() - start
    assert result.ok, result.issues[:5]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": result.rows,
                "counts": result.counts,
                "committed": result.committed,
                "ads": ADS.objects.live().count(),
            }
        )
    )


def default_path(case: str, path: str, rows: int) -> dict:
    """django-import-export's ``import_data``, row by row, on the first rows of the file."""
    import tablib
    from django.db import transaction

    from mesads.ads.models import ADS
    from mesads.exchange.admin import ADSResource, RegisterFormat

    start = time.perf_counter()
    with open(path, "rb") as file:
        dataset = RegisterFormat().create_dataset(file.read())
    read_seconds = time.perf_counter() - start
    subset = tablib.Dataset(*dataset[:rows], headers=dataset.headers)
    dry_run = case == "default-dry"
    with transaction.atomic():
        start = time.perf_counter()
        result = ADSResource().import_data(subset, dry_run=dry_run, use_transactions=True)
        seconds = time.perf_counter() - start
        written = ADS.objects.count()
        transaction.set_rollback(True)  # leave the register empty for the other cases
    assert not result.has_errors() and not result.has_validation_errors(), (
        result.base_errors or result.invalid_rows[:3]
    )
    return {
        "seconds": seconds,
        "rows": rows,
        "read_seconds": read_seconds,
        "file_rows": len(dataset),
        "totals": dict(result.totals),
        "written": written,
    }


def child(case: str, path: str, default_rows: int) -> dict:
    command = [sys.executable, __file__, "--case", case, "--file", path]
    command += ["--default-rows", str(default_rows)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # the child's own peak memory
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        sys.exit(f"{case} failed (exit {process.returncode})")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_mb"] = usage.ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ads", type=int, default=60_000)
    parser.add_argument("--default-rows", type=int, default=2000)
    parser.add_argument("--case")
    parser.add_argument("--file")
    options = parser.parse_args()
    if options.case:
        run_case(options.case, options.file, options.default_rows)
        return

    setup = prepare(options.ads)
    files = setup["files"]
    print(
        f"Files: XLSX {setup['sizes']['xlsx'] / 1e6:.1f} MB, "
        f"CSV {setup['sizes']['csv'] / 1e6:.1f} MB; "
        f"{setup['drivers']:,} drivers in the register before it was emptied.\n",
        flush=True,
    )
    from django.db import connection

    connection.close()

    results = []

    def measure(label: str, case: str, path: str, target: str | None = None) -> dict:
        figures = child(case, path, options.default_rows)
        rate = figures["rows"] / figures["seconds"]
        goal = f"< {TARGETS[target]} s" if target else ""
        verdict = ("OK" if figures["seconds"] < TARGETS[target] else "OVER") if target else ""
        peak = f"{figures.get('peak_mb', 0):.0f} MB" if figures.get("peak_mb") else ""
        print(
            f"{label:<52} {figures['rows']:>7,} rows {figures['seconds']:>7.1f} s "
            f"{rate:>8,.0f} rows/s {peak:>7} {goal:>7} {verdict}",
            flush=True,
        )
        results.append((label, figures))
        return figures

    measure("Dry run, XLSX, 60,000 new ADS", "dry", files["xlsx"], "dry")
    measure("Dry run, CSV, 60,000 new ADS", "dry-csv", files["csv"], "dry")
    committed = measure(
        "Commit with history, XLSX, 60,000 new ADS", "commit", files["xlsx"], "commit"
    )
    assert committed["ads"] == committed["rows"]
    measure("Same file again, dry run (all unchanged)", "dry", files["xlsx"], "dry")
    measure("Same file again, commit (nothing to write)", "commit", files["xlsx"], "commit")
    measure("Weekly update (CSV): 6,000 changed, commit", "update", files["update"], "commit")
    import django

    django.setup()
    empty_register()
    connection.close()
    default_dry = measure(
        f"django-import-export default path, dry run ({options.default_rows:,} rows)",
        "default-dry",
        files["xlsx"],
    )
    default_commit = measure(
        f"django-import-export default path, commit ({options.default_rows:,} rows)",
        "default-commit",
        files["xlsx"],
    )
    fast_dry = next(f for label, f in results if label.startswith("Dry run, XLSX"))
    fast_commit = committed
    total = fast_dry["rows"]
    print()
    for name, fast, default in (
        ("dry run", fast_dry, default_dry),
        ("commit", fast_commit, default_commit),
    ):
        fast_rate = fast["rows"] / fast["seconds"]
        default_rate = default["rows"] / default["seconds"]
        print(
            f"{name:>8}: bulk path {fast_rate:,.0f} rows/s vs default path {default_rate:,.0f} "
            f"rows/s (×{fast_rate / default_rate:.0f}); the default path would take about "
            f"{total / default_rate / 60:.0f} min for the {total:,} rows "
            f"(extrapolated from {default['rows']:,}; without history)."
        )


if __name__ == "__main__":
    main()
