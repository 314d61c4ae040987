"""The authorities (gestionnaires) and where each stands in its declaration."""

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from mesads.authorities.models import Authority

from .. import queries
from .base import DEPARTEMENT_CODE, ERRORS, KeyedView, PageParams, cursor_page


class AuthorityParams(PageParams):
    departement = serializers.RegexField(DEPARTEMENT_CODE, required=False)
    type = serializers.ChoiceField(required=False, choices=Authority.Type.values)
    declaration = serializers.ChoiceField(required=False, choices=Authority.Declaration.values)


AUTHORITY_FIELDS = {
    "id": serializers.IntegerField(),
    "type": serializers.ChoiceField(choices=Authority.Type.values),
    "nom": serializers.CharField(),
    "code": serializers.CharField(
        allow_null=True, help_text="Code INSEE, SIREN, code de département ou code OACI."
    ),
    "departement": serializers.CharField(allow_null=True),
    "declaration": serializers.ChoiceField(
        choices=Authority.Declaration.values,
        help_text="ads : a déclaré des ADS ; aucune : a déclaré n’en avoir aucune ; "
        "delegue : délègue à un EPCI ; jamais : n’a encore rien déclaré.",
    ),
    "delegue_a": serializers.IntegerField(allow_null=True, help_text="L’EPCI gestionnaire."),
    "nombre_ads": serializers.IntegerField(),
    "nombre_ads_attendu": serializers.IntegerField(
        allow_null=True, help_text="Renseigné par la préfecture d’après l’arrêté."
    ),
    "arrete_nombre_ads": serializers.IntegerField(
        allow_null=True, help_text="Nombre d’ADS fixé par le dernier arrêté déposé."
    ),
    "arrete_date": serializers.DateField(allow_null=True),
}

AuthorityPage = inline_serializer(
    "PageGestionnaires",
    {
        "resultats": inline_serializer("Gestionnaire", AUTHORITY_FIELDS, many=True),
        "curseur_suivant": serializers.IntegerField(allow_null=True),
        "suivant": serializers.CharField(allow_null=True),
    },
)


class AuthorityListView(KeyedView):
    @extend_schema(
        operation_id="lister_gestionnaires",
        summary="Lister les gestionnaires d’ADS",
        description="Communes, EPCI, préfectures et aéroports dans le périmètre de la clé, "
        "avec l’état de leur déclaration au registre.",
        parameters=[AuthorityParams],
        responses={200: AuthorityPage, **ERRORS},
        tags=["Gestionnaires"],
    )
    def get(self, request):
        params = self.params(AuthorityParams)
        caller = request.auth
        queryset = queries.authorities(caller)
        if code := params.get("departement"):
            departement = queries.scoped_departement(caller, code)
            if departement is None:
                raise Http404
            queryset = queryset.filter(departement_id=departement.pk)
        if kind := params.get("type"):
            queryset = queryset.filter(type=kind)
        if state := params.get("declaration"):
            queryset = queryset.declared(state)
        rows, next_cursor, next_url = cursor_page(request, queryset, params)
        return Response(
            {
                "resultats": [queries.authority_data(a) for a in rows],
                "curseur_suivant": next_cursor,
                "suivant": next_url,
            }
        )
