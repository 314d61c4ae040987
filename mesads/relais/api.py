"""The relay taxis in the re-use API (``/api/v1/relais/…``).

Declared here, not in ``mesads.api``, so that the API app never imports a feature: these
views reuse the API's machinery (``KeyedView``: the key authentication, the per-key rate
limit, the French JSON errors, the strict parameters; ``queries.scoped_departement``; the
profiles' groups), which is the API's published base for endpoints. The key's scope
holds as for the ADS: a vehicle of a département the key does not reach is a 404.

The register of relay taxis is public (number, plate, model, the owner's company and
contact): every profile reads it. Which ADS a vehicle currently replaces links an ADS to
a vehicle plate: only for profiles that receive the ADS's plates (``vehicle_plate``).
"""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from mesads.ads.validators import normalize_plate
from mesads.api import changes as api_changes
from mesads.api import profiles, queries
from mesads.api.views.base import (
    DEPARTEMENT_CODE,
    ERRORS,
    TEXT,
    KeyedView,
    MomentField,
    PageParams,
    cursor_page,
)
from mesads.api.views.changes import ChangesParams

from . import changes as relay_changes
from .models import Use, Vehicle, VehicleChange

# Plain strings in the schema, their values listed: an enum named « statut » would collide
# with the ADS's in the generated component names.
STATUS_HELP = "« actif » (inscrit) ou « suspendu » (par la préfecture)."
ENGINE_HELP = "Une de : " + ", ".join(Vehicle.Engine.values) + "."


def can_see_uses(caller) -> bool:
    return "vehicle_plate" in profiles.PROFILE_GROUPS[caller.profile]


REPLACED_ADS_FIELDS = {
    "id": serializers.IntegerField(),
    "numero": serializers.CharField(),
    "insee": serializers.CharField(allow_null=True),
    "du": serializers.DateField(),
    "au": serializers.DateField(),
    "motif": serializers.CharField(),
}

RELAY_VEHICLE_FIELDS = {
    "numero": serializers.CharField(help_text="Numéro DD-NN, unique et définitif."),
    "departement": serializers.CharField(),
    "immatriculation": serializers.CharField(),
    "statut": serializers.CharField(help_text=STATUS_HELP),
    "marque": serializers.CharField(),
    "modele": serializers.CharField(),
    "motorisation": serializers.CharField(help_text=ENGINE_HELP),
    "places": serializers.IntegerField(),
    "fauteuil_roulant": serializers.BooleanField(),
    "commune": serializers.CharField(help_text="Code INSEE de la commune où il est garé."),
    "proprietaire": inline_serializer(
        "ProprietaireTaxiRelais",
        {
            "nom": serializers.CharField(),
            "telephone": serializers.CharField(),
            "email": serializers.CharField(),
        },
    ),
    "modifie_le": serializers.DateTimeField(),
}


def vehicle_data(vehicle: Vehicle) -> dict:
    return {
        "numero": vehicle.number,
        "departement": vehicle.departement.code,
        "immatriculation": vehicle.plate,
        "statut": vehicle.status,
        "marque": vehicle.make,
        "modele": vehicle.model,
        "motorisation": vehicle.engine,
        "places": vehicle.seats,
        "fauteuil_roulant": vehicle.wheelchair_accessible,
        "commune": vehicle.commune.insee_code,
        "proprietaire": {
            "nom": vehicle.owner.name,
            "telephone": vehicle.owner.phone,
            "email": vehicle.owner.email,
        },
        "modifie_le": vehicle.updated_at.isoformat(),
    }


def use_data(use: Use) -> dict:
    ads = use.ads
    commune = ads.commune or ads.authority.commune
    return {
        "id": ads.pk,
        "numero": ads.number,
        "insee": commune.insee_code if commune else None,
        "du": use.start.isoformat(),
        "au": use.end.isoformat(),
        "motif": use.reason,
    }


class VerificationParams(serializers.Serializer):
    immatriculation = serializers.RegexField(
        TEXT, max_length=20, help_text="Plaque, dans toute graphie : ab123cd, AB-123-CD."
    )


VerificationResult = inline_serializer(
    "VerificationTaxiRelais",
    {
        "inscrit": serializers.BooleanField(help_text="Un taxi relais inscrit porte cette plaque."),
        "numero": serializers.CharField(required=False),
        "departement": serializers.CharField(required=False),
        "statut": serializers.CharField(required=False, help_text=STATUS_HELP),
        "ads_remplacee": inline_serializer(
            "ADSRemplacee",
            REPLACED_ADS_FIELDS,
            allow_null=True,
            required=False,
            help_text="L’ADS qu’il remplace aujourd’hui. Profils « complet », « le_taxi », "
            "« cpam ».",
        ),
    },
)


class RelaisVerificationView(KeyedView):
    @extend_schema(
        operation_id="verifier_taxi_relais",
        summary="Vérifier qu’une plaque est un taxi relais inscrit",
        description="Le véhicule de cette immatriculation est-il inscrit au registre des "
        "taxis relais (inscrit ou suspendu), sous quel numéro, dans quel département, et "
        "quelle ADS remplace-t-il aujourd’hui ? Un véhicule d’un département hors du "
        "périmètre de la clé répond 404.",
        parameters=[VerificationParams],
        responses={200: VerificationResult, **ERRORS},
        examples=[
            OpenApiExample(
                "Taxi relais du Gard",
                value={
                    "inscrit": True,
                    "numero": "30-12",
                    "departement": "30",
                    "statut": "actif",
                    "ads_remplacee": None,
                },
                response_only=True,
            )
        ],
        tags=["Taxis relais"],
    )
    def get(self, request):
        params = self.params(VerificationParams)
        caller = request.auth
        vehicle = (
            Vehicle.objects.live()
            .filter(plate=normalize_plate(params["immatriculation"]))
            .select_related("departement")
            .first()
        )
        if vehicle is None:
            return Response({"inscrit": False})
        if not caller.is_national and vehicle.departement_id not in caller.departement_ids:
            raise Http404
        answer = {
            "inscrit": True,
            "numero": vehicle.number,
            "departement": vehicle.departement.code,
            "statut": vehicle.status,
        }
        if can_see_uses(caller):
            today = timezone.localdate()
            use = (
                vehicle.uses.filter(start__lte=today, end__gte=today)
                .select_related("ads__commune", "ads__authority__commune")
                .first()
            )
            answer["ads_remplacee"] = use_data(use) if use else None
        return Response(answer)


class ListParams(PageParams):
    departement = serializers.RegexField(DEPARTEMENT_CODE, required=False)
    modifie_depuis = MomentField(
        required=False, help_text="Taxis relais modifiés depuis cette date (ISO 8601)."
    )


RelayPage = inline_serializer(
    "PageTaxisRelais",
    {
        "resultats": inline_serializer("TaxiRelais", RELAY_VEHICLE_FIELDS, many=True),
        "curseur_suivant": serializers.IntegerField(allow_null=True),
        "suivant": serializers.CharField(allow_null=True),
    },
)


class RelaisListView(KeyedView):
    @extend_schema(
        operation_id="lister_taxis_relais",
        summary="Lister les taxis relais",
        description="Les taxis relais inscrits ou suspendus dans le périmètre de la clé, par "
        "ordre d’inscription, page par page (curseur). Avec « modifie_depuis », ceux qui ont "
        "changé depuis (un véhicule retiré ou radié n’est plus listé : comparer avec la copie "
        "précédente).",
        parameters=[ListParams],
        responses={200: RelayPage, **ERRORS},
        tags=["Taxis relais"],
    )
    def get(self, request):
        params = self.params(ListParams)
        caller = request.auth
        queryset = Vehicle.objects.live().select_related("departement", "commune", "owner")
        if not caller.is_national:
            queryset = queryset.filter(departement_id__in=sorted(caller.departement_ids))
        if code := params.get("departement"):
            departement = queries.scoped_departement(caller, code)
            if departement is None:
                raise Http404
            queryset = queryset.filter(departement_id=departement.pk)
        if since := params.get("modifie_depuis"):
            queryset = queryset.filter(updated_at__gte=since)
        rows, next_cursor, next_url = cursor_page(request, queryset, params)
        return Response(
            {
                "resultats": [vehicle_data(vehicle) for vehicle in rows],
                "curseur_suivant": next_cursor,
                "suivant": next_url,
            }
        )


RelayChangesPage = inline_serializer(
    "PageChangementsTaxisRelais",
    {
        "resultats": inline_serializer(
            "ChangementTaxiRelais",
            {
                "position": serializers.CharField(help_text="Curseur opaque de ce changement."),
                "numero": serializers.CharField(),
                "evenement": serializers.CharField(
                    help_text="« creation », « modification » ou « retrait » (retrait par le "
                    "propriétaire ou radiation par la préfecture)."
                ),
                "vehicule": inline_serializer(
                    "TaxiRelaisChange",
                    RELAY_VEHICLE_FIELDS,
                    allow_null=True,
                    help_text="Le véhicule tel qu’il est maintenant ; null : il n’est plus au "
                    "registre (ou plus dans le périmètre de la clé) : le retirer de la copie.",
                ),
            },
            many=True,
        ),
        "curseur": serializers.CharField(help_text="À passer tel quel en « depuis »."),
        "suite": serializers.BooleanField(),
    },
)


class RelaisChangesView(KeyedView):
    @extend_schema(
        operation_id="lister_changements_taxis_relais",
        summary="Suivre les changements du registre des taxis relais",
        description="Chaque inscription, modification, suspension, retrait ou radiation d’un "
        "taxi relais, dans l’ordre, à partir d’un curseur opaque (0 : depuis le début). Une "
        "position servie ne sera jamais dépassée par un changement validé plus tard.",
        parameters=[ChangesParams],
        responses={200: RelayChangesPage, **ERRORS},
        tags=["Taxis relais"],
    )
    def get(self, request):
        params = self.params(ChangesParams)
        caller = request.auth
        relay_changes.stamp()
        queryset = VehicleChange.objects.filter(position__gt=params["depuis"]).order_by("position")
        if not caller.is_national:
            queryset = queryset.filter(departement_id__in=sorted(caller.departement_ids))
        size = params["taille"]
        rows = list(queryset.only("vehicle_id", "kind", "position")[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        last = {row.vehicle_id: row for row in rows}
        vehicles = Vehicle.objects.filter(pk__in=sorted(last)).select_related(
            "departement", "commune", "owner"
        )
        found = {vehicle.pk: vehicle for vehicle in vehicles}
        entries = [
            {
                "position": api_changes.encode_position(row.position),
                "numero": found[row.vehicle_id].number,
                "evenement": row.kind,
                "vehicule": vehicle_data(found[row.vehicle_id])
                if found[row.vehicle_id].is_live
                else None,
            }
            for row in sorted(last.values(), key=lambda row: row.position)
            if row.vehicle_id in found
        ]
        return Response(
            {
                "resultats": entries,
                "curseur": api_changes.encode_position(rows[-1].position)
                if rows
                else request.query_params.get("depuis", api_changes.START),
                "suite": more,
            }
        )
