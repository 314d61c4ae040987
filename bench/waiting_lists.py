"""Server time and SQL queries of a waiting list's pages with 500 applications
(PostgreSQL): the manager's list (first page, a later page, the « à renouveler » filter),
the public list and its CSV.

    .venv/bin/python bench/waiting_lists.py [--runs 9] [--applications 500]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench_wl. The
database is created if missing and filled once: migrate, a département, the commune of
Nîmes and its authority with one manager, and the applications (spread over 400 days so
that some are due and some expired; one in seven with priority), plus 200 attributed or
removed ones that the lists in course must skip. A few seconds; no national geography.

Each page goes through Django's whole request cycle (middleware, view, template): the
manager's pages logged in as the authority's manager, the public ones anonymous. Figures
are medians of --runs after one warm-up request: wall time, the application's own CPU
(``time.process_time``) and the query count.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench_wl")
MANAGER_EMAIL = "bench-wl@nimes.example"


from benchdb import ensure_database  # noqa: E402

ensure_database()

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
logging.disable(logging.INFO)

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from mesads.authorities.models import Authority  # noqa: E402
from mesads.geo.models import Commune, Departement  # noqa: E402
from mesads.users.models import AuthorityAccess, User  # noqa: E402
from mesads.waitinglists.models import Application  # noqa: E402

CLOSED = 200  # attributed or removed applications, besides those in course


@transaction.atomic
def fill(count: int) -> Authority:
    """The authority and its list of ``count`` applications in course (made once; a
    different count rebuilds the list)."""
    gard, _ = Departement.objects.get_or_create(
        code="30", defaults={"name": "Gard", "region_code": "76"}
    )
    commune, _ = Commune.objects.get_or_create(
        insee_code="30189",
        defaults={
            "type": Commune.Type.ACTUELLE,
            "name": "Nîmes",
            "departement": gard,
            "population": 148_000,
        },
    )
    authority, _ = Authority.objects.get_or_create(
        type=Authority.Type.COMMUNE,
        commune=commune,
        defaults={"name": "Nîmes", "departement": gard},
    )
    user = User.objects.filter(email=MANAGER_EMAIL).first()
    if user is None:
        user = User.objects.create_user(MANAGER_EMAIL, "mot-de-passe-de-bench")
    AuthorityAccess.objects.get_or_create(
        user=user, authority=authority, defaults={"status": AuthorityAccess.Status.ACCEPTED}
    )
    applications = Application.objects.filter(authority=authority)
    if applications.active().count() == count and applications.count() == count + CLOSED:
        return authority
    print(f"Filling the list: {count} applications in course, {CLOSED} closed…", flush=True)
    applications.delete()
    now = timezone.now()
    rows = []
    for n in range(1, count + CLOSED + 1):
        application = Application(
            authority=authority,
            number=str(n),
            applicant_name=f"Demandeur {n}",
            applicant_email=f"demandeur{n}@example.fr",
            applicant_phone="0612345678",
            card_number=f"CP-30-{n:05d}",
            card_departement=gard,
            registered_at=now - datetime.timedelta(days=n * 35 % 400, minutes=n),
            proves_driving_experience=n % 7 == 0,
        )
        if n > count:
            closed_at = now - datetime.timedelta(days=n % 30)
            if n % 2:
                application.state = Application.State.REMOVED
                application.removal_reason = Application.RemovalReason.WITHDRAWN
            else:
                application.state = Application.State.ATTRIBUTED
                application.removal_reason = Application.RemovalReason.ATTRIBUTED
            application.removed_at = closed_at
        application.refresh_derived()
        rows.append(application)
    Application.objects.bulk_create(rows, batch_size=1000)
    return authority


def measure(client: Client, url: str, params: dict, runs: int) -> tuple[float, float, int]:
    def get():
        response = client.get(url, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert response.status_code == 200, (url, response.status_code)

    get()  # templates compiled, scope cached
    with CaptureQueriesContext(connection) as queries:
        get()
    # Read now: the log is sliced lazily, and the next request empties it.
    count = len(queries)
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        get()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--applications", type=int, default=500)
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    authority = fill(options.applications)
    manager = User.objects.get(email=MANAGER_EMAIL)
    as_manager = Client(HTTP_HOST="localhost")
    as_manager.force_login(manager)
    anonymous = Client(HTTP_HOST="localhost")
    list_url = reverse("waitinglists:list", args=[authority.pk])
    public_url = reverse("waitinglists:public_list", args=[authority.pk])
    pages = [
        ("gestionnaire : liste, page 1", as_manager, list_url, {}),
        ("gestionnaire : liste, page 10", as_manager, list_url, {"page": 10}),
        ("gestionnaire : à renouveler", as_manager, list_url, {"etat": "a_renouveler"}),
        ("gestionnaire : toutes", as_manager, list_url, {"etat": "toutes"}),
        ("public : liste, page 1", anonymous, public_url, {}),
        ("public : liste, page 10", anonymous, public_url, {"page": 10}),
        (
            "public : CSV",
            anonymous,
            reverse("waitinglists:public_csv", args=[authority.pk]),
            {},
        ),
    ]
    print(
        f"\nWaiting list of {authority.name}: {options.applications} applications in course "
        f"(+{CLOSED} closed), median of {options.runs} requests"
    )
    print(f"{'page':<32} {'wall ms':>8} {'CPU ms':>8} {'queries':>8}")
    for label, client, url, params in pages:
        wall, cpu, queries = measure(client, url, params, options.runs)
        print(f"{label:<32} {wall:>8.1f} {cpu:>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
