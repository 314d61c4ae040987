"""What the API says of an ADS and of an authority, as plain dicts (fast enough for a
national mirror: 60,000 ADS in a few seconds of CPU), and the serializers that document
the same shapes in the OpenAPI schema. The profile of the key decides which fields are
present (``profiles``, the one definition); the schema marks those fields optional.

Nothing here depends on today's date: a mirror built from the list and kept up to date
by the change feed stays equal to the register (the renewal due date is given, whether
it has passed is for the re-user to see; the verification says it, computed today).
"""

from django.db.models import Prefetch
from rest_framework import serializers

from mesads.ads.models import ADS, Driver

from . import profiles
from .keys import Caller

# Only the columns ads_data() reads: a page of 1,000 ADS builds a third of the objects.
ADS_COLUMNS = [
    "number",
    "authority",
    "commune__insee_code",
    "authority__type",
    "authority__departement__code",
    "authority__commune__insee_code",
    "authority__prefecture__chef_lieu_code",
    "creation_date",
    "attribution_date",
    "last_renewal_date",
    "in_use",
    "holder_name",
    "holder_siret",
    "holder_phone",
    "holder_email",
    "vehicle_plate",
    "plate_search",
    "vehicle_pmr",
    "vehicle_low_emission",
    "cpam_agreement",
    "is_complete",
    "attested_at",
    "certified_at",
    "substantive_change_at",
    "updated_at",
]


def api_queryset():
    """The ADS with everything their representation reads, in two queries a page (the
    ADS with their authority and communes, then their drivers), in no particular order
    (the model's default one would join the authorities' names)."""
    return (
        ADS.objects.select_related(
            "authority__commune", "authority__departement", "authority__prefecture", "commune"
        )
        .only(*ADS_COLUMNS)
        .order_by()
        .prefetch_related(
            Prefetch(
                "drivers",
                queryset=Driver.objects.order_by("pk").only("ads", "status", "name", "card_number"),
                to_attr="api_drivers",
            )
        )
    )


def insee_code(ads: ADS) -> str | None:
    """The INSEE code of the commune the ADS is attached to: its own commune (an EPCI's
    ADS), its authority's commune, or for a prefecture (Paris) the chef-lieu of its
    département."""
    if ads.commune_id:
        return ads.commune.insee_code
    authority = ads.authority
    if authority.commune_id:
        return authority.commune.insee_code
    if authority.prefecture_id:
        return authority.prefecture.chef_lieu_code or None
    return None


def _date(value):
    return value.isoformat() if value else None


def _moment(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def ads_data(ads: ADS, caller: Caller) -> dict:
    authority = ads.authority
    regime = {True: "nouvelle", False: "ancienne"}.get(ads.is_new_regime)
    certified = ads.certified_at is not None and (
        ads.substantive_change_at is None or ads.substantive_change_at <= ads.certified_at
    )
    data = {
        "id": ads.pk,
        "numero": ads.number,
        "insee": insee_code(ads),
        "departement": authority.departement.code if authority.departement_id else None,
        "gestionnaire": {"id": authority.pk, "type": authority.type},
        "regime": regime,
        "date_creation": _date(ads.creation_date),
        "date_attribution": _date(ads.attribution_date),
        "date_dernier_renouvellement": _date(ads.last_renewal_date),
        "echeance_renouvellement": _date(ads.renewal_due_date),
        "exploitee": ads.in_use,
        "vehicule": {
            "immatriculation": ads.vehicle_plate or None,
            "pmr": ads.vehicle_pmr,
            "faibles_emissions": ads.vehicle_low_emission,
        },
        "conventionnee_cpam": ads.cpam_agreement,
        "complete": ads.is_complete,
        "attestee_le": _moment(ads.attested_at),
        "certifiee": certified,
        "certifiee_le": _moment(ads.certified_at),
        "modifiee_le": _moment(ads.updated_at),
        "titulaire": {
            "nom": ads.holder_name or None,
            "siret": ads.holder_siret or None,
            "telephone": ads.holder_phone or None,
            "email": ads.holder_email or None,
        },
    }
    fields = profiles.ads_fields(caller.profile)
    if profiles.DRIVERS_FIELD in fields:  # not read for a profile that never receives them
        drivers = getattr(ads, "api_drivers", None)
        if drivers is None:
            drivers = list(ads.drivers.order_by("pk"))
        data["conducteurs"] = [
            {"statut": d.status, "nom": d.name, "carte_pro": d.card_number or None} for d in drivers
        ]
    # Built whole, sent restricted: a field missing from the definition is never sent.
    return profiles.restrict(data, fields)


# --- the same shapes, for the schema ----------------------------------------------------


class AuthorityRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=["commune", "epci", "prefecture", "airport"])


class VehicleSerializer(serializers.Serializer):
    immatriculation = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="AB-123-CD ou 1234 AB 56. Profils « complet », « le_taxi », « cpam ».",
    )
    pmr = serializers.BooleanField(
        allow_null=True, help_text="Accessible en fauteuil roulant (null : non renseigné)."
    )
    faibles_emissions = serializers.BooleanField(allow_null=True)


class HolderSerializer(serializers.Serializer):
    nom = serializers.CharField(allow_null=True)
    siret = serializers.CharField(allow_null=True)
    telephone = serializers.CharField(
        allow_null=True, required=False, help_text="Profil « complet » seulement."
    )
    email = serializers.CharField(
        allow_null=True, required=False, help_text="Profil « complet » seulement."
    )


class DriverSerializer(serializers.Serializer):
    statut = serializers.ChoiceField(choices=Driver.Status.values)
    nom = serializers.CharField()
    carte_pro = serializers.CharField(allow_null=True)


class ADSSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    numero = serializers.CharField(help_text="Numéro de l’ADS, tel que le gestionnaire l’écrit.")
    insee = serializers.CharField(
        allow_null=True, help_text="Code INSEE de la commune de rattachement de l’ADS."
    )
    departement = serializers.CharField(allow_null=True)
    gestionnaire = AuthorityRefSerializer()
    regime = serializers.ChoiceField(
        choices=["ancienne", "nouvelle"],
        allow_null=True,
        help_text="Nouvelle : créée à partir du 1er octobre 2014 (null : date inconnue).",
    )
    date_creation = serializers.DateField(allow_null=True)
    date_attribution = serializers.DateField(allow_null=True)
    date_dernier_renouvellement = serializers.DateField(allow_null=True)
    echeance_renouvellement = serializers.DateField(
        allow_null=True, help_text="Nouvelle ADS : 5 ans après création ou renouvellement."
    )
    exploitee = serializers.BooleanField()
    vehicule = VehicleSerializer()
    conventionnee_cpam = serializers.BooleanField()
    complete = serializers.BooleanField()
    attestee_le = serializers.DateTimeField(allow_null=True)
    certifiee = serializers.BooleanField(
        help_text="Certifiée par la préfecture, sans modification substantielle depuis."
    )
    certifiee_le = serializers.DateTimeField(allow_null=True)
    modifiee_le = serializers.DateTimeField()
    titulaire = HolderSerializer(
        required=False, help_text="Profils « complet », « le_taxi », « cpam »."
    )
    conducteurs = DriverSerializer(
        many=True, required=False, help_text="Profils « complet » et « le_taxi »."
    )
