"""The ADS: verification (le.taxi), list with filters and cursor, one ADS."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from .. import changes, profiles, queries
from ..representation import ADSSerializer, ads_data
from .base import (
    DEPARTEMENT_CODE,
    ERRORS,
    INSEE_CODE,
    MAX_ID,
    TEXT,
    KeyedView,
    MomentField,
    NumberField,
    PageParams,
    YesNoField,
    ascii_number,
    cursor_page,
)


class VerificationParams(serializers.Serializer):
    insee = serializers.RegexField(
        INSEE_CODE,
        help_text="Code INSEE de la commune de rattachement de l’ADS (5 caractères, 2A/2B).",
    )
    numero = serializers.RegexField(TEXT, max_length=50, help_text="Numéro de l’ADS.")
    immatriculation = serializers.RegexField(
        TEXT,
        required=False,
        max_length=20,
        help_text="Plaque, dans toute graphie : ab123cd, AB-123-CD.",
    )
    carte_pro = serializers.RegexField(
        TEXT,
        required=False,
        max_length=50,
        help_text="Numéro de carte professionnelle du conducteur.",
    )


VerificationResult = inline_serializer(
    "Verification",
    {
        "trouvee": serializers.BooleanField(help_text="L’ADS existe au registre."),
        "exploitee": serializers.BooleanField(allow_null=True),
        "immatriculation_concorde": serializers.BooleanField(
            allow_null=True,
            required=False,
            help_text="null si aucune immatriculation n’a été envoyée. Profils « complet », "
            "« le_taxi », « cpam ».",
        ),
        "carte_pro_concorde": serializers.BooleanField(
            allow_null=True,
            required=False,
            help_text="null si aucune carte n’a été envoyée. Profils « complet », « le_taxi ».",
        ),
        "regime": serializers.ChoiceField(choices=["ancienne", "nouvelle"], allow_null=True),
        "echeance_renouvellement": serializers.DateField(allow_null=True),
        "renouvellement_en_retard": serializers.BooleanField(allow_null=True),
        "pmr": serializers.BooleanField(allow_null=True),
        "conventionnee_cpam": serializers.BooleanField(allow_null=True),
        "certifiee": serializers.BooleanField(allow_null=True),
        "ads": ADSSerializer(allow_null=True),
    },
)

EXAMPLE_OK = {
    "trouvee": True,
    "exploitee": True,
    "immatriculation_concorde": True,
    "carte_pro_concorde": True,
    "regime": "ancienne",
    "echeance_renouvellement": None,
    "renouvellement_en_retard": False,
    "pmr": False,
    "conventionnee_cpam": True,
    "certifiee": True,
    "ads": {"id": 1234, "numero": "12", "insee": "30189", "departement": "30", "…": "…"},
}
EXAMPLE_NOT_FOUND = {
    "trouvee": False,
    "exploitee": None,
    "immatriculation_concorde": None,
    "carte_pro_concorde": None,
    "regime": None,
    "echeance_renouvellement": None,
    "renouvellement_en_retard": None,
    "pmr": None,
    "conventionnee_cpam": None,
    "certifiee": None,
    "ads": None,
}


class VerificationView(KeyedView):
    @extend_schema(
        operation_id="verifier_ads",
        summary="Vérifier une ADS (le.taxi)",
        description=(
            "L’ADS n° `numero` de la commune `insee` existe-t-elle, est-elle exploitée, "
            "le véhicule et le conducteur sont-ils ceux que le gestionnaire a déclarés ? "
            "Plaque et carte sont comparées sans tenir compte des espaces, tirets ni de la "
            "casse. Une ADS d’un EPCI se trouve par le code INSEE de sa commune de "
            "stationnement ; une ADS de la préfecture de police par le code de Paris (75056)."
        ),
        parameters=[VerificationParams],
        responses={200: VerificationResult, **ERRORS},
        examples=[
            OpenApiExample(
                "Taxi de Nîmes vérifié par le.taxi",
                summary="ADS trouvée, plaque et carte concordantes",
                description="GET /api/v1/ads/verification?insee=30189&numero=12"
                "&immatriculation=ab123cd&carte_pro=CP-30-0001",
                value=EXAMPLE_OK,
                response_only=True,
            ),
            OpenApiExample(
                "ADS inconnue",
                value=EXAMPLE_NOT_FOUND,
                response_only=True,
            ),
        ],
        tags=["ADS"],
    )
    def get(self, request):
        params = self.params(VerificationParams)
        caller = request.auth
        # A comparison is an answer about the compared data: only for a profile that
        # receives it (an anonymous key does not learn whether a plate is a taxi's).
        allowed = {param for _, param in profiles.comparisons(caller.profile)}
        refused = {
            param: ["Le profil de cette clé ne reçoit pas cette donnée : pas de comparaison."]
            for _, param, _ in profiles.COMPARISONS
            if param in params and param not in allowed
        }
        if refused:
            raise serializers.ValidationError(refused)
        fields = profiles.verification_fields(caller.profile)
        ads, reachable = queries.find_for_verification(caller, params["insee"], params["numero"])
        if not reachable:
            raise Http404
        if ads is None:
            return Response({k: v for k, v in EXAMPLE_NOT_FOUND.items() if k in fields})
        plate, card = params.get("immatriculation"), params.get("carte_pro")
        due = ads.renewal_due_date
        data = ads_data(ads, caller)
        answer = {
            "trouvee": True,
            "exploitee": ads.in_use,
            "immatriculation_concorde": None
            if plate is None
            else queries.plate_matches(ads, plate),
            "carte_pro_concorde": None if card is None else queries.card_matches(ads, card),
            "regime": {True: "nouvelle", False: "ancienne"}.get(ads.is_new_regime),
            "echeance_renouvellement": due.isoformat() if due else None,
            "renouvellement_en_retard": ads.is_renewal_overdue(),
            "pmr": ads.vehicle_pmr,
            "conventionnee_cpam": ads.cpam_agreement,
            "certifiee": data["certifiee"],
            "ads": data,
        }
        return Response({name: value for name, value in answer.items() if name in fields})


class ListParams(PageParams):
    departement = serializers.RegexField(DEPARTEMENT_CODE, required=False)
    insee = serializers.RegexField(INSEE_CODE, required=False)
    gestionnaire = NumberField(required=False, min_value=1, max_value=MAX_ID)
    exploitee = YesNoField()
    conventionnee_cpam = YesNoField(help_text="Taxi conventionné par l’Assurance maladie.")
    pmr = YesNoField(help_text="Véhicule accessible en fauteuil roulant.")
    modifiee_depuis = MomentField(
        required=False, help_text="ADS modifiées depuis cette date (ISO 8601)."
    )


ADSPage = inline_serializer(
    "PageADS",
    {
        "resultats": ADSSerializer(many=True),
        "curseur_suivant": serializers.IntegerField(
            allow_null=True, help_text="À passer en « curseur » pour la page suivante."
        ),
        "suivant": serializers.CharField(
            allow_null=True, help_text="L’adresse de la page suivante."
        ),
        "curseur_changements": serializers.CharField(
            help_text="Curseur (opaque) du flux /changements/ au début de cette page : pour "
            "une copie, garder celui de la première page et suivre le flux à partir de lui."
        ),
    },
)


class ADSListView(KeyedView):
    @extend_schema(
        operation_id="lister_ads",
        summary="Lister les ADS",
        description="Les ADS du registre (non supprimées) dans le périmètre de la clé, par "
        "identifiant croissant, page par page (curseur). Un département hors du périmètre "
        "répond 404.",
        parameters=[ListParams],
        responses={200: ADSPage, **ERRORS},
        tags=["ADS"],
    )
    def get(self, request):
        params = self.params(ListParams)
        caller = request.auth
        changes.stamp()
        position = changes.encode_position(changes.head())
        queryset = queries.live_ads(caller)
        if code := params.get("departement"):
            departement = queries.scoped_departement(caller, code)
            if departement is None:
                raise Http404
            queryset = queryset.filter(authority__departement_id=departement.pk)
        if insee := params.get("insee"):
            queryset = queryset.filter(queries.insee_q(insee.upper()))
        if authority := params.get("gestionnaire"):
            queryset = queryset.filter(authority_id=authority)
        for name, field in (
            ("exploitee", "in_use"),
            ("conventionnee_cpam", "cpam_agreement"),
            ("pmr", "vehicle_pmr"),
        ):
            if params.get(name) is not None:
                queryset = queryset.filter(**{field: params[name]})
        if since := params.get("modifiee_depuis"):
            queryset = queryset.filter(updated_at__gte=since)
        rows, next_cursor, next_url = cursor_page(request, queryset, params)
        return Response(
            {
                "resultats": [ads_data(ads, caller) for ads in rows],
                "curseur_suivant": next_cursor,
                "suivant": next_url,
                "curseur_changements": position,
            }
        )


class ADSDetailView(KeyedView):
    @extend_schema(
        operation_id="lire_ads",
        summary="Lire une ADS",
        parameters=[OpenApiParameter("ads_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: ADSSerializer, **ERRORS},
        tags=["ADS"],
    )
    def get(self, request, ads_id: str):
        pk = ascii_number(ads_id)
        if pk is None or pk > MAX_ID:
            raise Http404
        ads = queries.live_ads(request.auth).filter(pk=pk).first()
        if ads is None:
            raise Http404
        return Response(ads_data(ads, request.auth))
