from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """``45.3`` → « 45,3 % » (non-breaking space, as French typography wants); « — »
    when there is nothing to divide."""
    if value is None:
        return "—"
    return f"{number_format(value, 1)}\u00a0%"
