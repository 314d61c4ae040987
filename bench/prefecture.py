"""Server time and SQL queries of the prefecture's space for Paris, at national scale.

    .venv/bin/python bench/prefecture.py [--runs 15]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench (created if
missing), the same database as bench/pages.py. If it holds fewer than 60,000 ADS it is
filled first: migrate, load_geography, generate_registry --ads 60000 --history (about a
third in Paris, one revision per ADS); if the national history then holds fewer than
150,000 stored versions, revisions are added to Paris ADS until it does.

Each page is requested through Django's full request/response cycle with a logged-in
agent of the Paris prefecture (and of the Pas-de-Calais, the département with the most
authorities); the figure is the median of --runs. Target: the feed of
changes under 100 ms.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench")

from pages import ensure_database, follow, measure  # noqa: E402  (bench/pages.py: the same database)

ensure_database()

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core import serializers  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from reversion.models import Revision, Version  # noqa: E402

from mesads.ads.models import ADS, RegisterChange  # noqa: E402
from mesads.geo.models import Departement  # noqa: E402
from mesads.users.models import PrefectureMembership, User  # noqa: E402

TARGET_ADS = 60_000
TARGET_VERSIONS = 150_000
BATCH = 2_000


def fill() -> None:
    call_command("migrate", verbosity=0)
    if ADS.objects.count() < TARGET_ADS:
        print("Filling the database (geography, then 60,000 ADS with history)…", flush=True)
        call_command("load_geography", verbosity=0)
        start = time.perf_counter()
        call_command("generate_registry", ads=TARGET_ADS, seed=1, history=True, verbosity=0)
        print(f"generate_registry --ads {TARGET_ADS}: {time.perf_counter() - start:.1f} s")
    missing = TARGET_VERSIONS - Version.objects.count()
    if missing > 0:
        print(f"Adding {missing:,} stored versions to Paris ADS…", flush=True)
        add_revisions(missing)


@transaction.atomic
def add_revisions(count: int) -> None:
    """Revisions of Paris ADS spread over the last year, as saves would have written them
    (one version and one register change each)."""
    paris = Departement.objects.get(code="75")
    ads_type = ContentType.objects.get_for_model(ADS)
    sample = list(
        ADS.objects.filter(authority__departement=paris).select_related("authority")[:count]
    )
    now = timezone.now()
    for start in range(0, count, BATCH):
        batch = [sample[n % len(sample)] for n in range(start, min(start + BATCH, count))]
        dates = [now - datetime.timedelta(minutes=7 * (start + n)) for n in range(len(batch))]
        revisions = Revision.objects.bulk_create(
            Revision(date_created=date, comment="Modification (bench)") for date in dates
        )
        Version.objects.bulk_create(
            Version(
                revision=revision,
                content_type=ads_type,
                object_id=str(ads.pk),
                db="default",
                format="json",
                serialized_data=serializers.serialize("json", [ads]),
                object_repr=str(ads),
            )
            for revision, ads in zip(revisions, batch, strict=True)
        )
        RegisterChange.objects.bulk_create(
            RegisterChange(
                revision=revision,
                ads=ads,
                authority_id=ads.authority_id,
                departement=paris,
                created_at=date,
            )
            for revision, ads, date in zip(revisions, batch, dates, strict=True)
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    fill()
    paris = Departement.objects.get(code="75")
    agent, _ = User.objects.get_or_create(email="bench-prefecture-75@mesads.example")
    # Also an agent of the Pas-de-Calais: the département with the most authorities.
    for departement in Departement.objects.filter(code__in=["75", "62"]):
        PrefectureMembership.objects.update_or_create(
            user=agent,
            departement=departement,
            defaults={"status": PrefectureMembership.Status.ACCEPTED},
        )
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent)

    table = reverse("prefecture:departement", args=["75"])
    feed = reverse("prefecture:changes", args=["75"])
    ads_list = reverse("prefecture:ads", args=["75"])
    pages = [
        ("Paris prefecture table", table),
        ("Paris prefecture table, by completion", f"{table}?tri=completude"),
        ("Paris feed of changes, first page", feed),
        # Reached as the user does, through « Page suivante »: a seek from the cursor.
        ("Paris feed of changes, page 10", follow(client, feed, "next", 9)),
        ("Paris feed of changes, last page", follow(client, feed, "last")),
        ("Paris ADS to certify, first page", f"{ads_list}?certification=non_certifiee"),
        (
            "Paris ADS to certify, page 10",
            follow(client, f"{ads_list}?certification=non_certifiee", "next", 9),
        ),
        (
            "Paris ADS to certify, last page",
            follow(client, f"{ads_list}?certification=non_certifiee", "last"),
        ),
        ("Pas-de-Calais table, first page", reverse("prefecture:departement", args=["62"])),
        (
            "Pas-de-Calais table, by number of ADS",
            reverse("prefecture:departement", args=["62"]) + "?tri=ads&page=3",
        ),
    ]
    paris_ads = ADS.objects.live().filter(authority__departement=paris).count()
    paris_changes = RegisterChange.objects.filter(departement=paris).count()
    print(
        f"Database: {connection.vendor}; {ADS.objects.count():,} ADS, {paris_ads:,} in Paris; "
        f"{Version.objects.count():,} stored versions, {paris_changes:,} changes in Paris; "
        f"median of {args.runs} runs"
    )
    print(f"{'page':<44} {'median':>9} {'max':>9} {'queries':>8} {'bytes':>9}")
    for label, url in pages:
        median, worst, queries, size = measure(client, url, args.runs)
        print(f"{label:<44} {median:7.1f}ms {worst:7.1f}ms {queries:8} {size:9,}")


if __name__ == "__main__":
    main()
