"""Requests per second and latency under load: the production server, driven by wrk.

    make bench-load                         # DURATION=30 s per scenario by default
    DURATION=5 .venv/bin/python bench/load.py [--tree /path/to/checkout] [--only paris]

Starts gunicorn as in production (the tree's gunicorn.conf.py when it has one, explicit
flags otherwise; MESADS_PRODUCTION=true, a throw-away SECRET_KEY, Redis as the shared
cache (REDIS_URL, default redis://127.0.0.1:6379/0), 3 sync workers) on the
PostgreSQL database mesads_bench with the 60,000-ADS register (built by bench/pages.py
if missing), logs the personas in (sessions written to the database), then drives the
server from a second process on loopback with wrk (installed from Debian's packages if
missing): ``wrk -t2 -c16 -d$DURATION --latency``, one run per scenario.

One line per scenario: requests/s, p50 and p99 latency, errors (answers other than 2xx,
a redirect to the login page included, plus socket errors), and the resident memory of
the gunicorn workers (sum of their RSS) at the start and end of the run.

``--tree`` serves another checkout (e.g. the commit before a change) against the same
database; ``--compare BEFORE`` serves both at once and runs each scenario ``--rounds``
times on each, alternately, printing the median req/s and p99 of each and their ratio:
before/after figures from the same run, which this machine's drift (up to 2× within
minutes) does not skew. The personas and URLs are computed here.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent

# The server and this process share the settings that sign sessions (SECRET_KEY): the
# sessions written here must be valid there.
PRODUCTION_ENV = {
    "MESADS_PRODUCTION": "true",
    "SECRET_KEY": "bench-load-" + "k" * 60,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "EMAIL_URL": "smtp://127.0.0.1:1",
    "DATABASE_URL": os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mesads_bench"
    ),
    # Production's shared cache (the API's limits and counters, the key figures), under
    # this run's prefix.
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", f"bench-load-{uuid.uuid4().hex[:8]}"),
}
os.environ.update(PRODUCTION_ENV)
sys.path.insert(0, str(BASE_DIR / "bench"))

import pages  # noqa: E402  (bench/pages.py: the register, its personas; sets Django up)
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from mesads.ads.models import ADS  # noqa: E402

# Counts answers that are not 2xx in each wrk thread, and sums them at the end.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then failed = failed + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("FAILED %d\\n", total))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("Installing wrk from Debian's packages…", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def scenarios() -> list[tuple[str, str, str]]:
    """(label, persona, path) of each scenario, on the 60,000-ADS register."""
    paris = pages.prepare()
    users = pages.personas(paris)
    small = pages.small_authority()
    paris_ads = ADS.objects.live().filter(authority=paris)
    count = paris_ads.count()
    sample = paris_ads.natural_order()[count // 2]
    small_sample = ADS.objects.live().filter(authority=small).natural_order().first()
    list_url = reverse("ads:list", args=[paris.pk])
    fragment = (sample.holder_name or "Martin").split()[-1]
    sessions = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[name] = client.cookies["sessionid"].value
    plan = [
        (f"manager ADS page ({small.name}, {small.ads.count()} ADS)", "small",
         reverse("ads:detail", args=[small_sample.pk])),
        ("manager ADS page (Paris)", "paris", reverse("ads:detail", args=[sample.pk])),
        ("staff ADS page (Paris)", "staff", reverse("ads:detail", args=[sample.pk])),
        ("Paris list, page 1", "paris", list_url),
        ("Paris list, last page", "paris", f"{list_url}?page={(count + 49) // 50}"),
        (f"Paris text search '{fragment}'", "paris", f"{list_url}?{urlencode({'q': fragment})}"),
        ("prefecture feed (Paris)", "agent", reverse("prefecture:changes", args=["75"])),
        ("ADS edit form (Paris)", "paris", reverse("ads:edit", args=[sample.pk])),
    ]  # fmt: skip
    return [(label, sessions[persona], path) for label, persona, path in plan]


class Server:
    """gunicorn serving ``tree`` on 127.0.0.1:``port`` with production settings."""

    def __init__(self, tree: Path, port: int, workers: int, log: Path):
        self.tree, self.port, self.workers, self.log = tree, port, workers, log
        self.env = {
            **os.environ,
            **PRODUCTION_ENV,
            "WEB_CONCURRENCY": str(workers),
            "BIND": f"127.0.0.1:{port}",
            "PYTHONPATH": str(tree),
            "DJANGO_SETTINGS_MODULE": "mesads.settings",
        }
        self.process: subprocess.Popen | None = None

    def _bin(self, name: str) -> str:
        for candidate in (self.tree / ".venv" / "bin" / name, BASE_DIR / ".venv" / "bin" / name):
            if candidate.exists():
                return str(candidate)
        sys.exit(f"{name} not found in {self.tree}/.venv")

    def start(self) -> None:
        subprocess.run(
            [self._bin("python"), "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=self.tree,
            env=self.env,
            check=True,
        )
        command = [self._bin("gunicorn"), "mesads.wsgi", "--chdir", str(self.tree)]
        if (self.tree / "gunicorn.conf.py").exists():
            command += ["-c", "gunicorn.conf.py"]
        else:  # an older tree: the same settings, as flags
            command += [
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                "--timeout=30",
                "--keep-alive=5",
                "--forwarded-allow-ips=127.0.0.1",
            ]
        self.output = open(self.log, "ab")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, cwd=self.tree, env=self.env, stdout=self.output, stderr=self.output
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited ({self.process.returncode}); see {self.log}")
            if len(self.worker_pids()) == self.workers and self.answers():
                return
            time.sleep(0.3)
        sys.exit(f"gunicorn did not answer within 60 s; see {self.log}")

    def answers(self) -> bool:
        try:
            get(f"http://127.0.0.1:{self.port}/", None)
        except OSError:
            return False
        return True

    def worker_pids(self) -> list[int]:
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.process.pid}$", text, re.M):
                pids.append(int(status.parent.name))
        return pids

    def workers_rss_mib(self) -> float:
        total = 0
        for pid in self.worker_pids():
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1))
        return total / 1024

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.output.close()


def get(url: str, session: str | None) -> int:
    """The status of a GET as the proxy would pass it (HTTPS), without following redirects."""
    headers = {"X-Forwarded-Proto": "https"}
    if session:
        headers["Cookie"] = f"sessionid={session}"
    request = urllib.request.Request(url, headers=headers)
    # A redirect (to the login page) is an answer to report, not to follow.
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(wrk: str, script: Path, url: str, session: str, args) -> dict:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout=10s",
        "--latency",
        "-s",
        str(script),
        "-H",
        f"Cookie: sessionid={session}",
        "-H",
        "X-Forwarded-Proto: https",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "failed": int(re.search(r"^FAILED (\d+)", output, re.M).group(1)),
        "socket": sum(int(n) for n in socket.groups()) if socket else 0,
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=BASE_DIR, help="checkout to serve")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", 30)))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8031)
    parser.add_argument("--only", help="run the scenarios whose label contains this text")
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout (before a change): both served at once, each scenario run "
        "--rounds times on each, alternately, so that the machine's drift hits both alike",
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tree = args.tree.resolve()

    wrk = ensure_wrk()
    plan = [s for s in scenarios() if not args.only or args.only.lower() in s[0].lower()]
    workdir = BASE_DIR / "var" / "bench-load"
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "count.lua"
    script.write_text(WRK_SCRIPT)
    trees = [args.compare.resolve(), tree] if args.compare else [tree]
    servers = []
    for index, served in enumerate(trees):
        log = workdir / f"gunicorn-{index}.log"
        log.unlink(missing_ok=True)
        servers.append(Server(served, args.port + index, args.workers, log))
    try:
        for server in servers:
            server.start()
        print(
            f"gunicorn, {args.workers} workers; wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s; {ADS.objects.count():,} ADS"
        )
        if args.compare:
            compare(wrk, script, plan, servers, args)
        else:
            single(wrk, script, plan, servers[0], args)
    finally:
        for server in servers:
            server.stop()


def warm(server: Server, path: str, session: str, workers: int) -> bool:
    base = f"http://127.0.0.1:{server.port}"
    if get(base + path, session) != 200:
        return False
    for _ in range(2 * workers):  # every worker warm (imports, templates)
        get(base + path, session)
    return True


def single(wrk: str, script: Path, plan, server: Server, args) -> None:
    print(f"Tree {server.tree}; log {server.log}")
    print(
        f"{'scenario':<44} {'req/s':>7} {'p50':>8} {'p99':>8} {'errors':>7} "
        f"{'RSS start':>10} {'RSS end':>9}"
    )
    for label, session, path in plan:
        if not warm(server, path, session, args.workers):
            print(f"{label:<44} did not answer 200: skipped")
            continue
        rss_start = server.workers_rss_mib()
        result = run_wrk(wrk, script, f"http://127.0.0.1:{server.port}{path}", session, args)
        rss_end = server.workers_rss_mib()
        errors = result["failed"] + result["socket"]
        print(
            f"{label:<44} {result['rps']:7.1f} {result['p50']:6.1f}ms {result['p99']:6.1f}ms "
            f"{errors:7} {rss_start:7.0f}MiB {rss_end:6.0f}MiB",
            flush=True,
        )


def compare(wrk: str, script: Path, plan, servers: list[Server], args) -> None:
    """Median req/s and p99 of each tree over the rounds, base first."""
    before, after = servers
    print(f"Before: {before.tree}\nAfter:  {after.tree}")
    print(
        f"{'scenario':<44} {'req/s before':>13} {'after':>7} {'ratio':>6} "
        f"{'p99 before':>11} {'after':>8} {'errors':>7}"
    )
    for label, session, path in plan:
        if not all(warm(server, path, session, args.workers) for server in servers):
            print(f"{label:<44} did not answer 200: skipped")
            continue
        results = {0: [], 1: []}
        for round_ in range(args.rounds):
            order = (0, 1) if round_ % 2 == 0 else (1, 0)
            for index in order:
                url = f"http://127.0.0.1:{servers[index].port}{path}"
                results[index].append(run_wrk(wrk, script, url, session, args))
        rps = [statistics.median(r["rps"] for r in results[i]) for i in (0, 1)]
        p99 = [statistics.median(r["p99"] for r in results[i]) for i in (0, 1)]
        errors = sum(r["failed"] + r["socket"] for i in (0, 1) for r in results[i])
        print(
            f"{label:<44} {rps[0]:13.1f} {rps[1]:7.1f} {rps[1] / rps[0]:5.2f}× "
            f"{p99[0]:9.1f}ms {p99[1]:6.1f}ms {errors:7}",
            flush=True,
        )


if __name__ == "__main__":
    main()
