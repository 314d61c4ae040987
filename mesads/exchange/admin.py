"""Imports of the register in the Django admin, with django-import-export.

National staff open "Imports du registre" and click "Importer" (django-import-export's
``ImportMixin``: its URLs, permission, upload form and page). The file goes to a
background job instead of being imported in the request: ``importing`` checks every row
in bulk, the progress page (``import_urls``) shows the dry-run preview — new, updated,
unchanged, invalid rows, and the ADS the sync would delete — and its "Confirmer" button
posts to the mixin's ``process_import`` URL, which queues the writing.

``ADSResource`` is the same import on django-import-export's default path (a
``ModelResource``, row by row: a few queries and a save per row). It reads the same files
with the same cell rules and validates with the same model rules; it is kept as the
reference the benchmark compares the bulk path with (``bench/import_.py``). It writes no
history: at 20 to 50 rows per second, the national file would take an hour.
"""

import io
from typing import Any

import tablib
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django_tasks_db.models import DBTaskResult
from import_export import fields, resources, widgets
from import_export.admin import ImportMixin
from import_export.formats.base_formats import Format
from import_export.forms import ImportForm

from mesads.ads.models import ADS, Driver
from mesads.authorities.models import Authority
from mesads.geo.models import Commune

from . import parsing, tasks
from .columns import ADS_COLUMNS, AUTHORITY_COLUMNS, DRIVER_COLUMNS, Kind, driver_header
from .forms import ImportOptionsForm, check_spreadsheet
from .importing import ADS_EXCLUDE, DRIVER_ATTNAMES, DRIVER_EXCLUDE, expected_headers
from .models import ImportJob

# --- django-import-export: the file format and the row-by-row resource ----------------


class RegisterFormat(Format):
    """XLSX or CSV, told apart by their content, read by ``parsing.py`` (encodings,
    separators, formulas) into a tablib dataset."""

    def get_title(self) -> str:
        return "XLSX ou CSV (reconnu automatiquement)"

    def get_extension(self) -> str:
        return "xlsx"

    def can_import(self) -> bool:
        return True

    def create_dataset(self, in_stream: bytes | str, **kwargs: Any) -> tablib.Dataset:
        data = in_stream.encode() if isinstance(in_stream, str) else in_stream
        name = "fichier.xlsx" if data[:4] == b"PK\x03\x04" else "fichier.csv"
        table = parsing.read_table(io.BytesIO(data), name)
        headers = list(table.headers)
        while headers and not headers[-1]:
            headers.pop()
        dataset = tablib.Dataset(headers=headers)
        width = len(headers)
        for _, cells in table.rows:
            cells = (list(cells) + [None] * width)[:width]
            dataset.append(["" if cell is None else cell for cell in cells])
        return dataset


class _DateWidget(widgets.Widget):
    def clean(self, value: Any, row: dict | None = None, **kwargs: Any):
        return parsing.parse_date(value)


class _BooleanWidget(widgets.Widget):
    def __init__(self, allow_unknown: bool) -> None:
        super().__init__()
        self.allow_unknown = allow_unknown

    def clean(self, value: Any, row: dict | None = None, **kwargs: Any):
        return parsing.parse_bool(value, allow_unknown=self.allow_unknown)


class _TextWidget(widgets.Widget):
    def clean(self, value: Any, row: dict | None = None, **kwargs: Any) -> str:
        return parsing.cell_text(value)


class _AuthorityWidget(widgets.ForeignKeyWidget):
    """The authority by its code, one query per row (the default path's way)."""

    def __init__(self) -> None:
        super().__init__(Authority)

    def clean(self, value: Any, row: dict | None = None, **kwargs: Any):
        code = parsing.cell_text(value).replace(" ", "").upper()
        # The kind of code tells which territory to look in (one indexed join).
        if len(code) == 9 and code.isdigit():
            lookup = Q(epci__siren=code)
        elif len(code) == 5:
            lookup = Q(commune__insee_code=code, commune__type=Commune.Type.ACTUELLE)
        elif len(code) == 4 and code.isalpha():
            lookup = Q(airport__code=code)
        else:
            lookup = Q(prefecture__code=code)
        found = list(Authority.objects.filter(lookup).select_related("epci")[:2])
        if len(found) != 1:
            raise ValueError(f"Aucun gestionnaire (ou plusieurs) n’a le code « {code} ».")
        return found[0]


class _CommuneWidget(widgets.ForeignKeyWidget):
    def __init__(self) -> None:
        super().__init__(Commune)

    def clean(self, value: Any, row: dict | None = None, **kwargs: Any):
        code = parsing.cell_text(value)
        if not code:
            return None
        commune = (
            Commune.objects.filter(insee_code=code).order_by("-is_active", "type", "pk").first()
        )
        if commune is None:
            raise ValueError(f"Aucune commune n’a le code INSEE « {code} ».")
        return commune


_STATUS = {parsing.name_key(str(label)): value for value, label in Driver.Status.choices}


def _widget(kind: Kind) -> widgets.Widget:
    if kind is Kind.DATE:
        return _DateWidget()
    if kind is Kind.BOOL:
        return _BooleanWidget(allow_unknown=False)
    if kind is Kind.NULL_BOOL:
        return _BooleanWidget(allow_unknown=True)
    return _TextWidget()


class ADSResource(resources.ModelResource):
    """The register's file on django-import-export's default, row-by-row path."""

    authority = fields.Field(
        attribute="authority",
        column_name=next(c.header for c in AUTHORITY_COLUMNS if c.field == "authority.code"),
        widget=_AuthorityWidget(),
    )
    commune = fields.Field(
        attribute="commune",
        column_name=next(c.header for c in ADS_COLUMNS if c.field == "commune.insee_code"),
        widget=_CommuneWidget(),
    )

    class Meta:
        model = ADS
        name = "ADS du registre"
        fields = ["authority"] + [
            c.field.split(".")[0] for c in ADS_COLUMNS if c.imported
        ]  # in the file's order
        import_id_fields = ["authority", "number"]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for column in ADS_COLUMNS:
            name = column.field.split(".")[0]
            if column.imported and name != "commune":
                self.fields[name] = fields.Field(
                    attribute=name, column_name=column.header, widget=_widget(column.kind)
                )

    def get_queryset(self):
        return ADS.objects.live()

    def _drivers(self, row: dict) -> list[Driver]:
        drivers = []
        block = 1
        while driver_header(block, DRIVER_COLUMNS[0]) in row:
            values = {c.field: row.get(driver_header(block, c)) for c in DRIVER_COLUMNS}
            if any(parsing.cell_text(value) for value in values.values()):
                status = parsing.cell_text(values["status"])
                values["status"] = _STATUS.get(parsing.name_key(status), status)
                values["lease_start_date"] = parsing.parse_date(values["lease_start_date"])
                for name in ("name", "siret", "card_number"):
                    values[name] = parsing.cell_text(values[name])
                drivers.append(Driver(**values))
            block += 1
        return drivers

    def import_instance(self, instance: ADS, row: dict, **kwargs: Any) -> None:
        instance._import_drivers = []
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            try:
                instance._import_drivers = self._drivers(row)
            except ValueError as error:
                raise ValidationError({NON_FIELD_ERRORS: [str(error)]}) from None

    def validate_instance(self, instance: ADS, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            # As the web form: only the fields the user fills in.
            instance.full_clean(exclude=ADS_EXCLUDE | set(errors), validate_unique=validate_unique)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        driver_errors = []
        for driver in instance._import_drivers:
            try:
                driver.full_clean(exclude=DRIVER_EXCLUDE)
            except ValidationError as error:
                driver_errors.extend(error.messages)
        driver_errors += instance.validate_drivers(instance._import_drivers)
        if driver_errors:
            errors.setdefault(NON_FIELD_ERRORS, []).extend(driver_errors)
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None) -> bool:
        if original is not None and original.pk:
            before = [tuple(getattr(d, a) for a in DRIVER_ATTNAMES) for d in original.drivers.all()]
            after = [
                tuple(getattr(d, a) for a in DRIVER_ATTNAMES) for d in instance._import_drivers
            ]
            if before != after:
                return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def before_save_instance(self, instance: ADS, row: dict, **kwargs: Any) -> None:
        if instance.pk:
            # Before the ADS changes: a new-regime ADS may only keep titulaire drivers.
            instance.drivers.all().delete()

    def after_save_instance(self, instance: ADS, row: dict, **kwargs: Any) -> None:
        for driver in instance._import_drivers:
            driver.ads = instance
            driver.save()
        instance.refresh_derived(instance._import_drivers)
        instance.save(
            update_fields=["number_sort_key", "plate_search", "drivers_search", "is_complete"]
        )


# --- the admin ---------------------------------------------------------------------------


class RegisterImportForm(ImportOptionsForm, ImportForm):
    """django-import-export's upload form, with the options of a register import."""

    def clean_import_file(self):
        return check_spreadsheet(self.cleaned_data["import_file"])


@admin.register(ImportJob)
class ImportJobAdmin(ImportMixin, admin.ModelAdmin):
    resource_classes = [ADSResource]
    formats = [RegisterFormat]
    import_form_class = RegisterImportForm
    import_template_name = "admin/exchange/importjob/import.html"
    list_display = [
        "original_name",
        "user",
        "state",
        "sync",
        "rows_total",
        "created_count",
        "updated_count",
        "deleted_count",
        "error_count",
        "created_at",
        "progress_link",
    ]
    list_filter = ["status", "sync"]
    search_fields = ["original_name", "user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in ImportJob._meta.concrete_fields if f.name != "id"] + [
        "progress_link"
    ]

    @admin.display(description="Suivi")
    @admin.display(description="état", ordering="status")
    def state(self, job: ImportJob) -> str:
        return job.status_label  # an import whose worker died shows as interrupted

    def progress_link(self, job: ImportJob) -> str:
        return format_html(
            '<a href="{}">Voir la progression et le résultat</a>',
            reverse("imports:progress", args=[job.pk]),
        )

    def get_import_formats(self) -> list[type[Format]]:
        return [RegisterFormat]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm("exchange.add_importjob")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are created by uploading a file ("Importer")

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Upload: the file is checked and queued, then the progress page takes over."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_import_form(request)
        if request.method == "POST" and form.is_valid():
            job = form.start_import(request.user)
            if job:
                return redirect("imports:progress", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Importer un fichier d’ADS",
            "form": form,
            "opts": self.model._meta,
            "media": self.media + form.media,
            # The columns of the format (the template's), drivers included.
            "fields_list": [(ADSResource.get_display_name(), expected_headers())],
            "template_url": reverse("imports:template"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context)

    @staticmethod
    def _confirm_view(request: HttpRequest) -> HttpResponse:
        job = get_object_or_404(ImportJob, pk=request.POST.get("job"))
        if not job.can_confirm or not tasks.confirm_import(job):
            messages.error(request, "Cet import ne peut plus être confirmé.")
        return redirect("imports:progress", job.pk)

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Confirm: the checked file is queued for writing (the mixin's second step)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        return require_POST(self._confirm_view)(request)


# django-tasks-db's « Task Results » (in English): the state of an import is on its own
# page, in French; the queue's rows are for the operator's database tools, not the admin.
admin.site.unregister(DBTaskResult)
