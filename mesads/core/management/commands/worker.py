"""The background worker of Mes ADS: every queue the project uses (e-mails, imports…).

``manage.py db_worker`` alone serves the queue "default" only: in production neither the
e-mails (queue "emails") nor the imports (queue "imports") would ever run. This command
runs django-tasks-db's worker on every queue named in ``settings.TASKS``, without the
development auto-reload (a reload would stop a running import mid-way).
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def project_queues(backend: str = "default") -> list[str]:
    """The queues declared for the backend in settings: the one list the worker reads."""
    return list(settings.TASKS[backend].get("QUEUES") or ["default"])


class Command(BaseCommand):
    help = "Run the background worker on every queue of the project (e-mails, imports)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Process the outstanding tasks, then exit.",
        )
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, batch: bool, max_tasks: int | None, interval: float, **options):
        backend = settings.TASKS["default"]["BACKEND"]
        if backend != "django_tasks_db.DatabaseBackend":
            raise CommandError(
                f"The worker needs TASKS_BACKEND=database (the current backend, {backend}, "
                "runs tasks without a worker)."
            )
        queues = project_queues()
        if options["verbosity"] >= 1:
            self.stdout.write(f"Worker on the queues: {', '.join(queues)}")
        worker_options = {
            "queue_name": ",".join(queues),
            "interval": interval,
            "reload": False,
            "verbosity": options["verbosity"],
        }
        if batch:
            worker_options["batch"] = True
        if max_tasks is not None:
            worker_options["max_tasks"] = max_tasks
        call_command("db_worker", **worker_options)
