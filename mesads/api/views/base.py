from django.db import transaction
from rest_framework import serializers
from rest_framework.views import APIView

from ..errors import ErrorSerializer

ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    429: ErrorSerializer,
}


class KeyedView(APIView):
    """A read-only API view behind a key (``mesads.api.keys``).

    Not in the request's transaction (ATOMIC_REQUESTS): the change feed numbers changes in
    transactions of its own (``changes.stamp``), and a call counter written now and then
    must not hold a lock until the response is sent.
    """

    http_method_names = ["get", "head", "options"]

    @classmethod
    def as_view(cls, **initkwargs):
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def params(self, serializer_class: type[serializers.Serializer]) -> dict:
        """The query's parameters, validated. An unknown one (a typo: ``departemnt``) or
        an empty one is refused rather than ignored: the re-user would otherwise get the
        whole list and believe it filtered."""
        serializer = serializer_class(data=self.request.query_params)
        errors = {}
        for name, values in self.request.query_params.lists():
            if name not in serializer.fields:
                errors[name] = ["Paramètre inconnu."]
            elif any(value == "" for value in values):
                errors[name] = ["Ce paramètre ne peut pas être vide."]
        if errors:
            raise serializers.ValidationError(errors)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# Ids and positions are 64-bit integers in the database: a larger value is refused here
# rather than by the database.
MAX_ID = 2**62


class YesNoField(serializers.ChoiceField):
    """``true`` or ``false`` (absent: no filter). DRF's BooleanField reads an absent query
    parameter as false."""

    def __init__(self, **kwargs):
        super().__init__(choices=["true", "false"], required=False, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).lower()) == "true"


class MomentField(serializers.DateTimeField):
    """A date and time; one too far in the past or future to convert is refused (400)."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except (OverflowError, ValueError):
            self.fail("invalid", format="ISO 8601")


class PageParams(serializers.Serializer):
    curseur = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="Le « curseur_suivant » de la page précédente.",
    )
    taille = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, default=100, help_text="1 à 1 000."
    )
