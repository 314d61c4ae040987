"""What each re-user profile receives: the one definition of the API's fields by profile.

``representation.ads_data`` builds an ADS whole, then keeps only the fields of the key's
profile (``restrict``): a field added to the representation and forgotten here is never
sent. The documentation page shows this table, and ``tests/api/test_api_profiles.py``
walks every endpoint with every profile against it.

The anonymous profile is the open data's: nothing that identifies a person, a holder's
company or a vehicle (the open data leaves plates out as identifying, since a plate
leads to its owner). The verification's comparisons are answers about the same data:
a profile compares a plate or a card only if it receives plates or cards.
"""

import functools

from .models import Profile

# Each field of an ADS, by its path in the JSON (``conducteurs[].nom``: the ``nom`` of each
# driver), with what the documentation calls it. Groups are shown together.
GROUPS: dict[str, dict[str, str]] = {
    "ads": {
        "id": "identifiant",
        "numero": "numéro",
        "insee": "commune de rattachement",
        "departement": "département",
        "gestionnaire.id": "gestionnaire",
        "gestionnaire.type": "type de gestionnaire",
        "regime": "régime",
        "date_creation": "date de création",
        "date_attribution": "date d’attribution",
        "date_dernier_renouvellement": "date du dernier renouvellement",
        "echeance_renouvellement": "échéance du renouvellement",
        "exploitee": "exploitée",
        "vehicule.pmr": "véhicule accessible en fauteuil roulant",
        "vehicule.faibles_emissions": "véhicule à faibles émissions",
        "conventionnee_cpam": "conventionnement CPAM",
        "complete": "complétude",
        "attestee_le": "date d’attestation",
        "certifiee": "certification",
        "certifiee_le": "date de certification",
        "modifiee_le": "date de modification",
    },
    "vehicle_plate": {"vehicule.immatriculation": "immatriculation du véhicule"},
    "holder": {"titulaire.nom": "nom du titulaire", "titulaire.siret": "SIRET du titulaire"},
    "holder_contact": {
        "titulaire.telephone": "téléphone du titulaire",
        "titulaire.email": "adresse électronique du titulaire",
    },
    "drivers": {
        "conducteurs[].statut": "statut des conducteurs",
        "conducteurs[].nom": "nom des conducteurs",
        "conducteurs[].carte_pro": "carte professionnelle des conducteurs",
    },
}

DRIVERS_FIELD = "conducteurs[].statut"

GROUP_LABELS = {
    "ads": "L’ADS (numéro, commune, gestionnaire, régime et dates, exploitation, "
    "accessibilité et émissions du véhicule, conventionnement, attestation, certification)",
    "vehicle_plate": "Immatriculation du véhicule",
    "holder": "Titulaire (nom, SIRET)",
    "holder_contact": "Téléphone et adresse électronique du titulaire",
    "drivers": "Conducteurs (statut, nom, carte professionnelle)",
}

PROFILE_GROUPS: dict[str, tuple[str, ...]] = {
    Profile.COMPLET: ("ads", "vehicle_plate", "holder", "holder_contact", "drivers"),
    Profile.LE_TAXI: ("ads", "vehicle_plate", "holder", "drivers"),
    Profile.CPAM: ("ads", "vehicle_plate", "holder"),
    Profile.ANONYME: ("ads",),
}

# The verification's own fields, beside ``ads``; the comparisons need the compared field.
VERIFICATION_FIELDS = (
    "trouvee",
    "exploitee",
    "regime",
    "echeance_renouvellement",
    "renouvellement_en_retard",
    "pmr",
    "conventionnee_cpam",
    "certifiee",
    "ads",
)
# A comparison: (its field in the answer, its query parameter, the ADS field it reads).
COMPARISONS = (
    ("immatriculation_concorde", "immatriculation", "vehicule.immatriculation"),
    ("carte_pro_concorde", "carte_pro", "conducteurs[].carte_pro"),
)

# An authority's fields: public, the same for every profile.
AUTHORITY_FIELDS = frozenset(
    {
        "id",
        "type",
        "nom",
        "code",
        "departement",
        "declaration",
        "delegue_a",
        "nombre_ads",
        "nombre_ads_attendu",
        "arrete_nombre_ads",
        "arrete_date",
    }
)


@functools.cache
def ads_fields(profile: str) -> frozenset[str]:
    """The paths of the ADS fields a profile receives."""
    return frozenset(path for group in PROFILE_GROUPS[profile] for path in GROUPS[group])


def comparisons(profile: str) -> list[tuple[str, str]]:
    """The verification's comparisons a profile may ask: (answer field, parameter)."""
    fields = ads_fields(profile)
    return [(answer, param) for answer, param, path in COMPARISONS if path in fields]


def verification_fields(profile: str) -> frozenset[str]:
    return frozenset(VERIFICATION_FIELDS) | {answer for answer, _ in comparisons(profile)}


def restrict(data: dict, fields: frozenset[str]) -> dict:
    """``data`` with only the given paths (an object none of whose fields is given goes
    too), in ``data``'s order."""
    return _keep(data, _tree(fields))


@functools.cache
def _tree(fields: frozenset[str]) -> dict:
    """The paths as a tree: ``{"vehicule": {"pmr": True}, "conducteurs": [{"nom": True}]}``
    (built once per profile: restricting a page of 1,000 ADS walks it 1,000 times)."""
    tree: dict = {}
    for path in fields:
        node = tree
        *parents, leaf = path.split(".")
        for name in parents:
            if name.endswith("[]"):
                node = node.setdefault(name[:-2], [{}])[0]
            else:
                node = node.setdefault(name, {})
        node[leaf] = True
    return tree


def _keep(data: dict, tree: dict) -> dict:
    kept = {}
    for name, value in data.items():
        branch = tree.get(name)
        if branch is True:
            kept[name] = value
        elif isinstance(branch, list):
            kept[name] = [_keep(item, branch[0]) for item in value]
        elif branch:
            kept[name] = _keep(value, branch)
    return kept


def table() -> list[tuple[str, str, list[bool]]]:
    """For the documentation: each profile (value, label) and whether it receives each
    group of ``GROUP_LABELS``, in that order."""
    return [
        (profile.value, profile.label, [g in PROFILE_GROUPS[profile] for g in GROUP_LABELS])
        for profile in Profile
    ]
