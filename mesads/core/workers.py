"""The background worker around django-tasks-db's loop: what keeps it serving when a part
fails.

- **The database goes away** (restart, failover, network): the loop catches the error,
  closes the connection and waits, 1 s, 2 s, 4 s… up to ``WORKER_DB_RETRY_MAX_DELAY``,
  logging each attempt, then goes on. Started while the database is down, it waits too.
- **A worker dies** (SIGKILL, lost host, out of memory): each process writes a heartbeat
  (``WorkerHeartbeat``) from a thread every ``WORKER_HEARTBEAT_INTERVAL`` seconds, long
  tasks included. The same thread sweeps: a task ``RUNNING`` for longer than
  ``WORKER_LEASE_TIMEOUT`` whose worker has no fresh heartbeat is taken back: queued again
  when its task is declared safe to run twice (``@retry_when_interrupted``, up to
  ``WORKER_MAX_INTERRUPTIONS`` runs), otherwise marked failed with ``TaskInterrupted``.
  Imports are of the second kind: their own page shows them « Interrompu » with
  « Relancer » (their transaction was rolled back), from their own heartbeat.
- **A task outlives its database connection**: the task the loop could not mark when the
  database went away is taken back the same way once it answers again.
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
)
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)

# What the loop survives: the database unreachable or its connection broken.
DATABASE_DOWN = (OperationalError, InterfaceError)

# Priorities (django-tasks: higher runs first, from -100 to 100) within a queue: a password
# reset passes before notifications, which pass before a campaign's next batch.
PRIORITY_PASSWORD_RESET = 50
PRIORITY_NOTIFICATION = 0
PRIORITY_CAMPAIGN = -20

# task path -> what to do before it runs again (or None)
_RETRYABLE: dict[str, Callable | None] = {}


class TaskInterrupted(Exception):
    """The worker running the task stopped giving signs of life."""


def retry_when_interrupted(task=None, *, on_interrupted: Callable | None = None):
    """Declare a task safe to run again when its worker died mid-way (it is idempotent).

    ``on_interrupted(*args, **kwargs)``, given the task's arguments, runs before it is
    queued again (e.g. marks what was in flight as failed, so nothing is sent twice)."""

    def declare(task):
        _RETRYABLE[task.module_path] = on_interrupted
        return task

    return declare(task) if task is not None else declare


def backoff(attempt: int, first: float, ceiling: float) -> float:
    """Seconds to wait before the next attempt: first, 2×first, 4×first…, at most ceiling."""
    return min(first * 2 ** max(attempt - 1, 0), ceiling)


# --- taking back the tasks of dead workers ---------------------------------------------


def interrupt(task_result: DBTaskResult, reason: str) -> str:
    """Queue again (safe to retry) or mark failed a task whose worker is gone; returns
    what was done: "queued", "failed" or "" (someone else took it meanwhile)."""
    running = DBTaskResult.objects.filter(pk=task_result.pk, status=TaskResultStatus.RUNNING)
    try:
        import_string(task_result.task_path)  # the declaration runs when its module loads
    except ImportError:
        pass  # a task that no longer exists is not run again
    retryable = task_result.task_path in _RETRYABLE
    runs = len(task_result.worker_ids or [])
    if retryable and runs < settings.WORKER_MAX_INTERRUPTIONS:
        hook = _RETRYABLE[task_result.task_path]
        if hook is not None:
            arguments = task_result.args_kwargs or {}
            hook(*arguments.get("args", []), **arguments.get("kwargs", {}))
        if running.update(status=TaskResultStatus.READY, started_at=None):
            logger.warning(
                "Task %s (%s) interrupted (%s): queued again (run %d of at most %d)",
                task_result.pk,
                task_result.task_path,
                reason,
                runs + 1,
                settings.WORKER_MAX_INTERRUPTIONS,
            )
            return "queued"
        return ""
    error = TaskInterrupted(reason)
    if running.update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path=f"{TaskInterrupted.__module__}.{TaskInterrupted.__qualname__}",
        traceback=f"{TaskInterrupted.__qualname__}: {error}\n",
        return_value=None,
    ):
        logger.error(
            "Task %s (%s) interrupted (%s): marked failed",
            task_result.pk,
            task_result.task_path,
            reason,
        )
        return "failed"
    return ""


def sweep_interrupted_tasks(alive: str = "") -> dict[str, int]:
    """Take back every task whose worker stopped beating for ``WORKER_LEASE_TIMEOUT``; forget
    the heartbeats of dead workers. Cheap: reads the running tasks and the live workers.

    ``alive``: the sweeping worker, alive whatever its row says (on SQLite a long write
    keeps its heartbeat from being written)."""
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_LEASE_TIMEOUT)
    alive = {alive} | set(
        WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True)
    )
    counts = {"queued": 0, "failed": 0}
    # A task claimed less than a lease ago is never taken: its worker had time to beat.
    for task_result in DBTaskResult.objects.running().filter(started_at__lt=cutoff):
        worker_ids = task_result.worker_ids or []
        if worker_ids and worker_ids[-1] in alive:
            continue
        done = interrupt(task_result, "its worker gave no sign of life")
        if done:
            counts[done] += 1
    WorkerHeartbeat.objects.filter(last_seen_at__lt=cutoff).delete()
    return counts


def heartbeat_ages(now=None) -> dict[str, float | None]:
    """Seconds since the freshest heartbeat of a worker serving each queue of the project
    (None: no worker serves it). What ``/healthz`` shows."""
    now = now or timezone.now()
    ages: dict[str, float | None] = {}
    rows = WorkerHeartbeat.objects.values_list("queues", "last_seen_at")
    for queues, last_seen_at in rows:
        age = max((now - last_seen_at).total_seconds(), 0.0)
        for queue in queues.split(","):
            if ages.get(queue) is None or age < ages[queue]:
                ages[queue] = round(age, 1)
    return {queue: ages.get(queue) for queue in settings.TASKS["default"]["QUEUES"]}


def freshest_heartbeat_age() -> float | None:
    """Seconds since any worker last gave a sign of life (None: no worker ever did)."""
    ages = [age for age in heartbeat_ages().values() if age is not None]
    return min(ages) if ages else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- the worker process ----------------------------------------------------------------


class Heartbeat(threading.Thread):
    """Writes the process's heartbeat and sweeps, on its own connection, every few seconds
    whatever the main thread does (a long import, a silent mail server)."""

    def __init__(self, worker: "ResilientWorker") -> None:
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker = worker
        self.stopped = threading.Event()
        self.failing = False
        self.next_sweep = 0.0

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.WORKER_HEARTBEAT_INTERVAL):
                self.beat()
        finally:
            connections.close_all()  # this thread's connections only

    def beat(self) -> None:
        worker = self.worker
        now = time.monotonic()
        # The sweep reads every running task: a few times a lease is enough.
        sweep = now >= self.next_sweep
        try:
            task = worker.current_task
            WorkerHeartbeat.objects.update_or_create(
                worker_id=worker.worker_id,
                defaults={
                    "queues": ",".join(worker.queue_names),
                    "host": socket.gethostname()[:255],
                    "pid": os.getpid(),
                    "started_at": worker.started_at,
                    "last_seen_at": timezone.now(),
                    "task_id": str(task.pk) if task else "",
                    "task_name": task.task_path[:200] if task else "",
                },
            )
            counts = sweep_interrupted_tasks(alive=worker.worker_id) if sweep else {}
            if sweep:
                self.next_sweep = now + settings.WORKER_LEASE_TIMEOUT / 4
        except DatabaseError as error:
            if not self.failing:  # once per outage: the main loop logs each attempt
                logger.warning("Worker heartbeat not written: %s", error)
            self.failing = True
            connections["default"].close()
            return
        except Exception:
            # Never let the thread die: a worker without heartbeat loses its tasks.
            logger.exception("Worker heartbeat or sweep failed")
            return
        if self.failing:
            logger.info("Worker heartbeat written again")
        self.failing = False
        if counts.get("queued") or counts.get("failed"):
            logger.warning("Tasks of dead workers taken back: %s", counts)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


class ResilientWorker(Worker):
    """django-tasks-db's loop, kept alive through database outages, with a heartbeat."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current_task: DBTaskResult | None = None
        self.orphans: list[DBTaskResult] = []  # run, but could not be marked
        self.started_at = timezone.now()

    def run(self) -> None:
        heartbeat = Heartbeat(self)
        heartbeat.beat()  # before the first task: known at once, and the dead swept
        heartbeat.start()
        try:
            while self.running:
                self.wait_for_database()
                try:
                    super().run()
                    return
                except DATABASE_DOWN as error:
                    logger.warning("Worker %s lost the database: %s", self.worker_id, error)
                    self._close_connections()
                self.startup_delay = False
        finally:
            heartbeat.stop()
            self._forget_heartbeat()

    def wait_for_database(self) -> None:
        """Return once the database answers (and the tasks left unmarked are taken back)."""
        attempt = 0
        while self.running:
            try:
                close_old_connections()
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT 1")
                for orphan in self.orphans:
                    interrupt(orphan, "the database went away while it ran")
                self.orphans.clear()
                if attempt:
                    logger.warning("Worker %s: the database answers again", self.worker_id)
                return
            except DATABASE_DOWN as error:
                attempt += 1
                delay = backoff(attempt, 1.0, settings.WORKER_DB_RETRY_MAX_DELAY)
                logger.warning(
                    "Worker %s: database unavailable (%s); attempt %d, next in %.0f s",
                    self.worker_id,
                    _first_line(error),
                    attempt,
                    delay,
                )
                self._close_connections()
                time.sleep(delay)

    def run_task(self, db_task_result: DBTaskResult) -> None:
        self.current_task = db_task_result
        try:
            super().run_task(db_task_result)
        except DATABASE_DOWN:
            # Not even marked failed: taken back once the database answers.
            self.orphans.append(db_task_result)
            raise
        finally:
            self.current_task = None

    @staticmethod
    def _close_connections() -> None:
        try:
            connections["default"].close()
        except DatabaseError:
            pass

    def _forget_heartbeat(self) -> None:
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except DatabaseError:
            pass  # swept by the others after the lease


def worker_health() -> dict[str, float | None] | str:
    """The ``worker`` entry of ``/healthz``: per queue, seconds since the freshest heartbeat
    of a worker serving it (None: no worker), or "error" when it cannot be read. Informative:
    a stopped worker does not take the web servers out of the load balancer."""
    try:
        return heartbeat_ages()
    except DatabaseError:
        return "error"
