from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.generic import TemplateView


def _contact() -> dict[str, str]:
    return {
        "contact_email": settings.CONTACT_EMAIL,
        "hosting_provider": settings.HOSTING_PROVIDER,
    }


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", _contact())


class PublicPage(TemplateView):
    """A page anyone may read, logged in or not (accessibility, legal notice…)."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | _contact()
