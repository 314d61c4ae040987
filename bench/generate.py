"""Measure ``generate_registry`` at national scale, on a fresh database.

    .venv/bin/python bench/generate.py                 # 60,000 ADS, var/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mesads_bench \\
        .venv/bin/python bench/generate.py --ads 60000

Migrates the database, empties it, loads the geography, then times
``generate_registry --ads N --seed 1 --history`` in a child process, so that its peak
memory is measured alone. The database is left populated, for page benchmarks.

A PostgreSQL database is emptied only if its name contains "bench": pointing
DATABASE_URL at a real database by mistake must not wipe it.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SQLITE_PATH = BASE_DIR / "var" / "bench.sqlite3"


def prepare_database() -> str:
    """Point Django at the bench database, fresh and with the geography; return its URL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        SQLITE_PATH.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{SQLITE_PATH}"
        os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from mesads.ads.models import ADS

    call_command("migrate", verbosity=0)
    if ADS.objects.exists():
        name = str(connection.settings_dict["NAME"])
        if "bench" not in name:
            sys.exit(f"Refusing to empty database {name!r}: use one whose name contains 'bench'.")
        call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("load_geography", verbosity=0)
    print(f"Geography loaded in {time.perf_counter() - started:.1f} s ({connection.vendor})")
    connection.close()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=60_000, help="number of ADS (default 60000)")
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()

    prepare_database()
    command = [
        sys.executable,
        str(BASE_DIR / "manage.py"),
        "generate_registry",
        f"--ads={args.ads}",
        "--seed=1",
        "--history",
        f"--batch-size={args.batch_size}",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=BASE_DIR, env=os.environ)
    seconds = time.perf_counter() - started
    # Linux reports ru_maxrss in KiB.
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    from reversion.models import Revision, Version

    from mesads.ads.models import ADS, Driver

    counts = {
        "ADS": ADS.objects.count(),
        "drivers": Driver.objects.count(),
        "revisions": Revision.objects.count(),
        "versions": Version.objects.count(),
    }
    print(f"generate_registry --ads {args.ads} --history: {seconds:.1f} s (process included)")
    print(f"{counts['ADS'] / seconds:.0f} ADS/s")
    print(
        "rows written: "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
        + f" ({sum(counts.values())} in all)"
    )
    print(f"peak memory of the generation process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
