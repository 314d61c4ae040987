"""The register of relay taxis at national scale (PostgreSQL): the public register of a
département with 2,000 relay vehicles, its search and CSV, and the plate verification
(the API's and the controller's page) among 20,000 relay vehicles.

    .venv/bin/python bench/relais.py [--runs 15] [--vehicles 20000]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench_relais,
created if missing and filled once with bulk_create: ten départements of 2,000 relay
vehicles each (the Gard among them), 1,000 owners, one use in progress per hundred
vehicles, an inspector of the Gard and an API key. The cache is Redis (REDIS_URL, default
redis://127.0.0.1:6379/0), as in production, under a key prefix of this run.

Each request goes through Django's whole request cycle (middleware, view, template or
API), in process. Figures: median and p95 wall time of --runs after one warm-up request,
and the query count. Target: < 20 ms for the public page and the verification.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesads.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench_relais")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["CACHE_KEY_PREFIX"] = f"bench-relais-{uuid.uuid4().hex[:8]}"

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

from mesads.ads.models import ADS, Authority  # noqa: E402
from mesads.api.models import APIKey, Profile  # noqa: E402
from mesads.geo.models import Commune, Departement  # noqa: E402
from mesads.relais.models import NumberCounter, Owner, Use, Vehicle  # noqa: E402
from mesads.users.models import InspectorGrant, User  # noqa: E402

DEPARTEMENTS = ["30", "13", "34", "69", "75", "2A", "971", "59", "33", "31"]
INSPECTOR = "bench-relais@police.example"
LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"


def plate(n: int) -> str:
    return f"{LETTERS[n // 23000 % 23]}{LETTERS[n // 1000 % 23]}-{n % 1000:03d}-RL"


@transaction.atomic
def fill(total: int) -> None:
    if Vehicle.objects.count() == total:
        return
    print(f"Filling: {total} relay vehicles in {len(DEPARTEMENTS)} départements…", flush=True)
    Use.objects.all().delete()
    Vehicle.objects.all().delete()
    NumberCounter.objects.all().delete()
    Owner.objects.all().delete()
    owners = Owner.objects.bulk_create(
        Owner(
            name=f"Taxis relais {n}",
            siret="73282932000074",
            address=f"{n} rue de la Gare",
            phone="0466000000",
            email=f"contact{n}@relais.example",
        )
        for n in range(1000)
    )
    per = total // len(DEPARTEMENTS)
    rows, n = [], 0
    communes = {}
    for code in DEPARTEMENTS:
        departement, _ = Departement.objects.get_or_create(code=code, defaults={"name": code})
        commune, _ = Commune.objects.get_or_create(
            insee_code=f"{code}001"[:5],
            type=Commune.Type.ACTUELLE,
            defaults={"name": f"Commune {code}", "departement": departement},
        )
        communes[code] = commune
        for sequence in range(1, per + 1):
            value = plate(n)
            rows.append(
                Vehicle(
                    owner=owners[n % len(owners)],
                    departement=departement,
                    commune=commune,
                    number=f"{code}-{sequence:02d}",
                    sequence=sequence,
                    plate=value,
                    plate_search=value.replace("-", ""),
                    make="Toyota",
                    model="Corolla",
                    engine=Vehicle.Engine.HYBRID,
                    first_registration_date=datetime.date(2022, 1, 1),
                    seats=4,
                    wheelchair_accessible=n % 9 == 0,
                )
            )
            n += 1
        NumberCounter.objects.update_or_create(departement=departement, defaults={"last": per})
    Vehicle.objects.bulk_create(rows, batch_size=2000)
    gard = communes["30"]
    authority, _ = Authority.objects.get_or_create(
        type=Authority.Type.COMMUNE,
        commune=gard,
        defaults={"name": "Commune 30", "departement": gard.departement},
    )
    ads_rows = ADS.objects.bulk_create(
        ADS(authority=authority, number=str(i), creation_date=datetime.date(2015, 1, 1))
        for i in range(1, 201)
    )
    today = datetime.date.today()
    vehicles = list(Vehicle.objects.order_by("pk")[::100])
    Use.objects.bulk_create(
        Use(
            vehicle=vehicle, ads=ads_rows[i % len(ads_rows)], start=today, end=today, reason="panne"
        )
        for i, vehicle in enumerate(vehicles)
    )


def measure(client: Client, url: str, params: dict, runs: int, headers=None):
    headers = headers or {}

    def get():
        response = client.get(url, params, **headers)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert response.status_code == 200, (url, response.status_code)

    get()
    with CaptureQueriesContext(connection) as queries:
        get()
    count = len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]])
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        get()
        walls.append((time.perf_counter() - start) * 1000)
    walls.sort()
    return statistics.median(walls), walls[int(len(walls) * 0.95) - 1], count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--vehicles", type=int, default=20000)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    fill(options.vehicles)
    gard = Departement.objects.get(code="30")
    inspector = User.objects.filter(email=INSPECTOR).first() or User.objects.create_user(
        INSPECTOR, "mot-de-passe-de-bench"
    )
    InspectorGrant.objects.get_or_create(user=inspector, departement=gard)
    APIKey.objects.filter(name="bench-relais").delete()
    _, raw = APIKey.objects.create_key(
        name="bench-relais",
        organisation="bench",
        profile=Profile.COMPLET,
        scope=APIKey.Scope.NATIONAL,
        rate_limit=1_000_000,
    )
    anonymous = Client(HTTP_HOST="localhost")
    controller = Client(HTTP_HOST="localhost")
    controller.force_login(inspector)
    in_use = Use.objects.select_related("vehicle").first().vehicle.plate
    some = Vehicle.objects.filter(departement=gard).order_by("?").first().plate
    public = reverse("relais:public_register", args=["30"])
    cases = [
        ("public register 30, page 1", anonymous, public, {}, None),
        ("public register 30, page 40", anonymous, public, {"page": 40}, None),
        ("public search by plate", anonymous, public, {"q": some.lower()}, None),
        ("public search by number", anonymous, public, {"q": "30-1234"}, None),
        (
            "public CSV of 30 (2,000)",
            anonymous,
            reverse("relais:public_csv", args=["30"]),
            {},
            None,
        ),
        (
            "API verification (in use)",
            anonymous,
            reverse("relais_api:verification"),
            {"immatriculation": in_use.lower().replace("-", "")},
            {"HTTP_X_API_KEY": raw},
        ),
        (
            "API verification (unknown)",
            anonymous,
            reverse("relais_api:verification"),
            {"immatriculation": "ZZ-999-ZZ"},
            {"HTTP_X_API_KEY": raw},
        ),
        (
            "controller's check page",
            controller,
            reverse("relais:control"),
            {"immatriculation": in_use},
            None,
        ),
    ]
    print(
        f"\nRelay taxis: {Vehicle.objects.count()} vehicles, "
        f"{Vehicle.objects.filter(departement=gard).count()} in the Gard; "
        f"median and p95 of {options.runs} requests"
    )
    print(f"{'request':<32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    random.seed(1)
    for label, client, url, params, headers in cases:
        median, p95, queries = measure(client, url, params, options.runs, headers)
        print(f"{label:<32} {median:>10.1f} {p95:>8.1f} {queries:>8}")


if __name__ == "__main__":
    main()
