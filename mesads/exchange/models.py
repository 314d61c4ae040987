"""Imports of the register run in the background: each one is an ``ImportJob``.

National staff upload a file; a task checks it (dry run) and stores what it found — the
errors, or what each row would do; they confirm; a second task writes it. The job keeps
the progress (rows validated, rows written) that the progress page shows, and the result.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from mesads.core.storage import delete_stored_file

from .importing import MAX_DIFFS_KEPT, MAX_ERRORS_KEPT, Action, ImportResult


def heartbeat_cutoff():
    """Before this moment, a running job's last sign of life means its worker is gone."""
    return timezone.now() - timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT)


class ImportJobQuerySet(models.QuerySet):
    def interrupted(self):
        """Jobs a worker was running and stopped giving signs of life (killed, host lost):
        their transaction was rolled back, so nothing of them was written."""
        return self.filter(status__in=ImportJob.IN_WORKER, heartbeat_at__lt=heartbeat_cutoff())


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "En attente de vérification"
        VALIDATING = "validating", "Vérification en cours"
        INVALID = "invalid", "Refusé : erreurs à corriger"
        READY = "ready", "Vérifié : en attente de confirmation"
        COMMIT_QUEUED = "commit_queued", "Confirmé : en attente d’enregistrement"
        WRITING = "writing", "Enregistrement en cours"
        DONE = "done", "Importé"
        FAILED = "failed", "Interrompu : rien n’a été enregistré"
        CANCELLED = "cancelled", "Abandonné"

    RUNNING = (Status.QUEUED, Status.VALIDATING, Status.COMMIT_QUEUED, Status.WRITING)
    # The states in which a worker holds the job, and what running it again queues.
    IN_WORKER = (Status.VALIDATING, Status.WRITING)
    RESTART = {Status.VALIDATING: Status.QUEUED, Status.WRITING: Status.COMMIT_QUEUED}

    class Stage(models.TextChoices):
        READING = "reading", "Lecture du fichier"
        VALIDATING = "validating", "Vérification des lignes"
        WRITING = "writing", "Enregistrement des ADS"
        HISTORY = "history", "Écriture de l’historique"

    file = models.FileField("fichier", upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField("nom du fichier", max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="importé par",
    )
    sync = models.BooleanField(
        "supprimer les ADS absentes du fichier",
        default=False,
        help_text="Les ADS des gestionnaires présents dans le fichier qui n’y figurent pas "
        "sont supprimées (suppression réversible par l’équipe nationale).",
    )
    comment = models.CharField("commentaire pour l’historique", max_length=255, blank=True)
    status = models.CharField("état", max_length=20, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField("étape", max_length=20, choices=Stage.choices, blank=True)
    rows_total = models.PositiveIntegerField("lignes du fichier", null=True, blank=True)
    rows_read = models.PositiveIntegerField("lignes lues", default=0)
    rows_validated = models.PositiveIntegerField("lignes vérifiées", default=0)
    to_write = models.PositiveIntegerField("ADS à enregistrer", default=0)
    rows_written = models.PositiveIntegerField("ADS enregistrées", default=0)
    created_count = models.PositiveIntegerField("ADS créées", default=0)
    updated_count = models.PositiveIntegerField("ADS modifiées", default=0)
    unchanged_count = models.PositiveIntegerField("ADS inchangées", default=0)
    deleted_count = models.PositiveIntegerField("ADS supprimées", default=0)
    invalid_rows = models.PositiveIntegerField("lignes en erreur", default=0)
    error_count = models.PositiveIntegerField("erreurs", default=0)
    details = models.JSONField("lecture du fichier", default=dict, blank=True)
    message = models.TextField("message", blank=True)
    revision = models.ForeignKey(
        "reversion.Revision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="révision de l’historique",
    )
    heartbeat_at = models.DateTimeField(
        "dernier signe de vie du traitement",
        null=True,
        blank=True,
        help_text="Écrit chaque seconde par le worker pendant qu’il traite l’import.",
    )
    seconds = models.FloatField("durée de la dernière étape (s)", null=True, blank=True)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    validated_at = models.DateTimeField("vérifié le", null=True, blank=True)
    confirmed_at = models.DateTimeField("confirmé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = "import du registre"
        verbose_name_plural = "imports du registre"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def is_interrupted(self) -> bool:
        """A worker held the job and has given no sign of life for too long.

        Without a heartbeat (SQLite, where the import's transaction is the only writer,
        or a run inside a request) a job is never declared interrupted.
        """
        return (
            self.status in self.IN_WORKER
            and self.heartbeat_at is not None
            and self.heartbeat_at < heartbeat_cutoff()
        )

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING and not self.is_interrupted

    @property
    def status_label(self) -> str:
        if self.is_interrupted:
            return "Interrompu : rien n’a été enregistré, à relancer"
        return self.get_status_display()

    @property
    def can_confirm(self) -> bool:
        return self.status == self.Status.READY

    @property
    def progress_done(self) -> int:
        if self.stage in (self.Stage.WRITING, self.Stage.HISTORY):
            return self.rows_written
        if self.stage == self.Stage.VALIDATING:
            return self.rows_validated
        return self.rows_read

    @property
    def progress_total(self) -> int | None:
        if self.stage in (self.Stage.WRITING, self.Stage.HISTORY):
            return self.to_write
        return self.rows_total

    @property
    def progress_percent(self) -> int | None:
        total = self.progress_total
        if not total:
            return None
        return min(100, round(100 * self.progress_done / total))

    @property
    def errors_truncated(self) -> bool:
        """Only the first errors were kept (the others were counted)."""
        return self.error_count > MAX_ERRORS_KEPT

    @property
    def errors_kept(self) -> int:
        return min(self.error_count, MAX_ERRORS_KEPT)

    @property
    def diffs_truncated(self) -> bool:
        """Only the first modified ADS kept their old → new values (the others, their
        changed columns)."""
        return self.updated_count > MAX_DIFFS_KEPT

    @property
    def diffs_kept(self) -> int:
        return MAX_DIFFS_KEPT

    @transaction.atomic
    def discard_file(self) -> None:
        """Forget the uploaded file of a refused job (invalid, or stopped on an error): it
        holds personal data, may be hostile, and nothing will read it again (a new
        upload starts a new job). Cleared here, saved with the job; removed from the
        storage once that is committed."""
        if not self.file:
            return
        storage, name = self.file.storage, self.file.name
        self.file = ""
        transaction.on_commit(lambda: delete_stored_file(storage, name))

    def record(self, result: ImportResult) -> None:
        """Store what the import found (errors, or what each row does) and its counts."""
        self.errors.all().delete()
        self.rows.all().delete()
        ImportJobError.objects.bulk_create(
            (
                ImportJobError(
                    job=self, line=issue.line, column=issue.column[:255], message=issue.message
                )
                for issue in result.issues
            ),
            batch_size=5000,
        )
        ImportJobRow.objects.bulk_create(
            (
                ImportJobRow(
                    job=self,
                    line=outcome.line,
                    action=outcome.action,
                    authority=outcome.authority[:200],
                    number=outcome.number[:50],
                    changes=" ; ".join(outcome.changes),
                    diff=outcome.diff,
                )
                for outcome in result.outcomes
            ),
            batch_size=5000,
        )
        self.rows_total = result.rows
        self.error_count = result.error_count
        self.invalid_rows = result.invalid_rows
        self.created_count = result.counts[Action.NEW]
        self.updated_count = result.counts[Action.UPDATED]
        self.unchanged_count = result.counts[Action.UNCHANGED]
        self.deleted_count = result.counts[Action.DELETED]
        self.to_write = result.changed
        self.details = result.details
        self.seconds = round(result.seconds, 2)
        if result.revision_id:
            self.revision_id = result.revision_id
        self.save()


class ImportJobError(models.Model):
    """One error found in the file: line (None: the whole file), column, message."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField("ligne", null=True, blank=True)
    column = models.CharField("colonne", max_length=255, blank=True)
    message = models.TextField("erreur")

    class Meta:
        verbose_name = "erreur d’import"
        verbose_name_plural = "erreurs d’import"
        ordering = ["job", "pk"]

    def __str__(self) -> str:
        return f"Ligne {self.line} – {self.column} : {self.message}"


class ImportJobRow(models.Model):
    """What the import does to one ADS: the preview before confirming, the report after."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField("ligne", null=True, blank=True)
    action = models.CharField(
        "effet",
        max_length=10,
        choices=[
            (Action.NEW, "Nouvelle"),
            (Action.UPDATED, "Modifiée"),
            (Action.UNCHANGED, "Inchangée"),
            (Action.DELETED, "Supprimée (absente du fichier)"),
        ],
    )
    authority = models.CharField("gestionnaire", max_length=200)
    number = models.CharField("numéro de l’ADS", max_length=50)
    changes = models.TextField("colonnes modifiées", blank=True)
    # [[label, before, after], …] as the preview shows them; before is null for a driver
    # added, after for a driver removed. Only for the first modified ADS (MAX_DIFFS_KEPT).
    diff = models.JSONField("valeurs modifiées (avant, après)", default=list, blank=True)

    class Meta:
        verbose_name = "ligne d’import"
        verbose_name_plural = "lignes d’import"
        ordering = ["job", "pk"]
        indexes = [models.Index(fields=["job", "action"], name="import_row_job_action_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} : ADS n° {self.number} ({self.authority})"


@receiver(post_delete, sender=ImportJob)
def _delete_uploaded_file(sender, instance: ImportJob, **kwargs) -> None:
    # The file holds personal data (holders, drivers): it goes with its job.
    if instance.file:
        transaction.on_commit(lambda: instance.file.delete(save=False))
