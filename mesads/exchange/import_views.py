"""Pages of imports: the upload (with the imports made), an import's progress and
result (with the preview to confirm, or the errors, paginated), the error report as CSV,
and the blank template to download.

A job is seen by the person who uploaded it and by national staff who may import; anyone
else gets a 404.
"""

import csv
import io
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from mesads.core.pagination import Paginator

from .columns import escape_formula
from .forms import ImportUploadForm
from .importing import Action
from .models import ImportJob, ImportJobError, ImportJobRow
from .tasks import confirm_import, restart_import
from .template import FILENAME, write_template

PAGE_SIZE = 50
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACTIONS = {
    Action.NEW: "Nouvelles",
    Action.UPDATED: "Modifiées",
    Action.DELETED: "Supprimées",
    Action.UNCHANGED: "Inchangées",
}


def can_import(user) -> bool:
    return user.is_active and user.has_perm("exchange.add_importjob")


def get_job_for_user(user, job_id: int, *, to_act: bool = False) -> ImportJob:
    """The job the user may see; ``to_act`` (confirm, relaunch): only for who may import."""
    jobs = ImportJob.objects.select_related("user")
    if not user.has_perm("exchange.view_importjob"):
        jobs = jobs.filter(user=user)
    job = get_object_or_404(jobs, pk=job_id)
    if to_act and not can_import(user):
        raise Http404
    return job


@login_required
def import_index(request: HttpRequest) -> HttpResponse:
    """National staff upload a file (checked in full, nothing written before they confirm)
    and find the imports made, newest first."""
    if not can_import(request.user):
        raise Http404
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = form.start_import(request.user)
        if job:
            return redirect("imports:progress", job.pk)
    jobs = ImportJob.objects.select_related("user").order_by("-pk")
    return render(
        request,
        "exchange/import_index.html",
        {"form": form, "page_obj": Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))},
    )


@login_required
@require_POST
def import_confirm(request: HttpRequest, job_id: int) -> HttpResponse:
    """« Confirmer l’import »: the writing is queued, once (a second click is told)."""
    job = get_job_for_user(request.user, job_id, to_act=True)
    if not job.can_confirm or not confirm_import(job):
        messages.error(request, "Cet import ne peut plus être confirmé.")
    return redirect("imports:progress", job.pk)


@login_required
@require_GET
@never_cache
def import_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job_for_user(request.user, job_id)
    allowed = can_import(request.user)
    context: dict = {
        "job": job,
        "can_import": allowed,
        "can_confirm": job.can_confirm and allowed,
        "can_restart": job.is_interrupted and allowed,
    }
    if job.status == ImportJob.Status.INVALID:
        errors = ImportJobError.objects.filter(job=job).order_by("pk")
        context["page_obj"] = Paginator(errors, PAGE_SIZE).get_page(request.GET.get("page"))
    elif job.status in (ImportJob.Status.READY, ImportJob.Status.DONE):
        counts = dict(
            ImportJobRow.objects.filter(job=job)
            .values_list("action")
            .annotate(n=Count("pk"))
            .order_by()
        )
        tabs = [(action, label, counts.get(action, 0)) for action, label in ACTIONS.items()]
        default = next((action for action, _, n in tabs if n), Action.NEW)
        action = request.GET.get("effet", default)
        if action not in ACTIONS:
            raise Http404
        rows = ImportJobRow.objects.filter(job=job, action=action).order_by("pk")
        context |= {
            "tabs": tabs,
            "action": action,
            "page_obj": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
            "query_string": f"effet={action}",
        }
    return render(request, "exchange/import_progress.html", context)


@login_required
@require_POST
def import_restart(request: HttpRequest, job_id: int) -> HttpResponse:
    """Run an interrupted import again (« Relancer »): its check, or its writing."""
    job = get_job_for_user(request.user, job_id, to_act=True)
    writing = job.status == ImportJob.Status.WRITING
    if restart_import(job):
        messages.success(
            request,
            "L’enregistrement a été relancé." if writing else "La vérification a été relancée.",
        )
    else:
        messages.error(request, "Cet import n’est pas interrompu : il n’y a rien à relancer.")
    return redirect("imports:progress", job.pk)


def _csv_lines(job: ImportJob) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(["Ligne", "Colonne", "Erreur"])
    errors = (
        ImportJobError.objects.filter(job=job)
        .order_by("pk")
        .values_list("line", "column", "message")
        .iterator(chunk_size=2000)
    )
    for count, (line, column, message) in enumerate(errors, 1):
        writer.writerow(
            ["" if line is None else line, escape_formula(column), escape_formula(message)]
        )
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


@login_required
@require_GET
@never_cache
def import_errors_csv(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    """Every error of the file, for the person who will correct it (UTF-8, ';')."""
    job = get_job_for_user(request.user, job_id)
    response = StreamingHttpResponse(_csv_lines(job), content_type="text/csv; charset=utf-8")
    name = job.original_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition_header(True, f"erreurs-{name}.csv")
    return response


@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """The blank template: anyone preparing a file for national staff may download it."""
    output = io.BytesIO()
    write_template(output)
    response = HttpResponse(output.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, FILENAME)
    return response
