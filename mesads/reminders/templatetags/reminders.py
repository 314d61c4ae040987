"""``{% renewal_calendar authority %}``: the upcoming renewals on the authority's
dashboard, from the reminders app (the register's pages do not know how it is built)."""

from django import template
from django.utils import timezone

from ..renewals import renewal_calendar as build_calendar

register = template.Library()


@register.inclusion_tag("reminders/_renewal_calendar.html")
def renewal_calendar(authority):
    return {
        "authority": authority,
        "calendar": build_calendar(authority, timezone.localdate()),
    }
