"""The change feed (see mesads.api.changes for its guarantee)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from .. import changes, queries
from ..models import Change
from ..representation import ADSSerializer, ads_data
from .base import ERRORS, KeyedView, NumberField

UNKNOWN_CURSOR = "Curseur inconnu : renvoyez tel quel un « curseur » donné par l’API, ou 0."


class ChangesParams(serializers.Serializer):
    depuis = serializers.RegexField(
        changes.CURSOR_PATTERN,
        required=False,
        default=changes.START,
        error_messages={"invalid": UNKNOWN_CURSOR},
        help_text="Le « curseur » de la réponse précédente, ou le « curseur_changements » "
        "de la liste (0 : depuis le début). Un curseur est opaque : à renvoyer tel quel.",
    )
    taille = NumberField(required=False, min_value=1, max_value=1000, default=500)

    def validate_depuis(self, value: str) -> int:
        position = changes.decode_position(value)
        if position is None:
            raise serializers.ValidationError(UNKNOWN_CURSOR)
        return position


ChangesPage = inline_serializer(
    "PageChangements",
    {
        "resultats": inline_serializer(
            "Changement",
            {
                "position": serializers.CharField(
                    help_text="Curseur opaque de ce changement (reprendre après lui)."
                ),
                "ads_id": serializers.IntegerField(),
                "evenement": serializers.ChoiceField(choices=Change.Kind.values),
                "ads": ADSSerializer(
                    allow_null=True,
                    help_text="L’ADS telle qu’elle est maintenant ; null : elle n’est plus au "
                    "registre (ou plus dans le périmètre de la clé) : la retirer de la copie.",
                ),
            },
            many=True,
        ),
        "curseur": serializers.CharField(
            help_text="Opaque : à passer tel quel en « depuis » à l’appel suivant."
        ),
        "suite": serializers.BooleanField(help_text="D’autres changements suivent déjà."),
    },
)


class ChangesView(KeyedView):
    @extend_schema(
        operation_id="lister_changements",
        summary="Suivre les changements du registre",
        description=(
            "Chaque création, modification, suppression et restauration d’ADS (conducteurs "
            "compris), dans l’ordre, à partir d’une position. Chaque entrée porte l’ADS "
            "telle qu’elle est maintenant, ou null si elle n’est plus au registre : appliquer "
            "les entrées dans l’ordre tient une copie exacte. Une position servie ne sera "
            "jamais dépassée par un changement validé plus tard : aucun délai de sécurité à "
            "prévoir."
        ),
        parameters=[ChangesParams],
        responses={200: ChangesPage, **ERRORS},
        tags=["Changements"],
    )
    def get(self, request):
        params = self.params(ChangesParams)
        caller = request.auth
        changes.stamp()
        rows, more = changes.changes_page(caller, params["depuis"], params["taille"])
        # Each ADS once, at its last position in the page, as it is now.
        last = {row.ads_id: row for row in rows}
        found = {ads.pk: ads for ads in queries.live_ads(caller).filter(pk__in=sorted(last))}
        entries = [
            {
                "position": changes.encode_position(row.position),
                "ads_id": row.ads_id,
                "evenement": row.kind,
                "ads": ads_data(found[row.ads_id], caller) if row.ads_id in found else None,
            }
            for row in sorted(last.values(), key=lambda row: row.position)
        ]
        return Response(
            {
                "resultats": entries,
                "curseur": (
                    changes.encode_position(rows[-1].position)
                    if rows
                    else self.request.query_params.get("depuis", changes.START)
                ),
                "suite": more,
            }
        )
