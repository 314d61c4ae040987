"""Server time and SQL queries of the register's pages at national scale (PostgreSQL).

    make bench            # or: .venv/bin/python bench/pages.py [--runs 15]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench (created if
missing). If the database holds fewer than 60,000 ADS it is filled first: migrate,
load_geography, generate_registry --ads 60000 --history (about a third in Paris).
Each page is requested through Django's full request/response cycle (middleware,
view, template) with a logged-in Paris manager; the figure is the median of --runs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
DEFAULT_DB = "mesads_bench"
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB}")


def ensure_database() -> None:
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    name = url.rsplit("/", 1)[-1]
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",
            "postgres",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                f'CREATE DATABASE "{name}"',
                "postgres",
            ],
            check=True,
        )


ensure_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from reversion.models import Version  # noqa: E402

from mesads.ads.models import ADS, Authority  # noqa: E402
from mesads.users.models import AuthorityAccess, User  # noqa: E402

TARGET_ADS = 60_000


def prepare() -> Authority:
    call_command("migrate", verbosity=0)
    if ADS.objects.count() < TARGET_ADS:
        print("Filling the database (geography, then 60,000 ADS with history)…", flush=True)
        call_command("load_geography", verbosity=0)
        start = time.perf_counter()
        call_command("generate_registry", ads=TARGET_ADS, seed=1, history=True, verbosity=0)
        print(f"generate_registry --ads {TARGET_ADS}: {time.perf_counter() - start:.1f} s")
    return Authority.objects.get(type=Authority.Type.PREFECTURE, prefecture__code="75")


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int, int]:
    response = client.get(url)  # warm-up (connection, template cache)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), max(timings), len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    paris = prepare()
    user, _ = User.objects.get_or_create(email="bench-paris@mesads.example")
    AuthorityAccess.objects.update_or_create(
        user=user, authority=paris, defaults={"status": AuthorityAccess.Status.ACCEPTED}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    paris_ads = ADS.objects.live().filter(authority=paris)
    count = paris_ads.count()
    last_page = (count + 49) // 50
    sample = paris_ads.natural_order()[count // 2]
    # generate_registry --history gives every ADS its first revision.
    with_history = sample
    list_url = reverse("ads:list", args=[paris.pk])
    fragment = (sample.holder_name or "Martin").split()[-1]
    pages = [
        ("Paris dashboard", reverse("ads:authority", args=[paris.pk])),
        ("Paris ADS list, first page", list_url),
        ("Paris ADS list, last page", f"{list_url}?page={last_page}"),
        (f"Paris ADS list, search '{fragment}'", f"{list_url}?q={fragment}"),
        ("Paris ADS list, search plate", f"{list_url}?q={sample.plate_search.lower()}"),
        ("Paris ADS list, filter incomplete", f"{list_url}?completude=a_completer"),
        ("Paris ADS list, filter renewal", f"{list_url}?renouvellement=on&page=2"),
        ("ADS detail", reverse("ads:detail", args=[sample.pk])),
        ("ADS history", reverse("ads:history", args=[with_history.pk])),
    ]
    print(
        f"Database: {connection.vendor}; {ADS.objects.count():,} ADS, {count:,} in Paris; "
        f"{Version.objects.count():,} stored versions; median of {args.runs} runs"
    )
    print(f"{'page':<44} {'median':>9} {'max':>9} {'queries':>8} {'bytes':>9}")
    for label, url in pages:
        median, worst, queries, size = measure(client, url, args.runs)
        print(f"{label:<44} {median:7.1f}ms {worst:7.1f}ms {queries:8} {size:9,}")


if __name__ == "__main__":
    main()
