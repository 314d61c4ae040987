"""Figures as the follow-up shows them."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.456 → « 46 % »; no rate (no ADS, no authority) → « — »."""
    return "—" if rate is None else f"{round(rate * 100)} %"


@register.filter
def days(value: float | int | None) -> str:
    """A delay in days: « 3 jours », « 1 jour », « 0,5 jour »; none → « — »."""
    if value is None:
        return "—"
    text = intcomma(value if isinstance(value, int) else str(value).replace(".", ","))
    return f"{text} jour{'s' if value >= 2 else ''}"
