"""The background worker of Mes ADS.

    python manage.py worker                          # every queue: one process does it all
    python manage.py worker --queues emails          # e-mails only
    python manage.py worker --queues imports,default # imports and the rest

``manage.py db_worker`` alone serves the queue "default" only: in production neither the
e-mails (queue "emails") nor the imports (queue "imports") would ever run. Without
``--queues`` this command serves every queue named in ``settings.TASKS``. In production run
one process for "emails" and one for the others, so that a password reset never waits
behind a 60,000-row import (README, « Production »).

It runs django-tasks-db's loop (``mesads.core.workers.ResilientWorker``) without the
development auto-reload (a reload would stop a running import mid-way), survives database
outages, and writes a heartbeat that lets the other workers take back the tasks of a dead
one.
"""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

from mesads.core.workers import ResilientWorker


def project_queues(backend: str = "default") -> list[str]:
    """The queues declared for the backend in settings: the one list the worker reads."""
    return list(settings.TASKS[backend].get("QUEUES") or ["default"])


class Command(BaseCommand):
    help = "Run the background worker (every queue of the project, or those of --queues)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            default="",
            help="The queues to serve, separated by commas (default: every queue).",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Process the outstanding tasks, then exit.",
        )
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(
        self, *args, queues: str, batch: bool, max_tasks: int | None, interval: float, **options
    ):
        backend = settings.TASKS["default"]["BACKEND"]
        if backend != "django_tasks_db.DatabaseBackend":
            raise CommandError(
                f"The worker needs TASKS_BACKEND=database (the current backend, {backend}, "
                "runs tasks without a worker)."
            )
        known = project_queues()
        names = [name.strip() for name in queues.split(",") if name.strip()] or known
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(
                f"Unknown queue(s): {', '.join(unknown)} (the project's: {', '.join(known)})."
            )
        verbosity = options["verbosity"]
        level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbosity, logging.DEBUG)
        for name in ("django_tasks_db", "django_tasks", "mesads.core.workers"):
            logging.getLogger(name).setLevel(level)
        if verbosity >= 1:
            self.stdout.write(f"Worker on the queues: {', '.join(names)}")
            self.stdout.flush()
        worker = ResilientWorker(
            queue_names=names,
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=max_tasks,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()
