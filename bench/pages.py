"""Server time, application CPU and SQL queries of the register's pages, at two register
sizes (PostgreSQL), so that growth shows.

    make bench            # or: .venv/bin/python bench/pages.py [--runs 15] [--rounds 3]
    .venv/bin/python bench/pages.py --ads 60000      # one size only

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench, for 60,000
ADS, and the same name with ``_6k`` (mesads_bench_6k) for 6,000 ADS. Each size is measured
in its own process, the two sizes one after the other, --rounds times: this machine's
speed drifts within minutes, which would otherwise show as growth. Each database is
created if missing and, if it holds fewer ADS than its size, filled: migrate,
load_geography, generate_registry --ads N --history (about a third in Paris; 60,000 take
about 35 s).

Each page is requested through Django's full request/response cycle (middleware, view,
template) by a manager (of Paris, or of Nîmes for the small authority's pages) and by a
national staff member. Figures are medians of --runs, then of the rounds: wall time, the
application's own CPU (``time.process_time``: what the app server spends, whatever
PostgreSQL does), the query count, and the database blocks the page's queries read
(shared buffers, from EXPLAIN (ANALYZE, BUFFERS) of each SELECT): a measure of the
database's work that the machine's drift does not move, so that a time's growth can be told
from noise (a count of Paris's ADS reads ten times the blocks at ten times the ADS).
``growth`` compares 60,000 with 6,000 ADS (target: at most +20 % in time and queries).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
DEFAULT_DB = "mesads_bench"
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DB}")
SIZES = (6_000, 60_000)
TARGET_ADS = 60_000


def database_url(size: int, base: str | None = None) -> str:
    """The bench database for a register of ``size`` ADS: the base name for 60,000, with
    a ``_6k`` suffix for 6,000."""
    base = base or os.environ["DATABASE_URL"]
    return base if size == TARGET_ADS else f"{base}_{size // 1000}k"


from benchdb import ensure_database  # noqa: E402  (bench/benchdb.py)

ensure_database()

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
# The request log line is not what is measured here, and would drown the table.
logging.disable(logging.INFO)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from reversion.models import Version  # noqa: E402

from mesads.ads.models import ADS  # noqa: E402
from mesads.authorities.models import Authority  # noqa: E402
from mesads.geo.models import Departement  # noqa: E402
from mesads.users.models import AuthorityAccess, PrefectureMembership, User  # noqa: E402


def prepare(target: int = TARGET_ADS) -> Authority:
    """Migrate and fill the database to ``target`` ADS; the Paris authority."""
    call_command("migrate", verbosity=0)
    if ADS.objects.count() < target:
        print(f"Filling the database (geography, then {target:,} ADS with history)…", flush=True)
        call_command("load_geography", verbosity=0)
        start = time.perf_counter()
        call_command("generate_registry", ads=target, seed=1, history=True, verbosity=0)
        print(f"generate_registry --ads {target}: {time.perf_counter() - start:.1f} s")
        # Fresh statistics and visibility map: counts are index-only scans from the start.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("VACUUM ANALYZE")
    return Authority.objects.get(type=Authority.Type.PREFECTURE, prefecture__code="75")


def small_authority() -> Authority:
    """A Nîmes-sized authority: Nîmes if it has ADS, else the one whose count is nearest
    to 70."""
    nimes = Authority.objects.filter(commune__insee_code="30189").first()
    if nimes and nimes.ads.exists():
        return nimes
    return min(
        Authority.objects.with_ads_counts().filter(ads_total__gt=0)[:2000],
        key=lambda authority: abs(authority.ads_total - 70),
    )


def _manager(email: str, authority: Authority) -> User:
    user, _ = User.objects.get_or_create(email=email, defaults={"first_name": "Bench"})
    AuthorityAccess.objects.update_or_create(
        user=user, authority=authority, defaults={"status": AuthorityAccess.Status.ACCEPTED}
    )
    return user


def personas(paris: Authority) -> dict[str, User]:
    """The bench's users, created if missing: managers of Paris and of a Nîmes-sized
    authority, national staff, an agent of the Paris prefecture."""
    staff, _ = User.objects.get_or_create(
        email="bench-staff@mesads.example", defaults={"is_staff": True, "first_name": "Bench"}
    )
    agent, _ = User.objects.get_or_create(
        email="bench-prefecture-75@mesads.example", defaults={"first_name": "Bench"}
    )
    PrefectureMembership.objects.update_or_create(
        user=agent,
        departement=Departement.objects.get(code="75"),
        defaults={"status": PrefectureMembership.Status.ACCEPTED},
    )
    return {
        "paris": _manager("bench-paris@mesads.example", paris),
        "small": _manager("bench-small@mesads.example", small_authority()),
        "staff": staff,
        "agent": agent,
    }


def follow(client: Client, url: str, kind: str = "next", times: int = 1) -> str:
    """The URL reached by following a list's pagination link (``next``, ``last``…)
    ``times`` times, as the user would."""
    for _ in range(times):
        content = client.get(url).content.decode()
        match = re.search(rf'fr-pagination__link--{kind}[^"]*" href="([^"]+)"', content)
        if not match:
            break
        url = url.split("?")[0] + unescape(match.group(1))
    return url


def last_page_url(client: Client, url: str) -> str:
    """The « Dernière page » link of a list."""
    return follow(client, url, "last")


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int, int]:
    """Median wall time (ms), worst (ms), queries and bytes of ``runs`` requests."""
    median, worst, _cpu, queries, size = measure_cpu(client, url, runs)
    return median, worst, queries, size


def measure_cpu(client: Client, url: str, runs: int) -> tuple[float, float, float, int, int]:
    """Median wall time, worst wall time, median application CPU (all ms), queries, bytes."""
    response = client.get(url)  # warm-up (connection, template cache)
    assert response.status_code == 200, (url, response.status_code)
    timings, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            cpu.append((time.process_time() - start_cpu) * 1000)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return (
        statistics.median(timings),
        max(timings),
        statistics.median(cpu),
        len(queries),
        len(response.content),
    )


def database_blocks(client: Client, url: str) -> int:
    """The table and index blocks PostgreSQL reads for the page's queries (shared buffers
    hit or read, from EXPLAIN (ANALYZE, BUFFERS) of each SELECT): the database's work,
    which, unlike a time, this machine's drift does not move."""
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    blocks = 0
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query["sql"])
            plan = cursor.fetchone()[0][0]["Plan"]
            blocks += plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    return blocks


def pages(paris: Authority, small: Authority, client: Client) -> list[tuple[str, str, str]]:
    """(label, persona, url): each page for its manager, then for national staff."""
    paris_ads = ADS.objects.live().filter(authority=paris)
    sample = paris_ads.natural_order()[paris_ads.count() // 2]
    small_sample = ADS.objects.live().filter(authority=small).natural_order().first()
    list_url = reverse("ads:list", args=[paris.pk])
    fragment = (sample.holder_name or "Martin").split()[-1]
    by_page = [
        (f"{small.name} ADS page", "small", reverse("ads:detail", args=[small_sample.pk])),
        ("Paris ADS page", "paris", reverse("ads:detail", args=[sample.pk])),
        ("Paris ADS edit form", "paris", reverse("ads:edit", args=[sample.pk])),
        ("Paris dashboard", "paris", reverse("ads:authority", args=[paris.pk])),
        ("Paris list, first page", "paris", list_url),
        ("Paris list, last page", "paris", last_page_url(client, list_url)),
        (f"Paris list, search '{fragment}'", "paris", f"{list_url}?q={fragment}"),
        ("Paris list, search plate", "paris", f"{list_url}?q={sample.plate_search.lower()}"),
        ("Paris list, filter incomplete", "paris", f"{list_url}?completude=a_completer"),
        ("Paris ADS history", "paris", reverse("ads:history", args=[sample.pk])),
    ]
    authorities = reverse("ads:authorities")
    # National staff's list of the ~36,000 authorities (get_page clamps 9999 to the last).
    staff_only = [
        ("Authorities, first page", f"{authorities}"),
        ("Authorities, last page", f"{authorities}?page=9999"),
        ("Authorities, never declared", f"{authorities}?declaration=jamais"),
        ("Authorities, by number of ADS", f"{authorities}?tri=ads"),
        ("Authorities, Gard, search 'nimes'", f"{authorities}?departement=30&q=nimes"),
        # Public; its figures are cached 5 minutes (the warm-up request computes them).
        ("Key figures (cached)", reverse("stats:key_figures")),
    ]
    return [
        (label, persona_name, url)
        for label, manager, url in by_page
        for persona_name in (manager, "staff")
    ] + [(label, "staff", url) for label, url in staff_only]


def run(target: int, runs: int) -> dict:
    paris = prepare(target)
    users = personas(paris)
    clients = {}
    for name, user in users.items():
        clients[name] = Client(HTTP_HOST="localhost")
        clients[name].force_login(user)
    results = []
    for label, persona_name, url in pages(paris, small_authority(), clients["paris"]):
        median, _worst, cpu, queries, size = measure_cpu(clients[persona_name], url, runs)
        who = "manager" if persona_name != "staff" else "staff"
        blocks = (
            database_blocks(clients[persona_name], url)
            if connection.vendor == "postgresql"
            else None
        )
        results.append(
            {
                "page": label,
                "who": who,
                "ms": median,
                "cpu": cpu,
                "queries": queries,
                "blocks": blocks,
                "bytes": size,
            }
        )
    return {
        "ads": ADS.objects.count(),
        "paris": ADS.objects.live().filter(authority=paris).count(),
        "versions": Version.objects.count(),
        "results": results,
    }


def print_one(data: dict, runs: int) -> None:
    print(
        f"Database: {connection.vendor}; {data['ads']:,} ADS, {data['paris']:,} in Paris; "
        f"{data['versions']:,} stored versions; median of {runs} runs"
    )
    print(
        f"{'page':<38} {'who':<8} {'median':>9} {'CPU':>9} {'queries':>8} {'blocks':>7} "
        f"{'bytes':>9}"
    )
    for row in data["results"]:
        blocks = "—" if row["blocks"] is None else f"{row['blocks']:,}"
        print(
            f"{row['page']:<38} {row['who']:<8} {row['ms']:7.1f}ms {row['cpu']:7.1f}ms "
            f"{row['queries']:8} {blocks:>7} {row['bytes']:9,}"
        )


def growth(small: float, large: float) -> str:
    return f"{(large - small) / small * 100:+.0f}%" if small else "—"


def print_both(small: dict, large: dict, runs: int, rounds: int) -> None:
    print(
        f"Register sizes: {small['ads']:,} ADS ({small['paris']:,} in Paris) and "
        f"{large['ads']:,} ADS ({large['paris']:,} in Paris); PostgreSQL; median of {runs} "
        f"runs, then of {rounds} rounds, the sizes alternately"
    )
    print(
        f"{'page':<38} {'who':<8} {'ms 6k':>7} {'ms 60k':>7} {'growth':>7} "
        f"{'CPU 6k':>7} {'CPU 60k':>7} {'growth':>7} {'queries':>9} {'DB blocks':>13} "
        f"{'growth':>7}"
    )
    for before, after in zip(small["results"], large["results"], strict=True):
        print(
            f"{after['page']:<38} {after['who']:<8} {before['ms']:7.1f} {after['ms']:7.1f} "
            f"{growth(before['ms'], after['ms']):>7} {before['cpu']:7.1f} {after['cpu']:7.1f} "
            f"{growth(before['cpu'], after['cpu']):>7} "
            f"{before['queries']:>4}→{after['queries']:<4} {before['blocks']:>6}→"
            f"{after['blocks']:<6} {growth(before['blocks'], after['blocks']):>7}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--ads", type=int, help="one register size only (default: 6,000 and 60,000)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measures of each size, alternately (figures: the median of the rounds)",
    )
    args = parser.parse_args()

    if args.ads or connection.vendor != "postgresql":
        data = run(args.ads or TARGET_ADS, args.runs)
        if args.json:
            print(json.dumps(data))
        else:
            print_one(data, args.runs)
        return
    # Each size is measured in its own process, the sizes alternately, --rounds times:
    # this machine's speed drifts within minutes, and growth compares two runs.
    results: dict[int, list[dict]] = {size: [] for size in SIZES}
    for _ in range(args.rounds):
        for size in SIZES:
            results[size].append(measure_in_child(size, args.runs))
    print_both(*(median_run(results[size]) for size in SIZES), args.runs, args.rounds)


def measure_in_child(size: int, runs: int) -> dict:
    url = database_url(size)
    ensure_database(url)
    child = subprocess.run(
        [sys.executable, __file__, f"--ads={size}", f"--runs={runs}", "--json"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    if child.returncode:
        sys.exit(f"The {size:,}-ADS measure failed:\n{child.stdout}{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    """The first run, each page's figures replaced by their median over the runs."""
    merged = {**runs[0], "results": []}
    for rows in zip(*(run["results"] for run in runs), strict=True):
        merged["results"].append(
            {
                **rows[0],
                **{key: statistics.median(row[key] for row in rows) for key in ("ms", "cpu")},
            }
        )
    return merged


if __name__ == "__main__":
    main()
