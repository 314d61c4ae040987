"""The background worker keeps serving when a part fails (OPERATIONS.md, review of
2026-12-07, O3–O5), with real parts: worker processes started and SIGKILLed, a mail
server that accepts connections and never answers, a small one that does, and a TCP relay
in front of PostgreSQL that is opened and closed.

- O3: a password reset queued while a 20,000-row import runs is sent by the e-mail worker
  without waiting for the import;
- O4: a silent mail server: the request answers at once, the worker tries again with
  growing delays, then records the lost reset, which national staff see in the admin;
- O5: a worker started while the database is unreachable waits and goes on when it
  answers, and survives losing it while it runs; a task whose worker was SIGKILLed is
  marked interrupted, or run again when it is safe; a campaign whose worker was killed
  mid-way is finished by another, nobody sent it twice.
"""

import io
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mesads.core.models import WorkerHeartbeat
from mesads.core.workers import TaskInterrupted, heartbeat_ages
from mesads.exchange.models import ImportJob
from mesads.exchange.tasks import start_import
from mesads.reminders.campaigns import confirm
from mesads.reminders.models import Campaign, CampaignRecipient
from mesads.users.models import FailedEmail
from mesads.users.notifications import send_email
from tests.conftest import _commune_authority, _manager
from tests.core.test_worker import DATABASE_BACKEND, ROOT, _worker_env, needs_postgresql
from tests.exchange.test_import import csv_file, nimes_row
from tests.exchange.test_import_interrupted import _wait_for as wait_for
from tests.support.worker_tasks import nap, nap_once

pytestmark = [needs_postgresql, pytest.mark.django_db(transaction=True)]

# Short beats and lease, so that a dead worker is noticed within seconds.
FAST = {
    "WORKER_HEARTBEAT_INTERVAL": "0.3",
    "WORKER_LEASE_TIMEOUT": "2",
    "WORKER_DB_RETRY_MAX_DELAY": "2",
    "PYTHONUNBUFFERED": "1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_env(settings, tmp_path, **extra: str) -> dict[str, str]:
    mail_dir = tmp_path / "mails"
    mail_dir.mkdir(exist_ok=True)
    return {**_worker_env(Path(settings.MEDIA_ROOT), mail_dir), **FAST, **extra}


class Worker:
    """A real ``manage.py worker`` process; its output goes to a file the test reads."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log_path = log
        self.log_file = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_file.close()


@contextmanager
def workers(env: dict[str, str], tmp_path: Path, *queue_groups: str):
    started = [
        Worker(env, tmp_path / f"worker-{n}.log", "--queues", queues)
        for n, queues in enumerate(queue_groups)
    ]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def mails_to(mail_dir: Path, address: str) -> list[Path]:
    return [path for path in mail_dir.iterdir() if address in path.read_text()]


# --- mail servers ------------------------------------------------------------------------


@pytest.fixture
def silent_smtp():
    """Accepts connections and never says a word; records when each one came."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[tuple[float, socket.socket]] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append((time.monotonic(), server.accept()[0]))
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    for _, peer in accepted:
        peer.close()
    server.close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 sink.test ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink.test")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while (data := self.rfile.readline()) and data.rstrip(b"\r\n") != b".":
                    pass
                time.sleep(self.server.delay)  # a real server takes a moment
                with self.server.lock:
                    self.server.delivered.extend(recipients)
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.delivered: list[str] = []


@pytest.fixture
def smtp_sink():
    sink = SmtpSink(delay=0.3)
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    yield sink
    sink.shutdown()
    sink.server_close()


# --- a TCP relay in front of PostgreSQL ---------------------------------------------------


class Relay:
    """Forwards 127.0.0.1:port to PostgreSQL while open; closed, the port refuses
    connections and every relayed connection is cut: the database is "down"."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for end in self.sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()
        self.sockets = []


@pytest.fixture
def relay():
    db = connection.settings_dict
    relay = Relay(free_port(), (db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    yield relay
    relay.close()


# --- O4: a mail server that never answers --------------------------------------------------


def test_a_silent_mail_server_is_tried_again_then_the_lost_reset_is_shown_to_staff(
    client, settings, tmp_path, manager, staff, silent_smtp
):
    settings.TASKS = DATABASE_BACKEND
    port, accepted = silent_smtp
    # This process would wait 5 s, were the request to send the mail itself.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    started = time.monotonic()
    response = client.post(reverse("password_reset"), {"email": manager.email})
    answered_in = time.monotonic() - started
    assert response.status_code == 302
    assert answered_in < 2  # queued: the request never waits on the mail server
    assert not accepted

    env = worker_env(
        settings,
        tmp_path,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        EMAIL_TIMEOUT="1",
        EMAIL_MAX_ATTEMPTS="3",
        EMAIL_RETRY_DELAY="0.5",
    )
    with workers(env, tmp_path, "emails"):
        failed = wait_for(lambda: FailedEmail.objects.first(), 60, "the e-mail to be given up")

    # Three attempts, the second 0.5 s and the third 1 s after the previous one timed out.
    times = [moment for moment, _ in accepted]
    assert len(times) == 3
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    print(f"request answered in {answered_in:.3f} s; attempts {len(times)}, gaps {gaps}")
    # (A tenth of a second of slack: the server stamps the accept, the worker its timeout.)
    assert gaps[0] >= 1 + 0.5 - 0.1 and gaps[1] >= 1 + 1.0 - 0.1
    assert (failed.recipient, failed.kind, failed.attempts) == (
        manager.email,
        FailedEmail.Kind.PASSWORD_RESET,
        3,
    )
    assert "timed out" in failed.last_error
    # The secret link is kept nowhere in the record.
    assert "/reinitialiser/" not in f"{failed.subject} {failed.last_error}"
    assert DBTaskResult.objects.filter(task_path__endswith="send_email").count() == 3

    client.force_login(staff)  # national staff
    page = client.get(reverse("admin:users_failedemail_changelist")).content.decode()
    assert manager.email in page
    assert "Réinitialisation du mot de passe" in page


# --- O3: e-mails never wait behind an import -----------------------------------------------


def test_a_password_reset_is_sent_while_an_import_runs(client, settings, tmp_path, manager, staff):
    settings.TASKS = DATABASE_BACKEND
    upload = io.BytesIO(csv_file([nimes_row(f"I-{n}") for n in range(1, 20_001)]))
    upload.name = "national.csv"
    job = start_import(upload, user=staff)
    env = worker_env(settings, tmp_path)
    with workers(env, tmp_path, "imports,default", "emails"):
        running = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALIDATING)
        wait_for(running.exists, 60, "the import to start")
        asked = time.monotonic()
        client.post(reverse("password_reset"), {"email": manager.email})
        wait_for(lambda: mails_to(tmp_path / "mails", manager.email), 30, "the reset e-mail")
        sent_in = time.monotonic() - asked
        job.refresh_from_db()
        print(f"reset e-mail sent {sent_in:.2f} s after the request; import: {job.status}")
        assert job.status == ImportJob.Status.VALIDATING  # the import still runs
        assert sent_in < 10
        wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.READY,
            300,
            "the import to finish",
        )


# --- O5: a worker SIGKILLed while it runs a task -------------------------------------------


def test_the_task_of_a_killed_worker_is_interrupted_or_run_again(client, settings, tmp_path):
    settings.TASKS = DATABASE_BACKEND
    unsafe = nap.enqueue(str(tmp_path / "nap"), 60)
    safe = nap_once.enqueue(str(tmp_path / "nap_once"), 60)
    env = worker_env(settings, tmp_path)
    with workers(env, tmp_path, "default", "default") as doomed:
        wait_for(lambda: DBTaskResult.objects.running().count() == 2, 60, "both tasks to start")
        assert WorkerHeartbeat.objects.count() == 2
        for worker in doomed:
            worker.kill()
    killed = time.monotonic()
    # Their tasks stay RUNNING: nobody beats for them any more.
    assert DBTaskResult.objects.running().count() == 2

    with workers(env, tmp_path, "default"):
        wait_for(
            lambda: DBTaskResult.objects.filter(pk=unsafe.id, status="FAILED").exists(),
            30,
            "the unsafe task to be marked interrupted",
        )
        detected_in = time.monotonic() - killed
        wait_for(
            lambda: DBTaskResult.objects.filter(pk=safe.id, status="SUCCESSFUL").exists(),
            30,
            "the safe task to run again",
        )
        ages = heartbeat_ages()
        health = client.get(reverse("healthz")).json()
    print(f"killed worker's task interrupted {detected_in:.2f} s after the kill")
    interrupted = DBTaskResult.objects.get(pk=unsafe.id)
    assert interrupted.exception_class_path.endswith(TaskInterrupted.__qualname__)
    assert (tmp_path / "nap").read_text().count("run") == 1  # not run twice
    rerun = DBTaskResult.objects.get(pk=safe.id)
    assert rerun.return_value == 2 and len(rerun.worker_ids) == 2
    assert detected_in < 15
    assert ages["default"] is not None and ages["default"] < 5
    assert ages["imports"] is None  # no worker serves the imports here
    assert health["worker"]["default"] < 5 and health["worker"]["imports"] is None
    assert not WorkerHeartbeat.objects.exists()  # the dead ones forgotten, the last left


# --- O5: the database unreachable ---------------------------------------------------------


def test_the_worker_waits_for_the_database_and_survives_losing_it(settings, tmp_path, relay):
    settings.TASKS = DATABASE_BACKEND
    db = connection.settings_dict
    env = worker_env(
        settings,
        tmp_path,
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{relay.port}/{db['NAME']}",
    )
    mail_dir = tmp_path / "mails"
    send_email.enqueue("premier@mairie.example", "Premier", "Texte")
    with workers(env, tmp_path, "emails") as (worker,):
        wait_for(lambda: "database unavailable" in worker.log(), 30, "the worker to wait")
        time.sleep(2)
        assert worker.alive()  # it used to exit at once (rc 1)
        assert worker.log().count("database unavailable") >= 2  # each attempt logged

        relay.open()
        opened = time.monotonic()
        wait_for(lambda: mails_to(mail_dir, "premier@mairie.example"), 30, "the first mail")
        print(f"first mail sent {time.monotonic() - opened:.2f} s after the database answered")

        relay.close()  # PostgreSQL "goes down" while the worker runs
        wait_for(lambda: worker.log().count("database unavailable") > 2, 30, "the worker to notice")
        send_email.enqueue("second@mairie.example", "Second", "Texte")  # not through the relay
        time.sleep(1)
        assert worker.alive()
        relay.open()
        wait_for(lambda: mails_to(mail_dir, "second@mairie.example"), 30, "the second mail")
        assert "the database answers again" in worker.log()


def test_a_task_that_outlived_the_database_is_taken_back_when_it_answers(settings, tmp_path, relay):
    """The database went away while a task ran: the worker could not even mark it. Once
    the database answers again it is marked interrupted, not left RUNNING for good."""
    settings.TASKS = DATABASE_BACKEND
    db = connection.settings_dict
    env = worker_env(
        settings,
        tmp_path,
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{relay.port}/{db['NAME']}",
    )
    relay.open()
    result = nap.enqueue(str(tmp_path / "nap"), 2)
    with workers(env, tmp_path, "default") as (worker,):
        running = DBTaskResult.objects.filter(pk=result.id, status="RUNNING")
        wait_for(running.exists, 30, "the task to start")
        relay.close()
        wait_for(lambda: "database unavailable" in worker.log(), 30, "the worker to notice")
        relay.open()
        failed = DBTaskResult.objects.filter(pk=result.id, status="FAILED")
        wait_for(failed.exists, 30, "the task to be marked interrupted")
        assert worker.alive()
    assert "the database went away while it ran" in failed.get().traceback


# --- a campaign whose worker dies mid-way --------------------------------------------------


def test_a_campaign_interrupted_mid_way_is_finished_sending_each_mail_once(
    settings, tmp_path, gard, staff, smtp_sink
):
    settings.TASKS = DATABASE_BACKEND
    addresses = []
    for n in range(12):
        authority = _commune_authority(f"30{n + 100:03d}", f"Commune {n}", gard)
        addresses.append(_manager(f"maire{n}@commune{n}.example", authority).email)
    campaign = Campaign.objects.create(
        target=Campaign.Target.NEVER_DECLARED,
        subject="Relance – {gestionnaire}",
        body="Déclarez vos ADS : {lien}",
        created_by=staff,
    )
    confirm(campaign, staff, site_url="https://mesads.example")  # queued once committed
    env = worker_env(
        settings,
        tmp_path,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.server_address[1]}",
        CAMPAIGN_BATCH_SIZE="3",
    )
    with workers(env, tmp_path, "emails") as (first,):
        wait_for(lambda: len(smtp_sink.delivered) >= 4, 60, "a few mails to leave")
        first.kill()
    sent_before = len(smtp_sink.delivered)
    assert sent_before < len(addresses)  # killed mid-way

    with workers(env, tmp_path, "emails"):
        wait_for(
            lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT,
            60,
            "another worker to finish the campaign",
        )
    delivered = smtp_sink.delivered
    assert len(delivered) == len(set(delivered))  # nobody twice
    statuses = dict(CampaignRecipient.objects.values_list("email", "status"))
    assert set(statuses) == set(addresses)
    sent = {email for email, status in statuses.items() if status == "sent"}
    failed = {email for email, status in statuses.items() if status == "failed"}
    # At most the mail in flight at the kill is marked failed (it may have left): never
    # sent again by itself; everything else was sent once.
    assert len(failed) <= 1 and sent | failed == set(addresses)
    assert sent <= set(delivered)
    assert DBTaskResult.objects.filter(task_path__endswith="send_campaign").count() >= 4


def test_a_campaign_pauses_when_the_mail_server_is_silent_and_frees_the_queue(
    settings, tmp_path, gard, staff, silent_smtp
):
    """17,000 mails × the 10 s timeout held every queue ~47 h: now the campaign stops
    after a few failures in a row, waits (longer each time), and other mail goes first."""
    settings.TASKS = DATABASE_BACKEND
    port, accepted = silent_smtp
    for n in range(12):
        _manager(
            f"maire{n}@commune{n}.example", _commune_authority(f"30{n + 100:03d}", f"C{n}", gard)
        )
    campaign = Campaign.objects.create(
        target=Campaign.Target.NEVER_DECLARED, subject="Relance", body="{lien}", created_by=staff
    )
    confirm(campaign, staff, site_url="https://mesads.example")
    env = worker_env(
        settings,
        tmp_path,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        EMAIL_TIMEOUT="1",
        EMAIL_RETRY_DELAY="60",
        CAMPAIGN_PAUSE_AFTER_FAILURES="3",
    )
    with workers(env, tmp_path, "emails"):
        # Its next batch queued a minute ahead (EMAIL_RETRY_DELAY).
        paused = DBTaskResult.objects.filter(
            task_path__endswith="send_campaign",
            status="READY",
            run_after__gt=timezone.now() + timedelta(seconds=30),
            run_after__lt=timezone.now() + timedelta(days=1),
        )
        wait_for(paused.exists, 30, "the campaign to pause")
        assert len(accepted) == 3  # three tries, not twelve
        send_email.enqueue("quelquun@mairie.example", "Autre", "Texte")
        wait_for(lambda: len(accepted) == 4, 10, "the other mail to be tried meanwhile")
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert recipients.filter(status="pending", attempts=1).count() == 3  # tried again later
    assert recipients.filter(status="pending", attempts=0).count() == 9
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING
