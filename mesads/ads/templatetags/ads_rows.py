"""``{% ads_row ads %}``: one row of an ADS list (number and link, holder, plate, creation
date and regime, statuses).

A tag for the reason ``ads_badges`` is one: a list page shows fifty rows, and the
template engine spent a fifth of the page's CPU resolving each row's dozen variables and
filters through an included template. The HTML is the one that template wrote; its
values are escaped as Django escapes them (``html.escape``), without ``format_html``'s
checks for lazy and safe strings on each of them, which none of these values is.
"""

import datetime
from html import escape

from django import template
from django.utils.safestring import SafeString

from mesads.core.templatetags.pk_urls import pk_url

from .ads_badges import ads_badges

register = template.Library()

NEW_REGIME_BADGE = ' <span class="fr-badge fr-badge--sm fr-badge--blue-ecume">Nouvelle</span>'
ROW = """<tr>
  <th scope="row" class="mesads-nowrap"><a href="{}">ADS n° {}</a></th>
  <td>{}</td>
  <td class="mesads-nowrap">{}</td>
  <td>{}{}</td>
  <td>{}</td>
</tr>
"""


def _date(value: datetime.date | None) -> str:
    """``|date:"d/m/Y"|default:"—"``."""
    if value is None:
        return "—"
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


@register.simple_tag
def ads_row(ads) -> SafeString:
    return SafeString(
        ROW.format(
            escape(pk_url("ads:detail", ads.pk)),
            escape(ads.number),
            escape(ads.holder_name or "—"),
            escape(ads.vehicle_plate or "—"),
            _date(ads.creation_date),
            NEW_REGIME_BADGE if ads.is_new_regime else "",
            ads_badges(ads, renewal=True),
        )
    )
