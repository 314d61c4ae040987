from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
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


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 400 page (an unknown Host, a malformed request), rendered without the request:
    Django's own view runs the context processors, which read ``request.user`` — absent
    when the request was refused before the authentication middleware (an unknown Host
    is refused by CommonMiddleware), and the page would become a 500."""
    return HttpResponseBadRequest(render_to_string("400.html"))
