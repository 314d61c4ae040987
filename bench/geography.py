"""Time the loading of the reference geography (``mesads.geo.loading.load_geography``).

    .venv/bin/python bench/geography.py
        # scratch SQLite database var/bench_geography.sqlite3, recreated on each run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/geo_bench .venv/bin/python bench/geography.py
        # a scratch PostgreSQL database: it is migrated, and its geography must be empty

Measures the first full load, the idempotent second load (with its SQL query count) and
a simulated new vintage where every commune's population changed and one was renamed.
"""

import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
SCRATCH_SQLITE = BASE_DIR / "var" / "bench_geography.sqlite3"
if "DATABASE_URL" not in os.environ:
    SCRATCH_SQLITE.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SCRATCH_SQLITE}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{SCRATCH_SQLITE}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from mesads.geo.loading import DEFAULT_FIXTURE, load_geography, read_fixture  # noqa: E402
from mesads.geo.models import EPCI, Commune  # noqa: E402


def timed_load(label: str, path: Path) -> None:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        report = load_geography(path)
        elapsed = time.perf_counter() - start
    rows = (
        sum(
            counts.created + counts.updated + counts.unchanged + counts.deactivated
            for _, counts in report.models()
        )
        + EPCI.members.through.objects.count()
    )
    written = sum(counts.created + counts.updated for _, counts in report.models())
    print(
        f"{label:<28} {elapsed:6.2f} s  {rows / elapsed:9,.0f} rows/s  "
        f"{len(queries):5} SQL queries  "
        f"written: {written:,} rows + {report.memberships_added:,} memberships"
    )


def main() -> None:
    vendor = connection.vendor
    print(f"Database: {vendor} ({connection.settings_dict['NAME']})")
    call_command("migrate", verbosity=0)
    if Commune.objects.exists():
        sys.exit("The geography tables are not empty: use a scratch database.")

    timed_load("first load", DEFAULT_FIXTURE)
    timed_load("second load (idempotent)", DEFAULT_FIXTURE)

    content = read_fixture(DEFAULT_FIXTURE)
    for row in content["communes"]:
        if row["population"] is not None:
            row["population"] += 1
    content["communes"][0]["name"] += " (renommée)"
    with tempfile.TemporaryDirectory() as tmp:
        new_vintage = Path(tmp) / "geography.json.gz"
        with gzip.open(new_vintage, "wt", encoding="utf-8") as f:
            json.dump(content, f)
        timed_load("new vintage (populations)", new_vintage)

    if vendor == "sqlite":
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SCRATCH_SQLITE}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
