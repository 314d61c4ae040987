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


def _badge(label: str, classes: str) -> str:
    return format_html('<p class="fr-badge {}">{}</p>', classes, label)


# Every badge is one of a few fixed pieces of HTML: written once.
DELETED = _badge("Supprimée", "fr-badge--error fr-badge--sm")
IN_USE = _badge("Exploitée", "fr-badge--info fr-badge--sm fr-badge--no-icon")
VACANT = _badge("Vacante", "fr-badge--warning fr-badge--sm")
COMPLETE = _badge("Complète", "fr-badge--success fr-badge--sm")
INCOMPLETE = _badge("À compléter", "fr-badge--new fr-badge--sm")
ATTESTATION_BADGES = {status: _badge(*badge) for status, badge in ATTESTATION.items()}
CERTIFICATION_BADGES = {status: _badge(*badge) for status, badge in CERTIFICATION.items()}
RENEWAL_OVERDUE = _badge("Renouvellement dépassé", "fr-badge--warning fr-badge--sm")


@register.simple_tag
def ads_badges(ads, renewal: bool = False) -> SafeString:
    """``renewal``: also say when the renewal is overdue (the lists' status column)."""
    badges = [DELETED] if ads.deleted_at else []
    badges.append(IN_USE if ads.in_use else VACANT)
    badges.append(COMPLETE if ads.is_complete else INCOMPLETE)
    badges.append(ATTESTATION_BADGES[ads.attestation_status])
    badges.append(CERTIFICATION_BADGES[ads.certification_status])
    html = "\n".join(badges) + "\n"
    if renewal and ads.is_renewal_overdue():
        html += RENEWAL_OVERDUE
    return mark_safe(html)  # noqa: S308 (built from format_html parts)
