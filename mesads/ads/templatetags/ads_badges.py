"""The status badges of an ADS (deleted, in use, complete, attested, certified).

A tag rather than an included template: the ADS lists show them on every row, and the
template engine spent more CPU on the include's tests (nine ``{% if %}`` and two
``{% with %}`` a row) than on the rest of the row. The statuses themselves are the
model's (``ADS.attestation_status``, ``certification_status``…).
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# status -> (label, modifier classes of fr-badge)
ATTESTATION = {
    "attestée": ("Attestée", "fr-badge--success fr-badge--sm fr-badge--no-icon"),
    "à vérifier": ("À vérifier", "fr-badge--warning fr-badge--sm"),
    "non attestée": ("Non attestée", "fr-badge--sm"),
}
CERTIFICATION = {
    "certifiée": ("Certifiée", "fr-badge--success fr-badge--sm"),
    "à recertifier": ("À recertifier", "fr-badge--warning fr-badge--sm"),
    "non certifiée": ("Non certifiée", "fr-badge--sm"),
}


def _badge(label: str, classes: str) -> SafeString:
    return format_html('<p class="fr-badge {}">{}</p>', classes, label)


@register.simple_tag
def ads_badges(ads, renewal: bool = False) -> SafeString:
    """``renewal``: also say when the renewal is overdue (the lists' status column)."""
    badges = []
    if ads.deleted_at:
        badges.append(_badge("Supprimée", "fr-badge--error fr-badge--sm"))
    if ads.in_use:
        badges.append(_badge("Exploitée", "fr-badge--info fr-badge--sm fr-badge--no-icon"))
    else:
        badges.append(_badge("Vacante", "fr-badge--warning fr-badge--sm"))
    if ads.is_complete:
        badges.append(_badge("Complète", "fr-badge--success fr-badge--sm"))
    else:
        badges.append(_badge("À compléter", "fr-badge--new fr-badge--sm"))
    badges.append(_badge(*ATTESTATION[ads.attestation_status]))
    badges.append(_badge(*CERTIFICATION[ads.certification_status]))
    html = "\n".join(badges) + "\n"
    if renewal and ads.is_renewal_overdue():
        html += str(_badge("Renouvellement dépassé", "fr-badge--warning fr-badge--sm"))
    return mark_safe(html)  # noqa: S308 (built from format_html parts)
