"""What every app may rely on: the background worker's processes and their signs of life."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running worker process, rewritten every few seconds by a thread of the
    process (``WORKER_HEARTBEAT_INTERVAL``), even while a long task runs.

    A task left ``RUNNING`` by a process whose row is older than ``WORKER_LEASE_TIMEOUT``
    lost its worker (killed, host lost): the other workers mark it interrupted, or queue it
    again when it is safe to run twice (``mesads.core.workers``). ``/healthz`` reads the
    freshest row.
    """

    worker_id = models.CharField("identifiant", max_length=64, unique=True)
    queues = models.CharField("files", max_length=200)
    host = models.CharField("machine", max_length=255)
    pid = models.PositiveIntegerField("processus")
    started_at = models.DateTimeField("démarré le")
    last_seen_at = models.DateTimeField("dernier signe de vie", db_index=True)
    task_id = models.CharField("tâche en cours", max_length=64, blank=True)
    task_name = models.CharField("nom de la tâche en cours", max_length=200, blank=True)

    class Meta:
        verbose_name = "processus du worker"
        verbose_name_plural = "processus du worker"
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} ({self.queues})"
