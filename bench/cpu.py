"""CPU time spent in the application per page, and its SQL queries (PostgreSQL).

    .venv/bin/python bench/cpu.py [--runs 50] [--tree /path/to/another/checkout]

The figure is the application's own CPU (``time.process_time`` around ``Client.get``:
middleware, access checks, view, template), not the wall time, so it does not depend on
how busy PostgreSQL or the machine is. Median of --runs, after one warm-up request.

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench. The database
must already hold a register (``make bench`` fills mesads_bench with 60,000 ADS; a
smaller one is enough here: ``generate_registry --ads 6000``).

``--tree`` measures another checkout with the same database (e.g. a git worktree of an
older commit), to compare before and after a change.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--runs", type=int, default=50)
parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
args = parser.parse_args()

sys.path.insert(0, str(args.tree.resolve()))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench")

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
# The request log line is not what is measured here, and would drown the table.
logging.disable(logging.INFO)

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from mesads.ads.models import ADS  # noqa: E402
from mesads.authorities.models import Authority  # noqa: E402
from mesads.users.models import AuthorityAccess, PrefectureMembership, User  # noqa: E402


def personas(paris: Authority) -> dict[str, User]:
    manager, _ = User.objects.get_or_create(email="bench-paris@mesads.example")
    AuthorityAccess.objects.update_or_create(
        user=manager, authority=paris, defaults={"status": AuthorityAccess.Status.ACCEPTED}
    )
    agent, _ = User.objects.get_or_create(email="bench-agent-75@mesads.example")
    PrefectureMembership.objects.update_or_create(
        user=agent,
        departement_id=paris.departement_id,
        defaults={"status": PrefectureMembership.Status.ACCEPTED},
    )
    staff, _ = User.objects.get_or_create(
        email="bench-staff@mesads.example", defaults={"is_staff": True}
    )
    return {"manager of Paris": manager, "agent of Paris": agent, "national staff": staff}


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int]:
    response = client.get(url)  # warm-up (connection, template cache)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.process_time()
            response = client.get(url)
            timings.append((time.process_time() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings), min(timings), len(queries)


def main() -> None:
    paris = Authority.objects.get(type=Authority.Type.PREFECTURE, prefecture__code="75")
    # An ADS with drivers, so that the edit form shows the drivers' formset filled in.
    sample = (
        ADS.objects.live()
        .filter(authority=paris)
        .annotate(driver_count=Count("drivers"))
        .filter(driver_count__gte=2)
        .order_by("pk")
        .first()
    ) or ADS.objects.live().filter(authority=paris).order_by("pk").first()
    pages = [
        ("ADS page", reverse("ads:detail", args=[sample.pk])),
        ("ADS edit form", reverse("ads:edit", args=[sample.pk])),
        ("Paris ADS list", reverse("ads:list", args=[paris.pk])),
    ]
    print(
        f"Code: {args.tree.resolve()}; database {connection.settings_dict['NAME']} "
        f"({ADS.objects.count():,} ADS); ADS n° {sample.number} with "
        f"{sample.drivers.count()} drivers; median of {args.runs} runs"
    )
    print(f"{'persona':<18} {'page':<16} {'CPU median':>11} {'CPU min':>9} {'queries':>8}")
    for label, user in personas(paris).items():
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        for page, url in pages:
            if label == "agent of Paris" and page == "ADS edit form":
                continue  # an agent reads; he writes only after choosing to act as manager
            median, best, queries = measure(client, url, args.runs)
            print(f"{label:<18} {page:<16} {median:9.1f}ms {best:7.1f}ms {queries:8}")


if __name__ == "__main__":
    main()
