from django import template
from django.utils.safestring import mark_safe

from mesads.ads.panels import ads_panels as registered_panels

register = template.Library()


@register.simple_tag(takes_context=True)
def ads_panels(context, ads) -> str:
    """The panels feature apps registered for the ADS page (``mesads.ads.panels``): each
    is HTML its app rendered from a template (autoescaped), hence ``mark_safe``."""
    request = context.get("request")
    return mark_safe("".join(panel(request, ads) for panel in registered_panels()))  # noqa: S308
