"""Pre-creation of one issuing authority per territory.

Every current commune, EPCI, prefecture and airport may issue ADS, so the register holds
one authority for each (~36,000), created or renamed after each geography load.
"""

from collections.abc import Callable

from django.db import transaction

from mesads.authorities.models import Authority
from mesads.core.text import search_key
from mesads.geo.models import EPCI, Airport, Commune, Departement

BATCH = 2000


def _sync(type_: str, field: str, territories: list, name_of, departement_of, progress) -> dict:
    """Create the missing authorities of ``territories`` and rename the others; refill
    the search name an earlier load left empty (AuthorityQuerySet.bulk_update derives it)."""
    existing = {
        getattr(a, f"{field}_id"): a
        for a in Authority.objects.filter(type=type_).only(
            "pk", "name", "search_name", "departement_id", field
        )
    }
    to_create, to_update = [], []
    for territory in territories:
        name, departement_id = name_of(territory), departement_of(territory)
        authority = existing.get(territory.pk)
        if authority is None:
            to_create.append(
                Authority(
                    type=type_, name=name, departement_id=departement_id, **{field: territory}
                )
            )
        elif (authority.name, authority.search_name, authority.departement_id) != (
            name,
            search_key(name),
            departement_id,
        ):
            authority.name, authority.departement_id = name, departement_id
            to_update.append(authority)
    Authority.objects.bulk_create(to_create, batch_size=BATCH)
    Authority.objects.bulk_update(to_update, ["name", "departement"], batch_size=BATCH)
    if progress:
        progress(f"Gestionnaires ({type_}) : {len(to_create)} créés, {len(to_update)} mis à jour")
    return {"created": len(to_create), "updated": len(to_update)}


@transaction.atomic
def ensure_authorities(progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Create (or rename) the authority of every territory; idempotent.

    Authorities of communes that disappeared are kept, with their ADS: nothing is deleted.
    """
    return {
        "commune": _sync(
            Authority.Type.COMMUNE,
            "commune",
            list(Commune.objects.current().only("pk", "name", "departement_id")),
            lambda c: c.name,
            lambda c: c.departement_id,
            progress,
        ),
        "epci": _sync(
            Authority.Type.EPCI,
            "epci",
            list(EPCI.objects.filter(is_active=True).only("pk", "name", "departement_id")),
            lambda e: e.name,
            lambda e: e.departement_id,
            progress,
        ),
        "prefecture": _sync(
            Authority.Type.PREFECTURE,
            "prefecture",
            list(Departement.objects.all()),
            # In Paris the licences are issued by the Préfecture de police.
            lambda d: (
                "Préfecture de police de Paris" if d.code == "75" else f"Préfecture – {d.name}"
            ),
            lambda d: d.pk,
            progress,
        ),
        "airport": _sync(
            Authority.Type.AIRPORT,
            "airport",
            list(Airport.objects.all()),
            lambda a: f"Aéroport {a.name}",
            lambda a: a.departement_id,
            progress,
        ),
    }
