"""The re-use API on the 60,000-ADS register (PostgreSQL): verification time in process,
requests/s under load with the production server, a full national mirror through the
list, and the change feed's cost at two sizes of history.

    .venv/bin/python bench/api.py [--duration 20] [--port 8041]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mesads_bench_api (its own
database: bench/load.py may run at the same time on mesads_bench), built like
bench/pages.py's if missing (migrate, load_geography, generate_registry --ads 60000
--history). The cache is Redis (REDIS_URL, default redis://127.0.0.1:6379/0), as in
production, under a key prefix of this run.

1. Verification, in process (Django's test client, full middleware): median and p95 of
   200 calls on random ADS, with plate and card, and the query count. Target: < 10 ms.
2. The same calls under load: gunicorn as in production (gunicorn.conf.py, --workers),
   wrk rotating over 500 verification URLs. Target: ≥ 300 requests/s.
3. A full national mirror: every page of GET /api/v1/ads/?taille=1000 over HTTP, one
   client. Target: < 30 s.
4. The change feed: a page of 500 from the start and from the head, with the history as
   it is, then with 1,000,000 more changes in the log. Target: the same cost.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench_api")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["CACHE_KEY_PREFIX"] = f"bench-api-{uuid.uuid4().hex[:8]}"
sys.path.insert(0, str(BASE_DIR / "bench"))

import load  # noqa: E402  (bench/load.py: gunicorn, wrk; sets Django up through pages)
import pages  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from mesads.ads.models import ADS  # noqa: E402
from mesads.api import changes  # noqa: E402
from mesads.api.models import APIKey, Change, Profile  # noqa: E402
from mesads.api.representation import insee_code  # noqa: E402

WRK_SCRIPT = """
paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
function response(status, headers, body)
  if status ~= 200 then failed = failed + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("FAILED %%d\\n", total))
end
"""


def bench_key() -> str:
    _, raw = APIKey.objects.create_key(
        name=f"bench {uuid.uuid4().hex[:6]}",
        organisation="Bench",
        scope=APIKey.Scope.NATIONAL,
        profile=Profile.LE_TAXI,
        rate_limit=10_000_000,
    )
    return raw


def verification_urls(count: int) -> list[str]:
    """Verification URLs of random live ADS, their plate and first card in another
    spelling (lower case, no dashes)."""
    random.seed(1)
    ids = list(ADS.objects.live().values_list("pk", flat=True))
    chosen = (
        ADS.objects.filter(pk__in=random.sample(ids, count))
        .select_related("authority__commune", "authority__prefecture", "commune")
        .prefetch_related("drivers")
    )
    urls = []
    for ads in chosen:
        params = {"insee": insee_code(ads), "numero": ads.number}
        if ads.vehicle_plate:
            params["immatriculation"] = ads.vehicle_plate.replace("-", "").lower()
        cards = [d.card_number for d in ads.drivers.all() if d.card_number]
        if cards:
            params["carte_pro"] = cards[0].replace("-", " ")
        if params["insee"]:
            urls.append(f"{reverse('api:verification')}?{urlencode(params)}")
    return urls


def in_process(client: Client, urls: list[str]) -> None:
    for url in urls[:20]:  # warm
        client.get(url)
    times, cpu, found = [], [], 0
    for url in urls:
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.content
        found += response.json()["trouvee"]
    with CaptureQueriesContext(connection) as queries:
        client.get(urls[0])
    times.sort()
    print(
        f"1. verification in process: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.1f} ms over {len(times)} calls "
        f"({found} found); application CPU median {statistics.median(cpu):.1f} ms; "
        f"{len(queries)} SQL queries a call"
    )
    # A page of the national mirror, in process: what one of its 60 calls costs the app.
    url = f"{reverse('api:ads_list')}?taille=1000"
    client.get(url)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(3):
        assert client.get(url).status_code == 200
    wall = (time.perf_counter() - start) / 3
    cpu_page = (time.process_time() - start_cpu) / 3
    total = ADS.objects.live().count()
    print(
        f"   list page of 1,000 ADS in process: {wall * 1000:.0f} ms ({cpu_page * 1000:.0f} ms "
        f"CPU): a national mirror ≈ {wall * total / 1000:.1f} s of server time"
    )


def under_load(raw: str, urls: list[str], args) -> None:
    wrk = load.ensure_wrk()
    workdir = BASE_DIR / "var" / "bench-api"
    workdir.mkdir(parents=True, exist_ok=True)
    paths = workdir / "paths.txt"
    paths.write_text("\n".join(urls) + "\n")
    script = workdir / "verify.lua"
    script.write_text(WRK_SCRIPT % {"paths": paths})
    server = load.Server(BASE_DIR, args.port, args.workers, workdir / "gunicorn.log")
    server.start()
    base = f"http://127.0.0.1:{args.port}"
    try:
        command = [
            wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
            "--timeout=10s", "--latency", "-s", str(script),
            "-H", f"X-Api-Key: {raw}", "-H", "X-Forwarded-Proto: https", base + urls[0],
        ]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rps = float(load.re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        p50 = load.to_ms(load.re.search(r"^\s+50%\s+(\S+)", output, load.re.M).group(1))
        p99 = load.to_ms(load.re.search(r"^\s+99%\s+(\S+)", output, load.re.M).group(1))
        failed = int(load.re.search(r"^FAILED (\d+)", output, load.re.M).group(1))
        print(
            f"2. verification under load (gunicorn {args.workers} workers, wrk "
            f"-t{args.threads} -c{args.connections} -d{args.duration}s): {rps:.0f} req/s, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {failed} non-200"
        )
        mirror(base, raw)
    finally:
        server.stop()


def mirror(base: str, raw: str) -> None:
    import json
    import urllib.request

    start = time.perf_counter()
    url, count, calls = f"{base}/api/v1/ads/?taille=1000", 0, 0
    while url:
        request = urllib.request.Request(
            url, headers={"X-Api-Key": raw, "X-Forwarded-Proto": "https"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            page = json.load(response)
        calls += 1
        count += len(page["resultats"])
        # « suivant » is absolute, with the host the server saw: keep its path and query.
        url = page["suivant"] and base + "/" + page["suivant"].split("://", 1)[1].split("/", 1)[1]
    elapsed = time.perf_counter() - start
    print(f"3. full national mirror: {count:,} ADS in {calls} pages, {elapsed:.1f} s")


def feed_cost(client: Client, label: str) -> None:
    changes.stamp()
    head = changes.head()
    results = {}
    for name, since in (("from the start", 0), ("near the head", max(0, head - 500))):
        url = f"{reverse('api:changes')}?depuis={since}&taille=500"
        client.get(url)
        times = []
        for _ in range(15):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        results[name] = statistics.median(times)
    print(
        f"4. change feed, {Change.objects.count():,} changes in the log ({label}): page of 500 "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in results.items())
    )


def inflate_history(extra: int) -> None:
    """``extra`` more changes (of existing ADS), numbered: a history ten times longer."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO api_change (ads_id, departement_id, kind, created_at) "
            "SELECT x.id, a.departement_id, 'modification', now() "
            "FROM generate_series(1, %s) AS s(n) "
            "JOIN ads_ads x ON x.id = (SELECT min(id) FROM ads_ads) + s.n %% 60000 "
            "JOIN ads_authority a ON a.id = x.authority_id",
            [extra],
        )
    start = time.perf_counter()
    numbered = changes.stamp()
    print(f"   ({numbered:,} changes numbered by one stamp in {time.perf_counter() - start:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE api_change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8041)
    parser.add_argument("--extra-history", type=int, default=1_000_000)
    parser.add_argument("--no-feed", action="store_true", help="skip 4 (it grows the log)")
    args = parser.parse_args()

    pages.prepare()
    print(f"{ADS.objects.live().count():,} live ADS; machine load {os.getloadavg()[0]:.1f}")
    raw = bench_key()
    # Production settings (bench/load.py): the host they allow, HTTPS as the proxy says.
    client = Client(HTTP_X_API_KEY=raw, HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    urls = verification_urls(500)
    in_process(client, urls[:200])
    under_load(raw, urls, args)
    if args.no_feed:
        return
    feed_cost(client, "as generated")
    inflate_history(args.extra_history)
    feed_cost(client, f"+{args.extra_history:,}")


if __name__ == "__main__":
    main()
