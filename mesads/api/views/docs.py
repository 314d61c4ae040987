"""The API's documentation: a page of the site in French, the OpenAPI schema, and Swagger
UI served from our own static files (drf-spectacular-sidecar) under the site's strict
Content-Security-Policy: its start-up script is a separate file, not inline code."""

from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .. import profiles


class DocumentationPage(TemplateView):
    template_name = "api/documentation.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["groups"] = list(profiles.GROUP_LABELS.values())
        context["profiles"] = profiles.table()
        return context


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema, public (YAML, or JSON with ?format=json)."""


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "Explorer l’API de Mes ADS"
