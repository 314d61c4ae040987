"""The API's look-ups, each limited to what the key may reach, each index-backed."""

import re

from django.db.models import OuterRef, Q, Subquery

from mesads.ads.models import (
    ADS,
    Authority,
    AuthorityDecree,
    declaration_state,
    live_ads_count,
    number_search_expression,
)
from mesads.ads.validators import plate_search_key
from mesads.geo.models import Airport, Commune, Departement

from .keys import Caller
from .representation import api_queryset

# Built once: Django works out an expression's identity (for its SQL cache) through
# inspect.signature, which costs more than the query when rebuilt for every call.
NUMBER_KEY = number_search_expression()


def card_key(value: str) -> str:
    """A professional card number as compared: upper-case letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def in_scope(queryset, caller: Caller, prefix: str = "authority__"):
    if caller.is_national:
        return queryset
    return queryset.filter(**{f"{prefix}departement_id__in": sorted(caller.departement_ids)})


def scoped_departement(caller: Caller, code: str) -> Departement | None:
    """The département of ``code`` if the key reaches it, else None (a 404)."""
    departement = Departement.objects.filter(code=code.upper()).first()
    if departement is None:
        return None
    if not caller.is_national and departement.pk not in caller.departement_ids:
        return None
    return departement


def insee_q(code: str) -> Q:
    """ADS attached to the commune ``code`` (see representation.insee_code)."""
    return (
        Q(commune__insee_code=code)
        | Q(commune__isnull=True, authority__commune__insee_code=code)
        | Q(commune__isnull=True, authority__prefecture__chef_lieu_code=code)
    )


def live_ads(caller: Caller):
    return in_scope(api_queryset().filter(deleted_at__isnull=True), caller)


def find_for_verification(caller: Caller, insee: str, number: str) -> tuple[ADS | None, bool]:
    """The ADS numbered ``number`` (in any spelling) attached to the commune ``insee``,
    and whether the commune is within the key's reach (False: a 404).

    The commune's own authority first; then an ADS whose commune of use it is (an EPCI's);
    then, for an ADS without a commune, the EPCI the commune delegated to, the prefecture
    (Paris) or an airport of its département. Two queries, each on an index: the commune
    with its authorities, then the ADS by (authority, number key) or (commune, number key).
    """
    communes = list(
        Commune.objects.filter(insee_code=insee.upper())
        .order_by()
        .values("pk", "departement_id", "authority__pk", "authority__delegated_to_id")
    )
    if not communes:
        return None, True
    departement_ids = {c["departement_id"] for c in communes}
    if not caller.is_national and not departement_ids & caller.departement_ids:
        return None, False
    own = [c["authority__pk"] for c in communes if c["authority__pk"]]
    delegated = [
        c["authority__delegated_to_id"] for c in communes if c["authority__delegated_to_id"]
    ]
    # Two index look-ups in one query (an OR across the join would read every authority).
    supervising = [
        pk
        for (pk,) in Authority.objects.filter(prefecture_id__in=departement_ids)
        .order_by()
        .values_list("pk")
        .union(
            Airport.objects.filter(departement_id__in=departement_ids, authority__isnull=False)
            .order_by()
            .values_list("authority__pk")
        )
    ]
    key = re.sub(r"[- ./]", "", number.upper())
    commune_ids = [c["pk"] for c in communes]
    candidates = list(
        live_ads(caller)
        .alias(number_search=NUMBER_KEY)
        .filter(number_search=key)
        .filter(
            Q(authority_id__in=own)
            | Q(commune_id__in=commune_ids)
            | Q(commune__isnull=True, authority_id__in=[*delegated, *supervising])
        )[:20]
    )

    def rank(ads: ADS) -> tuple:
        return (
            ads.authority_id not in own,
            ads.commune_id not in commune_ids,
            ads.number.strip().upper() != number.strip().upper(),
            ads.pk,
        )

    return (min(candidates, key=rank) if candidates else None), True


def plate_matches(ads: ADS, plate: str) -> bool:
    return bool(ads.plate_search) and ads.plate_search == plate_search_key(plate)


def card_matches(ads: ADS, card: str) -> bool:
    wanted = card_key(card)
    return bool(wanted) and any(card_key(d.card_number) == wanted for d in ads.api_drivers)


# --- authorities ------------------------------------------------------------------------


def authorities(caller: Caller):
    latest_decree = AuthorityDecree.objects.filter(authority=OuterRef("pk")).order_by(
        "-date", "-pk"
    )
    queryset = (
        Authority.objects.select_related("commune", "epci", "prefecture", "airport", "departement")
        .annotate(
            live_ads=live_ads_count(),
            decree_count=Subquery(latest_decree.values("ads_count")[:1]),
            decree_date=Subquery(latest_decree.values("date")[:1]),
        )
        .annotate(declaration=declaration_state("live_ads"))
    )
    return in_scope(queryset, caller, prefix="")


def authority_data(authority: Authority) -> dict:
    decree_date = authority.decree_date
    return {
        "id": authority.pk,
        "type": authority.type,
        "nom": authority.name,
        "code": authority.code or None,
        "departement": authority.departement.code if authority.departement_id else None,
        "declaration": authority.declaration,
        "delegue_a": authority.delegated_to_id,
        "nombre_ads": authority.live_ads,
        "nombre_ads_attendu": authority.expected_ads_count,
        "arrete_nombre_ads": authority.decree_count,
        "arrete_date": decree_date.isoformat() if decree_date else None,
    }
