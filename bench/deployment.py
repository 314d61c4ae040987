"""Server time and SQL queries of « Suivi du déploiement » and of the activity page, on a
national register (PostgreSQL): 60,000 ADS, ~36,000 authorities, ~17,000 managers.

    .venv/bin/python bench/deployment.py [--runs 9]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench_deploy. The
database is created if missing and filled once: migrate, load_geography,
generate_registry --ads 60000 --history (as bench/pages.py), then what these pages count
and the generated register lacks: 17,000 managers (a fifth never logged in, a sixth not
for six months), 900 pending requests up to 90 days old, 3,000 refused, 500 prefecture
agents, 5,000 « aucune ADS » declarations, attestations and certifications, 200,000
logins and 100,000 changes over twelve months, and 24 imports.

Each page goes through Django's whole request cycle as national staff; figures are the
medians of --runs (wall time, application CPU, query count).
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench_deploy")
TARGET_ADS = 60_000
MARKER = "bench-deploy-"


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
from django.utils import timezone  # noqa: E402
from reversion.models import Revision  # noqa: E402

from mesads.ads.models import ADS, RegisterChange  # noqa: E402
from mesads.authorities.models import Authority  # noqa: E402
from mesads.exchange.models import ImportJob  # noqa: E402
from mesads.geo.models import Departement  # noqa: E402
from mesads.users.models import (  # noqa: E402
    AuthorityAccess,
    LoginEvent,
    PrefectureMembership,
    User,
)

DAY = datetime.timedelta(days=1)


def fill_register() -> None:
    call_command("migrate", verbosity=0)
    if ADS.objects.count() < TARGET_ADS:
        print("Filling the register (geography, 60,000 ADS with history)…", flush=True)
        call_command("load_geography", verbosity=0)
        call_command("generate_registry", ads=TARGET_ADS, seed=1, history=True, verbosity=0)


@transaction.atomic
def fill_follow_up(seed: int = 1) -> None:
    """What the follow-up counts, once (its users are marked by their e-mail)."""
    if User.objects.filter(email__startswith=MARKER).exists():
        return
    print("Adding managers, requests, agents, logins and changes…", flush=True)
    start = time.perf_counter()
    rng = random.Random(seed)
    now = timezone.now()
    with_ads = list(
        Authority.objects.filter(ads__isnull=False).distinct().values_list("pk", flat=True)
    )
    without = list(Authority.objects.filter(ads__isnull=True).values_list("pk", flat=True))
    rng.shuffle(without)
    Authority.objects.filter(pk__in=without[:5000], delegated_to__isnull=True).update(
        declares_no_ads=True
    )
    # Managers: every authority with ADS, and 5,500 others.
    managed = with_ads + without[5000:10500]

    def last_login() -> datetime.datetime | None:
        draw = rng.random()
        if draw < 0.2:
            return None
        if draw < 0.36:
            return now - rng.randint(184, 700) * DAY
        return now - rng.randint(0, 180) * DAY

    users = [
        User(
            email=f"{MARKER}{index}@example.com",
            password="!",
            last_login=last_login(),
            date_joined=now - 800 * DAY,
        )
        for index in range(len(managed) + 900 + 3000 + 500)
    ]
    User.objects.bulk_create(users, batch_size=5000)
    users = list(User.objects.filter(email__startswith=MARKER).order_by("pk"))
    managers = users[: len(managed)]
    pending = users[len(managed) : len(managed) + 900]
    refused = users[len(managed) + 900 : len(managed) + 3900]
    agents = users[len(managed) + 3900 :]

    accesses = []
    for user, authority_id in zip(managers, managed, strict=True):
        asked = now - rng.randint(1, 700) * DAY
        accesses.append(
            AuthorityAccess(
                user=user,
                authority_id=authority_id,
                status="accepted",
                created_at=asked,
                decided_at=asked + datetime.timedelta(hours=rng.randint(1, 600)),
            )
        )
    for user in pending:
        accesses.append(
            AuthorityAccess(
                user=user,
                authority_id=rng.choice(without),
                created_at=now - datetime.timedelta(hours=rng.randint(1, 90 * 24)),
            )
        )
    for user in refused:
        asked = now - rng.randint(1, 360) * DAY
        accesses.append(
            AuthorityAccess(
                user=user,
                authority_id=rng.choice(with_ads),
                status="refused",
                created_at=asked,
                decided_at=asked + datetime.timedelta(hours=rng.randint(1, 400)),
            )
        )
    AuthorityAccess.objects.bulk_create(accesses, batch_size=5000)
    # auto_now_add overrode the dates: put them back.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_dates (id int, created_at timestamptz)")
    created = {(a.user_id, a.authority_id): a.created_at for a in accesses}
    rows = [
        (pk, created[(user_id, authority_id)])
        for pk, user_id, authority_id in AuthorityAccess.objects.filter(
            user__email__startswith=MARKER
        ).values_list("pk", "user_id", "authority_id")
    ]
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO bench_dates VALUES (%s, %s)", rows)
        cursor.execute(
            "UPDATE users_authorityaccess a SET created_at = d.created_at "
            "FROM bench_dates d WHERE a.id = d.id"
        )
        cursor.execute("DROP TABLE bench_dates")

    departements = list(Departement.objects.values_list("pk", flat=True))
    PrefectureMembership.objects.bulk_create(
        PrefectureMembership(user=agent, departement_id=departements[i % len(departements)])
        for i, agent in enumerate(agents)
    )
    PrefectureMembership.objects.filter(user__in=agents).update(status="accepted")

    ads_ids = list(ADS.objects.values_list("pk", flat=True))
    rng.shuffle(ads_ids)
    ADS.objects.filter(pk__in=ads_ids[:30000]).update(attested_at=now - 30 * DAY)
    ADS.objects.filter(pk__in=ads_ids[:18000]).update(certified_at=now - 20 * DAY)

    seen = [u for u in managers + agents if u.last_login and u.last_login > now - 365 * DAY]
    LoginEvent.objects.bulk_create(
        (LoginEvent(kind="login", user=rng.choice(seen), email="") for _ in range(200_000)),
        batch_size=10_000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users_loginevent SET created_at = now() - random() * interval '365 days'"
        )

    ads = list(ADS.objects.values_list("pk", "authority_id", "authority__departement_id"))
    revisions = Revision.objects.bulk_create(
        Revision(date_created=now - rng.random() * 365 * DAY, comment="Modification")
        for _ in range(50_000)
    )
    changes = []
    for revision in revisions:
        for _ in range(2):
            pk, authority_id, departement_id = rng.choice(ads)
            changes.append(
                RegisterChange(
                    revision=revision,
                    ads_id=pk,
                    authority_id=authority_id,
                    departement_id=departement_id,
                    created_at=revision.date_created,
                )
            )
    RegisterChange.objects.bulk_create(changes, batch_size=10_000)
    for month in range(24):
        revision = revisions[month]
        ImportJob.objects.create(
            original_name=f"import-{month}.xlsx",
            status=ImportJob.Status.DONE,
            finished_at=revision.date_created,
            revision=revision,
            updated_count=2,
        )
    print(f"… in {time.perf_counter() - start:.1f} s", flush=True)


def measure(client: Client, url: str, runs: int) -> tuple[float, float, float, int]:
    client.get(url)  # warm
    walls, cpus, sqls, counts = [], [], [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            walls.append((time.perf_counter() - start) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(queries))
        sqls.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
    return (
        statistics.median(walls),
        statistics.median(cpus),
        statistics.median(sqls),
        int(statistics.median(counts)),
    )


PAGES = [
    ("Par département", "/deploiement/"),
    ("Par département, tri par demandes", "/deploiement/?tri=-pending"),
    ("Par préfecture", "/deploiement/prefectures/"),
    ("Export national (XLSX)", "/deploiement/export.xlsx"),
    ("Paris (75, 20 000 ADS)", "/deploiement/75/"),
    ("Pas-de-Calais (62, ~900 gestionnaires)", "/deploiement/62/"),
    ("Pas-de-Calais, par nombre d’ADS", "/deploiement/62/?tri=-ads"),
    ("Pas-de-Calais, page 10 par demande", "/deploiement/62/?tri=-attente&page=10"),
    ("Pas-de-Calais, rien déclaré", "/deploiement/62/?declaration=jamais"),
    ("Export Pas-de-Calais (XLSX)", "/deploiement/62/export.xlsx"),
    ("Activité, 12 mois", "/deploiement/activite/"),
    ("Activité, 24 mois, Paris", "/deploiement/activite/?periode=24&departement=75"),
    ("Export activité (XLSX)", "/deploiement/activite/export.xlsx"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    fill_register()
    fill_follow_up()
    # The updates above leave dead rows: without this, every count scans twice the table.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    staff, _ = User.objects.get_or_create(
        email="bench-staff@mesads.example", defaults={"is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    print(
        f"{ADS.objects.count():,} ADS, {Authority.objects.count():,} authorities, "
        f"{AuthorityAccess.objects.count():,} accesses, {LoginEvent.objects.count():,} logins, "
        f"{RegisterChange.objects.count():,} changes; medians of {args.runs} runs; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'page':<42} {'wall ms':>8} {'CPU ms':>7} {'SQL ms':>7} {'queries':>8}")
    for label, url in PAGES:
        wall, cpu, sql, queries = measure(client, url, args.runs)
        print(f"{label:<42} {wall:>8.0f} {cpu:>7.0f} {sql:>7.0f} {queries:>8}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
