from django.urls import path, register_converter

from . import views

app_name = "exchange"


class ExportFormatConverter:
    """The file format, as the last segment of a download URL: ``…/csv/`` or ``…/xlsx/``."""

    regex = "csv|xlsx"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormatConverter, "export_format")

urlpatterns = [
    path("", views.export_index, name="index"),
    path(
        "gestionnaires/<int:authority_id>/<export_format:export_format>/",
        views.authority_export,
        name="authority",
    ),
    path(
        "departements/<str:code>/<export_format:export_format>/",
        views.departement_export,
        name="departement",
    ),
    path("national/<export_format:export_format>/", views.national_export, name="national"),
]
